"""Frequentist check of the effect estimator on simulated stays with a known effect.

The same criteria as ``stayactive validate savings``: with no effect, the 95% interval covers
zero in at least 90 of 100 data sets; with a known effect, it covers the true value in at least
90 of 100 and the mean estimate is within 10% of it. The data here are a simple gamma LOS model
(tests/analytics_stays/stays_factories.py), not the simulator's resident model.
"""

from __future__ import annotations

import numpy as np
import pytest

from analytics.stays import estimate_effect
from tests.analytics_stays.stays_factories import synthetic_stays, true_bed_days_avoided

SEEDS = range(100)


@pytest.mark.slow
@pytest.mark.parametrize("design", ["concurrent", "historical"])
@pytest.mark.parametrize("effect_ratio", [1.0, 0.8])
def test_coverage_and_bias(design: str, effect_ratio: float) -> None:
    truth = true_bed_days_avoided(effect_ratio)
    estimates, covered = [], 0
    for seed in SEEDS:
        records = synthetic_stays(1000, effect_ratio=effect_ratio, seed=seed, design=design)
        e = estimate_effect(records, n_resamples=500, seed=seed).bed_days_avoided_per_stay
        estimates.append(e.value)
        covered += e.low <= truth <= e.high
    assert covered >= 90
    if effect_ratio != 1.0:
        assert abs(np.mean(estimates) - truth) < 0.10 * truth
