"""The 30-day readmission definition, risk (Wilson) and risk difference (Newcombe)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from analytics.stays import (
    Estimate,
    InsufficientData,
    ReadmissionRisk,
    readmission_risk,
    readmission_risk_difference,
    readmitted_within_30_days,
    stay_readmission_outcome,
)
from tests.analytics_stays.stays_factories import make_records

OSLO = ZoneInfo("Europe/Oslo")
DISCHARGE = datetime(2026, 12, 1, 10, 0, tzinfo=OSLO)
LATER = datetime(2027, 2, 1, 10, 0, tzinfo=OSLO)


def test_readmission_inside_and_outside_the_window() -> None:
    inside = DISCHARGE + timedelta(days=29)
    assert readmitted_within_30_days(DISCHARGE, "home", [inside], LATER) is True
    assert readmitted_within_30_days(DISCHARGE, "home", [], LATER) is False
    exactly_30 = datetime(2026, 12, 31, 10, 0, tzinfo=OSLO)
    assert readmitted_within_30_days(DISCHARGE, "home", [exactly_30], LATER) is True
    just_after = exactly_30 + timedelta(seconds=1)
    assert readmitted_within_30_days(DISCHARGE, "home", [just_after], LATER) is False
    # the index stay's own admission (before discharge) is not a readmission
    before = DISCHARGE - timedelta(days=10)
    assert readmitted_within_30_days(DISCHARGE, "home", [before], LATER) is False


def test_not_an_index_discharge_or_incomplete_window_is_none() -> None:
    inside = DISCHARGE + timedelta(days=3)
    assert readmitted_within_30_days(DISCHARGE, "long_term_care", [inside], LATER) is None
    # the window is not complete yet: excluded even though a readmission was already seen
    analysis = DISCHARGE + timedelta(days=29)
    assert readmitted_within_30_days(DISCHARGE, "home", [inside], analysis) is None


def test_window_is_elapsed_time_across_dst() -> None:
    discharged = datetime(2026, 10, 10, 12, 0, tzinfo=OSLO)  # CEST
    # 30 days later on the wall clock minus 30 minutes, but the clocks went back an hour
    # on 2026-10-25: elapsed is 30 days and 30 minutes, outside the window
    admitted = datetime(2026, 11, 9, 11, 30, tzinfo=OSLO)
    assert readmitted_within_30_days(discharged, "home", [admitted], LATER) is False


def test_optional_eight_hour_floor_of_the_national_indicator() -> None:
    two_hours = DISCHARGE + timedelta(hours=2)
    assert readmitted_within_30_days(DISCHARGE, "home", [two_hours], LATER) is True
    assert readmitted_within_30_days(DISCHARGE, "home", [two_hours], LATER, min_gap_h=8) is False
    with pytest.raises(ValueError, match="min_gap_h"):
        readmitted_within_30_days(DISCHARGE, "home", [], LATER, min_gap_h=-1)


def test_instants_must_be_aware_and_in_order() -> None:
    with pytest.raises(ValueError, match="analysis_at must be timezone-aware"):
        readmitted_within_30_days(DISCHARGE, "home", [], datetime(2027, 2, 1))
    with pytest.raises(ValueError, match="admissions_at must be timezone-aware"):
        readmitted_within_30_days(DISCHARGE, "home", [datetime(2026, 12, 5)], LATER)
    with pytest.raises(ValueError, match=r"analysis_at .* is before discharged_at"):
        readmitted_within_30_days(DISCHARGE, "home", [], DISCHARGE - timedelta(days=1))


def test_per_stay_outcome() -> None:
    r = make_records(
        [5, 6, 7, 8, 9],
        discharged=[True, True, True, True, False],
        destination=["home", "home", "home", "long_term_care", None],
        readmitted=[True, False, None, None, None],
    )
    known, readmitted = stay_readmission_outcome(r)
    assert known.tolist() == [True, True, False, True, False]
    assert readmitted.tolist() == [True, False, False, False, False]


def wilson_by_formula(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_readmission_risk_counts_and_wilson_interval() -> None:
    n_home = 263
    readm = [True] * 81 + [False] * (n_home - 81) + [None] * 7  # 7 windows not complete
    r = make_records([10.0] * (n_home + 7), readmitted=readm)
    risk = readmission_risk(r)
    assert (risk.n_index_discharges, risk.n_readmitted, risk.n_window_incomplete) == (263, 81, 7)
    assert risk.risk.value == pytest.approx(81 / 263)
    low, high = wilson_by_formula(81, 263)
    assert (risk.risk.low, risk.risk.high) == pytest.approx((low, high), abs=1e-9)
    assert (risk.risk.low, risk.risk.high) == pytest.approx((0.2553, 0.3662), abs=1e-4)


def test_readmission_risk_needs_complete_windows() -> None:
    r = make_records([10.0, 12.0], readmitted=[None, None])
    with pytest.raises(InsufficientData, match="complete 30-day window"):
        readmission_risk(r)


def _risk(k: int, n: int) -> ReadmissionRisk:
    low, high = wilson_by_formula(k, n)
    return ReadmissionRisk(n, k, 0, Estimate(k / n, low, high, 0.95, "per discharge"))


def test_newcombe_hybrid_score_interval_known_answer() -> None:
    # Newcombe (1998), example 56/70 - 48/80: method 10 gives 0.0524 to 0.3339
    diff = readmission_risk_difference(_risk(56, 70), _risk(48, 80))
    assert diff.value == pytest.approx(0.2)
    assert (diff.low, diff.high) == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_risk_difference_needs_same_level() -> None:
    other = ReadmissionRisk(10, 1, 0, Estimate(0.1, 0.0, 0.4, 0.9, ""))
    with pytest.raises(ValueError, match="confidence_level"):
        readmission_risk_difference(_risk(1, 10), other)


def test_risk_difference_stays_inside_bounds_for_extremes() -> None:
    diff = readmission_risk_difference(_risk(0, 5), _risk(5, 5))
    assert diff.value == -1.0
    assert -1.0 <= diff.low <= diff.high <= 1.0 + 1e-12
    assert np.isfinite([diff.low, diff.high]).all()
