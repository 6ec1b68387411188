"""Probabilistic sensitivity analysis: parameter draws to pair with the effect's replicates.

Every parameter with a range (``low`` < ``high``) is drawn from a Beta-PERT distribution on
[low, high] with its base value as the mode (shape 4: mean (low + 4 mode + high) / 6), the
usual choice when an expert gives a minimum, a most likely value and a maximum (Vose 2008);
parameters without a range stay at their base value. Draw r is paired with bootstrap replicate
r of the effect, so each money figure's distribution carries both the sampling uncertainty of
the effect and the uncertainty of the parameters (Briggs, Claxton & Sculpher 2006), and
P(net value < 0) is the share of pairs with a negative net value.

References
----------
.. [1] Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation.
   Oxford: Oxford University Press, 2006. ISBN 978-0-19-852662-9.
.. [2] Vose D. Risk Analysis: A Quantitative Guide. 3rd ed. Chichester: Wiley, 2008.
   ISBN 978-0-470-51284-5.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from analytics.stays._common import FloatArray
from analytics.stays.parameters import ParameterSet

#: Shape of the Beta-PERT distribution (weight of the mode).
PERT_SHAPE: Final = 4.0
_WHOLE: Final = frozenset({"device_count", "beds_closed_count", "price_year"})


def pert(rng: np.random.Generator, low: float, mode: float, high: float, size: int) -> FloatArray:
    """Beta-PERT draws on [low, high] with the given mode."""
    if not low <= mode <= high:
        raise ValueError(f"PERT needs low <= mode <= high, got {low}, {mode}, {high}")
    if high == low:
        return np.full(size, float(mode))
    a = 1.0 + PERT_SHAPE * (mode - low) / (high - low)
    b = 1.0 + PERT_SHAPE * (high - mode) / (high - low)
    draws: FloatArray = low + (high - low) * rng.beta(a, b, size)
    return draws


def parameter_draws(parameters: ParameterSet, size: int, *, seed: int) -> dict[str, FloatArray]:
    """One draw per replicate of every parameter that has a range (the others are left out:
    they stay at their base value)."""
    rng = np.random.default_rng(seed)
    out: dict[str, FloatArray] = {}
    for p in parameters.parameters():
        if p.low is None or p.high is None or p.low == p.high:
            continue
        draws = pert(rng, p.low, p.value, p.high, size)
        out[p.name] = np.round(draws) if p.name in _WHOLE else draws
    return out
