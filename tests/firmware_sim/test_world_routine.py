"""Daily routine: DST days, tiling of the day, bout durations, activity vs mobility."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from firmware_sim.world import DayPlan, Stay, excursion_truth, plan_day
from tests.firmware_sim.world_helpers import OSLO, make_stay


def check_tiling(plan: DayPlan) -> None:
    parked = plan.parked_periods()
    pieces = sorted([(a, b) for a, b in parked] + [(e.start_s, e.end_s) for e in plan.excursions])
    assert pieces[0][0] == plan.day_start_s
    assert pieces[-1][1] == plan.day_end_s
    for (_, b), (c, _) in itertools.pairwise(pieces):
        assert b == c
    for e in plan.excursions:
        assert plan.present_from_s <= e.start_s < e.end_s <= plan.present_to_s
        segs = e.segments
        assert segs[0].start_s == e.start_s and segs[-1].end_s == pytest.approx(e.end_s)
        for s1, s2 in itertools.pairwise(segs):
            assert s1.end_s == pytest.approx(s2.start_s)


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 1), 24)]
)
def test_dst_days_have_the_right_length(day: date, hours: int) -> None:
    stay = make_stay(0.5, day - timedelta(days=3))
    plan = plan_day(stay, day, seed=4)
    assert plan is not None
    assert plan.day_end_s - plan.day_start_s == hours * 3600
    check_tiling(plan)
    parked = sum(b - a for a, b in plan.parked_periods())
    awake = sum(e.end_s - e.start_s for e in plan.excursions)
    assert parked + awake == pytest.approx(hours * 3600)
    # Meals are at local wall-clock times whatever the offset that day.
    breakfast = next(a for a in plan.activities if a.label == "breakfast")
    local = datetime.fromtimestamp(breakfast.start_s, OSLO)
    assert local.date() == day and 7.5 <= local.hour + local.minute / 60 <= 9.0


def test_many_days_tile_and_are_deterministic() -> None:
    stay = make_stay(0.45, date(2026, 3, 1))
    for k in range(1, 40):
        day = date(2026, 3, 1) + timedelta(days=k)
        plan = plan_day(stay, day, seed=1)
        assert plan is not None
        check_tiling(plan)
        again = plan_day(stay, day, seed=1)
        assert again is not None and again.excursions == plan.excursions


def test_admission_day_starts_at_admission() -> None:
    stay = make_stay(0.45, date(2026, 5, 1))
    admitted = datetime(2026, 5, 1, 15, 30, tzinfo=OSLO).astimezone(UTC)
    stay = Stay(**{**stay.__dict__, "admitted_at": admitted})
    plan = plan_day(stay, date(2026, 5, 1), seed=2)
    assert plan is not None
    assert all(e.start_s >= admitted.timestamp() for e in plan.excursions)
    assert plan_day(stay, date(2026, 4, 30), seed=2) is None


def test_bout_duration_median_is_about_thirty_seconds() -> None:
    stay = make_stay(0.5, date(2026, 2, 1))
    durations = []
    for k in range(1, 30):
        plan = plan_day(stay, date(2026, 2, 1) + timedelta(days=k), seed=3)
        assert plan is not None
        for exc in plan.excursions:
            truth = excursion_truth(exc, stay.resident)
            durations += [b.end_s - b.start_s for b in truth.bouts]
    d = np.array(durations)
    assert len(d) > 500
    assert 25.0 <= np.median(d) <= 40.0
    assert np.quantile(d, 0.95) > 2.5 * np.median(d)  # long tail


def test_walking_and_bouts_rise_with_mobility() -> None:
    def totals(speed: float) -> tuple[float, float]:
        stay = make_stay(speed, date(2026, 2, 1))
        plans = [plan_day(stay, date(2026, 2, 1) + timedelta(days=k), seed=8) for k in range(1, 30)]
        walk = np.mean([p.walking_s for p in plans if p is not None])
        bouts = np.mean([sum(len(e.walks) for e in p.excursions) for p in plans if p is not None])
        return float(walk), float(bouts)

    slow, fast = totals(0.25), totals(0.75)
    assert fast[0] > 2.0 * slow[0]
    assert fast[1] > 1.5 * slow[1]
