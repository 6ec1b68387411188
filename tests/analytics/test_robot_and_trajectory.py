"""Robot-day metrics, the resident-day join, and stay trajectories."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from analytics.mobility import (
    METRIC_VERSION,
    ResidentDayMetrics,
    RobotEvent,
    WalkerDayInput,
    local_day_window,
    resident_day,
    robot_day_metrics,
    stay_trajectory,
    walker_day_metrics,
)

DAY = date(2026, 11, 26)
LO, _ = local_day_window(DAY)
ME, OTHER = "rb7Kq2xW", "rb3Lm9pZ"


def _session(t0: float, sid: str, who: tuple[str, ...]) -> list[RobotEvent]:
    return [
        RobotEvent("R-0001", "session_start", t0, sid, participants=who),
        RobotEvent(
            "R-0001", "exercise", t0 + 90, sid, participant=ME, exercise="arm_raise",
            started_at_s=t0 + 30, ended_at_s=t0 + 90, rep_times_s=(t0 + 40, t0 + 50, t0 + 60),
        ),
        RobotEvent(
            "R-0001", "exercise", t0 + 200, sid, participant=ME, exercise="sit_to_stand",
            started_at_s=t0 + 140, ended_at_s=t0 + 200, rep_times_s=(t0 + 150, t0 + 170),
        ),
        RobotEvent(
            "R-0001", "exercise", t0 + 300, sid, participant=ME, exercise="balance",
            started_at_s=t0 + 240, ended_at_s=t0 + 300,
        ),
        RobotEvent(
            "R-0001", "sit_to_stand_test", t0 + 420, sid, participant=ME,
            started_at_s=t0 + 400, rep_times_s=tuple(t0 + 403 + 3 * k for k in range(5)),
            total_s=15.2,
        ),
        RobotEvent(
            "R-0001", "exercise", t0 + 90, sid, participant=OTHER, exercise="arm_raise",
            started_at_s=t0 + 30, ended_at_s=t0 + 90, rep_times_s=(t0 + 45,),
        ),
        RobotEvent("R-0001", "session_end", t0 + 600, sid),
    ]  # fmt: skip


def test_robot_day_known_answers() -> None:
    events = _session(LO + 10 * 3600, "s-1", (ME, OTHER))
    m = robot_day_metrics(events + events[:3], ME, DAY)  # replayed events count once
    assert m.has_data and m.sessions_n == 1
    assert m.exercise_min == pytest.approx(3.0)  # 60 + 60 + 60 s
    assert m.repetitions_n == 5
    assert m.sit_to_stands_n == 2 + 5
    assert m.sts_tests_n == 1 and m.five_sts_s == pytest.approx(15.2)
    other = robot_day_metrics(events, OTHER, DAY)
    assert other.sessions_n == 1 and other.repetitions_n == 1 and other.five_sts_s is None
    absent = robot_day_metrics(events, "nobody", DAY)
    assert absent.has_data and absent.sessions_n == 0 and absent.exercise_min == 0.0


def test_robot_not_in_use_is_no_data() -> None:
    m = robot_day_metrics([], ME, DAY)
    assert not m.has_data and m.sessions_n is None
    later = _session(LO + 2 * 86400, "s-9", (ME,))
    assert not robot_day_metrics(later, ME, DAY).has_data


def test_exercise_across_midnight_is_cut_at_the_day() -> None:
    nxt, _ = local_day_window(DAY + timedelta(days=1))
    e = RobotEvent(
        "R-0001", "exercise", nxt + 60, "s-2", participant=ME, exercise="marching",
        started_at_s=nxt - 60, ended_at_s=nxt + 60, rep_times_s=(nxt - 30, nxt + 30),
    )  # fmt: skip
    today = robot_day_metrics([e], ME, DAY)
    tomorrow = robot_day_metrics([e], ME, DAY + timedelta(days=1))
    assert today.exercise_min == pytest.approx(1.0) and today.repetitions_n == 1
    assert tomorrow.exercise_min == pytest.approx(1.0) and tomorrow.repetitions_n == 1


def test_event_from_stored_body_of_the_protocol_examples() -> None:
    root = Path(__file__).resolve().parents[2] / "docs" / "examples"
    events = []
    for name in ("robot-session-start", "robot-exercise", "robot-sit-to-stand-test"):
        msg = json.loads((root / f"{name}.json").read_text())
        body = {k: v for k, v in msg.items() if k not in ("v", "type", "device_id", "boot", "seq")}
        at = RobotEvent.from_body("R-0001", msg["event"], 0.0, msg["session_id"], body)
        events.append(
            RobotEvent.from_body(
                "R-0001", msg["event"], at.started_at_s or LO + 36000, msg["session_id"], body
            )
        )
    m = robot_day_metrics(events, "rb3Lm9pZ", DAY)
    assert m.sessions_n == 1 and m.five_sts_s == pytest.approx(14.3)
    mine = robot_day_metrics(events, "rb7Kq2xW", DAY)
    assert mine.repetitions_n == 8
    assert mine.exercise_min == pytest.approx((90.370) / 60.0, abs=1e-3)


def test_resident_day_joins_and_keeps_no_data_apart() -> None:
    walker = walker_day_metrics(WalkerDayInput.empty("w", *local_day_window(DAY)))
    robot = robot_day_metrics(_session(LO + 36000, "s-1", (ME,)), ME, DAY)
    r = resident_day(walker, robot)
    assert r.pseudonym == ME and r.day == DAY and r.metric_version == METRIC_VERSION
    assert not r.walker_data and r.robot_data and r.has_data
    assert r.steps_n is None and r.coverage == 0.0
    assert r.repetitions_n == 5
    nothing = resident_day(None, None, pseudonym=ME, day=DAY)
    assert not nothing.has_data and nothing.steps_n is None and nothing.exercise_min is None
    with pytest.raises(ValueError):
        resident_day(None, None)


def _day(speed: float | None, steps: int | None) -> ResidentDayMetrics:
    has = speed is not None
    fields = {f: None for f in ResidentDayMetrics.__dataclass_fields__}
    fields.update(
        pseudonym=ME, day=DAY, walker_data=has, robot_data=False, coverage=1.0 if has else 0.0,
        gait_speed_median_mps=speed, steps_n=steps, metric_version=METRIC_VERSION,
    )  # fmt: skip
    return ResidentDayMetrics(**fields)  # type: ignore[arg-type]


def test_trajectory_of_a_recovering_stay() -> None:
    d0 = date(2026, 1, 5)
    speeds = [0.40 + 0.02 * k for k in range(25)]
    days = [(d0 + timedelta(days=k), _day(v, 500 + 40 * k)) for k, v in enumerate(speeds)]
    days[3] = (days[3][0], _day(None, None))  # a day without data is a gap, never a zero
    tr = stay_trajectory(days)
    assert tr.n_days == 25 and tr.n_days_with_data == 24
    assert tr.gait_speed_slope is not None
    assert tr.gait_speed_slope.per_day == pytest.approx(0.02)
    assert tr.gait_speed_slope.low <= 0.02 <= tr.gait_speed_slope.high
    assert tr.gait_speed_change_class == "substantial_improvement"
    assert tr.days_to_community_speed == 20
    assert tr.steps_slope is not None and tr.steps_slope.per_day == pytest.approx(40.0)
    assert not tr.declining_3d
    assert "reached_community_speed" in tr.flags


@pytest.mark.parametrize(
    ("change", "cls"),
    [
        (0.12, "substantial_improvement"),
        (0.05, "small_improvement"),
        (0.02, "no_meaningful_change"),
        (-0.06, "small_decline"),
        (-0.10, "substantial_decline"),
    ],
)
def test_meaningful_change_classes(change: float, cls: str) -> None:
    d0 = date(2026, 1, 5)
    vals = [0.5] * 3 + [0.5 + change] * 3
    tr = stay_trajectory([(d0 + timedelta(days=k), _day(v, 100)) for k, v in enumerate(vals)])
    assert tr.gait_speed_change_mps == pytest.approx(change)
    assert tr.gait_speed_change_class == cls


def test_three_day_decline_flags() -> None:
    d0 = date(2026, 1, 5)
    vals = [0.6, 0.62, 0.61, 0.58, 0.55]
    steps = [900, 950, 900, 700, 500]
    tr = stay_trajectory(
        [
            (d0 + timedelta(days=k), _day(v, s))
            for k, (v, s) in enumerate(zip(vals, steps, strict=False))
        ]
    )
    assert tr.declining_3d and tr.steps_declining_3d
    assert "gait_speed_declining_3d" in tr.flags
    # Not consecutive days: no flag.
    gap = [
        (d0 + timedelta(days=2 * k), _day(v, s))
        for k, (v, s) in enumerate(zip(vals, steps, strict=False))
    ]
    assert not stay_trajectory(gap).declining_3d


def test_empty_and_single_day_trajectories() -> None:
    tr = stay_trajectory([])
    assert tr.n_days == 0 and tr.gait_speed_slope is None and tr.flags == ()
    one = stay_trajectory([(DAY, _day(0.5, 100))])
    assert one.gait_speed_baseline_mps == 0.5 and one.gait_speed_change_mps is None
    assert one.gait_speed_slope is None
    assert np.isfinite(one.gait_speed_latest_mps or np.nan)
