"""Stay-level model: determinism, pairing of the arms, effect direction, censoring."""

from __future__ import annotations

import re
import time
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from firmware_sim.world import Stay, expected_effect, simulate_stays

START = datetime(2026, 1, 1, tzinfo=UTC)


def _outcome(stay: Stay) -> tuple[object, ...]:
    """Everything of a stay except the arm it was in."""
    values = [getattr(stay, f.name) for f in fields(stay) if f.name not in ("intervention",)]
    values[-1] = tuple(np.asarray(values[-1]).tolist())  # the trajectory, comparable
    return tuple(values)


def test_same_seed_same_stays() -> None:
    a = simulate_stays(300, START, 180, 0.3, 0.5, seed=11)
    b = simulate_stays(300, START, 180, 0.3, 0.5, seed=11)
    assert [_outcome(s) for s in a] == [_outcome(s) for s in b]
    assert [s.intervention for s in a] == [s.intervention for s in b]


def test_different_seed_different_stays() -> None:
    a = simulate_stays(50, START, 90, 0.0, True, seed=1)
    b = simulate_stays(50, START, 90, 0.0, True, seed=2)
    assert [s.resident.pseudonym for s in a] != [s.resident.pseudonym for s in b]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_effect_zero_is_exactly_no_effect(seed: int) -> None:
    treated = simulate_stays(500, START, 120, 0.0, True, seed=seed)
    control = simulate_stays(500, START, 120, 0.0, False, seed=seed)
    mixed = simulate_stays(500, START, 120, 0.0, 0.5, seed=seed)
    assert all(s.intervention for s in treated)
    assert not any(s.intervention for s in control)
    assert 0 < sum(s.intervention for s in mixed) < 500
    assert [_outcome(s) for s in treated] == [_outcome(s) for s in control]
    assert [_outcome(s) for s in mixed] == [_outcome(s) for s in control]


def test_effect_shortens_mean_los_in_paired_stays() -> None:
    treated = simulate_stays(3000, START, 3650, 0.5, True, seed=5)
    control = simulate_stays(3000, START, 3650, 0.5, False, seed=5)
    # Same residents, same draws: only the recovery rate differs.
    assert [s.resident for s in treated] == [s.resident for s in control]
    los_t = np.array([s.los_days for s in treated if s.los_days is not None])
    los_c = np.array([s.los_days for s in control if s.los_days is not None])
    assert los_t.mean() < los_c.mean() - 0.3


def test_expected_effect_zero_and_positive() -> None:
    zero = expected_effect(0.0, n_pairs=20_000)
    assert zero.los_difference_days == 0.0
    assert zero.readmit_difference == 0.0
    assert zero.mean_los_control_days == zero.mean_los_treated_days
    half = expected_effect(0.5, n_pairs=20_000)
    assert half.los_difference_days < -5 * half.los_difference_se_days
    assert half.p_home_treated > half.p_home_control
    bigger = expected_effect(1.0, n_pairs=20_000)
    assert bigger.los_difference_days < half.los_difference_days


def test_stay_records_are_plausible_and_censored_at_period_end() -> None:
    days = 60
    stays = simulate_stays(400, START, days, 0.0, 0.5, seed=3)
    end = START + timedelta(days=days)
    pseudonyms = [s.resident.pseudonym for s in stays]
    assert len(set(pseudonyms)) == len(pseudonyms)
    assert all(re.fullmatch(r"R-[0-9a-f]{8}", p) for p in pseudonyms)
    assert any(s.censored for s in stays) and any(not s.censored for s in stays)
    for s in stays:
        assert START <= s.admitted_at < end
        assert s.admitted_at.tzinfo is not None
        age = s.admitted_at.year - s.resident.birth_year
        assert 66 <= age <= 101
        assert s.stay_type in (18, 19, 20)
        # Admission speed is drawn in 0.2-0.8 m/s; the day's value adds day-to-day noise.
        assert 0.05 <= s.daily_gait_speed_mps[0] <= 0.95
        if s.discharged_at is None:
            assert s.destination is None and s.readmitted_within_30d is None
        else:
            assert s.admitted_at < s.discharged_at <= end
            assert s.destination in ("home", "long_term_care", "hospital", "death")
            tz = ZoneInfo(s.tz_name)
            n_days = (
                s.discharged_at.astimezone(tz).date() - s.admitted_at.astimezone(tz).date()
            ).days + 1
            assert len(s.daily_gait_speed_mps) == n_days
            if s.destination != "home":
                assert s.readmitted_within_30d is None
            if s.readmitted_within_30d:
                assert s.readmitted_at is not None
                assert s.readmitted_at - s.discharged_at <= timedelta(days=30)


def test_readmission_falls_with_discharge_speed() -> None:
    stays = simulate_stays(20_000, START, 36_500, 0.0, False, seed=9)
    home = [s for s in stays if s.destination == "home"]
    v = np.array([s.daily_gait_speed_mps[-1] for s in home])
    r = np.array([bool(s.readmitted_within_30d) for s in home])
    slow, fast = v < np.quantile(v, 0.2), v > np.quantile(v, 0.8)
    assert r[slow].mean() > r[fast].mean()


def test_simulate_stays_is_fast_enough_for_validation_runs() -> None:
    # No timing assertion (CI machines vary); the duration is printed with -s.
    t0 = time.perf_counter()
    stays = simulate_stays(1000, START, 365, 0.3, 0.5, seed=1)
    print(f"simulate_stays(1000): {time.perf_counter() - t0:.3f} s")
    assert len(stays) == 1000
