"""Robot sessions: group sizes, repetitions, five-times sit-to-stand tests."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np

from firmware_sim.world import (
    RobotCandidate,
    five_times_sts_expected_s,
    local_day_bounds_s,
    plan_robot_sessions,
    rep_duration_expected_s,
)
from tests.firmware_sim.world_helpers import OSLO


def candidates(day: date, n: int, seed: int) -> list[RobotCandidate]:
    rng = np.random.default_rng(seed)
    lo, hi = local_day_bounds_s(day, OSLO)
    return [
        RobotCandidate(f"R-{k:08x}", float(rng.uniform(0.2, 0.8)), 85.0, lo, hi) for k in range(n)
    ]


def test_sessions_are_plausible_over_many_days() -> None:
    tests = []
    groups = 0
    for k in range(60):
        day = date(2026, 1, 5) + timedelta(days=k)
        sessions = plan_robot_sessions(
            "robot-ward-a", "ward-a", day, candidates(day, 12, k), seed=2
        )
        again = plan_robot_sessions("robot-ward-a", "ward-a", day, candidates(day, 12, k), seed=2)
        assert sessions == again
        for s in sessions:
            assert s.start_s < s.end_s
            if s.kind == "group":
                groups += 1
                assert day.weekday() < 5
                assert 3 <= len(s.participants) <= 8
                assert 20 * 60 <= s.end_s - s.start_s <= 60 * 60
            else:
                assert len(s.participants) == 1
            for block in s.blocks:
                assert block.pseudonym in s.participants
                assert s.start_s <= block.start_s <= block.end_s <= s.end_s
                for r1, r2 in itertools.pairwise(block.repetitions):
                    assert r1.end_s <= r2.start_s  # one repetition at a time
            tests += list(s.sts_tests)
        for s1, s2 in itertools.pairwise(sessions):
            assert s1.end_s <= s2.start_s  # one robot, one session at a time
    assert groups > 30
    done = [t for t in tests if t.completed]
    assert len(done) > 5
    for t in done:
        assert t.duration_s is not None and 9.0 <= t.duration_s <= 45.0
        assert len(t.repetitions) == 5
        assert t.repetitions[-1].end_s - t.start_s == t.duration_s
        assert len(t.stand_times_s) == 5 and list(t.stand_times_s) == sorted(t.stand_times_s)
        assert t.stand_times_s[-1] - t.start_s == t.duration_s


def test_frailer_residents_are_slower() -> None:
    assert five_times_sts_expected_s(0.8, 80) == 12.0
    assert five_times_sts_expected_s(0.2, 90) > five_times_sts_expected_s(0.5, 90) > 12.0
    for exercise in ("sit_to_stand", "arm_raise", "marching", "leg_extension", "walking"):
        assert rep_duration_expected_s(exercise, 0.25) > rep_duration_expected_s(exercise, 0.75)
