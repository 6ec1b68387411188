"""Simulated resident-days with their truth, as the runner would read them.

Used by :mod:`stayactive.tools.validation.analytics` and :mod:`stayactive.tools.bench.analytics`;
imports the simulator (``firmware_sim.world``) only when called.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from analytics.mobility import DEFAULT_TZ, RobotEvent, WalkerDayInput, local_day_window

__all__ = [
    "FIRST_DAY",
    "SPEEDS_MPS",
    "DayTruth",
    "RobotTruth",
    "SimulatedDay",
    "sessions_to_events",
    "simulate_days",
    "wire_arrays",
    "wire_input",
]

FloatArray = npt.NDArray[np.float64]

SPEEDS_MPS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
"""Usual gait speeds of the simulated residents, one resident per speed and seed."""

FIRST_DAY = date(2026, 3, 23)
"""Validation days run from here for two weeks (the 23-hour DST day 2026-03-29 included)."""


@dataclass(frozen=True)
class DayTruth:
    """Ground truth of one resident-day (walker part)."""

    ic_s: FloatArray
    bout_start_s: FloatArray
    bout_end_s: FloatArray
    bout_steps: npt.NDArray[np.int64]
    bout_distance_m: FloatArray
    bout_first_step: npt.NDArray[np.int64]
    n_sit_to_stands: int
    n_turns: int = 0

    @property
    def bout_speed_mps(self) -> FloatArray:
        """Mean speed of each bout."""
        out: FloatArray = self.bout_distance_m / np.maximum(
            self.bout_end_s - self.bout_start_s, 1e-9
        )
        return out

    @property
    def bout_cadence_spm(self) -> FloatArray:
        """Cadence of each bout: 60 (n - 1) / duration."""
        out: FloatArray = (
            60.0 * (self.bout_steps - 1) / np.maximum(self.bout_end_s - self.bout_start_s, 1e-9)
        )
        return out


@dataclass(frozen=True)
class RobotTruth:
    """Ground truth of one resident-day (robot part)."""

    n_sessions: int
    exercise_min: float
    n_repetitions: int
    five_sts_s: float | None


@dataclass(frozen=True)
class SimulatedDay:
    """One simulated resident-day: what the runner would read, and the truth."""

    pseudonym: str
    day: date
    usual_speed_mps: float
    walker: WalkerDayInput
    truth: DayTruth
    events: tuple[RobotEvent, ...]
    robot_truth: RobotTruth


def wire_arrays(chunk: Any) -> dict[str, FloatArray]:
    """A simulator ``SignalChunk`` as ingest stores it: rounded like the wire, force clipped."""
    return {
        "t_s": np.round(chunk.t_s, 3),
        "acc_mps2": np.round(chunk.acc_mps2, 4),
        "gyro_radps": np.round(chunk.gyro_radps, 4),
        "odo_l_m": np.round(chunk.wheel_left_m, 5),
        "odo_r_m": np.round(chunk.wheel_right_m, 5),
        "force_l_n": np.clip(np.round(chunk.force_left_n, 1), 0.0, 1500.0),
        "force_r_n": np.clip(np.round(chunk.force_right_n, 1), 0.0, 1500.0),
        "brake": chunk.brake_engaged.astype(np.float64),
    }


def _ms(t: float) -> float:
    """A time as the protocol carries it (milliseconds)."""
    return round(t * 1000.0) / 1000.0


def sessions_to_events(sessions: Sequence[Any]) -> list[RobotEvent]:
    """The protocol events a robot sends for simulated sessions (``docs/protocol.md``).

    One ``exercise`` event per participant and exercise block with the completion time of
    each repetition (none for balance holds); a ``sit_to_stand_test`` only when completed.
    """
    out: list[RobotEvent] = []
    for s in sessions:
        out.append(
            RobotEvent(
                s.robot_id, "session_start", _ms(s.start_s), s.session_id, tuple(s.participants)
            )
        )
        for b in s.blocks:
            reps = () if b.exercise == "balance" else tuple(_ms(r.end_s) for r in b.repetitions)
            out.append(
                RobotEvent(
                    s.robot_id,
                    "exercise",
                    _ms(b.end_s),
                    s.session_id,
                    participant=b.pseudonym,
                    exercise=b.exercise,
                    started_at_s=_ms(b.start_s),
                    ended_at_s=_ms(b.end_s),
                    rep_times_s=reps,
                )
            )
        for test in s.sts_tests:
            if not test.completed or test.duration_s is None:
                continue
            out.append(
                RobotEvent(
                    s.robot_id,
                    "sit_to_stand_test",
                    _ms(test.stand_times_s[-1]),
                    s.session_id,
                    participant=test.pseudonym,
                    started_at_s=_ms(test.start_s),
                    rep_times_s=tuple(_ms(t) for t in test.stand_times_s),
                    total_s=round(test.duration_s, 3),
                )
            )
        out.append(RobotEvent(s.robot_id, "session_end", _ms(s.end_s), s.session_id))
    return out


def _robot_truth(sessions: Sequence[Any], who: str) -> RobotTruth:
    mine = [s for s in sessions if who in s.participants]
    blocks = [b for s in mine for b in s.blocks if b.pseudonym == who]
    reps = sum(len(b.repetitions) for b in blocks if b.exercise != "balance")
    minutes = sum(b.end_s - b.start_s for b in blocks) / 60.0
    tests = [
        t.duration_s
        for s in mine
        for t in s.sts_tests
        if t.pseudonym == who and t.completed and t.duration_s is not None
    ]
    return RobotTruth(len(mine), minutes, reps, min(tests) if tests else None)


def simulate_days(
    seed: int,
    *,
    speeds_mps: Sequence[float] = SPEEDS_MPS,
    days_per_resident: int = 1,
    tz_name: str = DEFAULT_TZ,
) -> Iterator[SimulatedDay]:
    """Simulate resident-days, one resident per usual gait speed, one day at a time.

    Residents (traits, body mass, walk ratio...) come from the simulator's population
    model; each is given a constant usual gait speed from ``speeds_mps`` and a walker of
    their own. The robot's sessions on the ward are planned with them as candidates.
    """
    from firmware_sim.world import (
        RobotCandidate,
        iter_day_signals,
        make_walker,
        plan_day,
        plan_robot_sessions,
        simulate_stays,
    )

    tz = ZoneInfo(tz_name)
    ward = "ward-val"
    start = datetime.combine(FIRST_DAY - timedelta(days=30), datetime.min.time(), tzinfo=tz)
    base = simulate_stays(
        len(speeds_mps), start, 30, 0.0, True, seed, wards=(ward,), tz_name=tz_name
    )
    for k in range(days_per_resident):
        day = FIRST_DAY + timedelta(days=(3 * seed + k) % 14)
        admitted = datetime.combine(day - timedelta(days=2), datetime.min.time(), tzinfo=tz)
        stays = [
            replace(
                st,
                ward=ward,
                admitted_at=admitted.replace(hour=12),
                discharged_at=None,
                destination=None,
                readmitted_within_30d=None,
                readmitted_at=None,
                daily_gait_speed_mps=np.full(30, float(v)),
            )
            for st, v in zip(base, speeds_mps, strict=True)
        ]
        lo, hi = local_day_window(day, tz)
        cands = [
            RobotCandidate(
                st.resident.pseudonym, float(v), float(day.year - st.resident.birth_year), lo, hi
            )
            for st, v in zip(stays, speeds_mps, strict=True)
        ]
        sessions = plan_robot_sessions("robot-val", ward, day, cands, seed=seed, tz_name=tz_name)
        events = tuple(sessions_to_events(sessions))
        for i, (st, v) in enumerate(zip(stays, speeds_mps, strict=True)):
            who = st.resident.pseudonym
            appointments = tuple(
                (s.start_s, s.end_s, s.session_id) for s in sessions if who in s.participants
            )
            plan = plan_day(st, day, seed=seed, appointments=appointments)
            if plan is None:  # pragma: no cover - the stay covers the day by construction
                continue
            walker = make_walker(f"walker-val-{i:02d}", seed)
            parts: list[dict[str, FloatArray]] = []
            truths: list[Any] = []
            for exc in iter_day_signals(walker, plan):
                parts.append(wire_arrays(exc.signals))
                truths.append(exc.truth)
            yield SimulatedDay(
                pseudonym=who,
                day=day,
                usual_speed_mps=float(v),
                walker=_walker_input(walker.device_id, parts, lo, hi, day),
                truth=_day_truth(truths),
                events=events,
                robot_truth=_robot_truth(sessions, who),
            )


def _walker_input(
    device_id: str, parts: list[dict[str, FloatArray]], lo: float, hi: float, day: date
) -> WalkerDayInput:
    """The day's samples; the device was online or asleep all day (monitored)."""
    monitored = np.array([[lo, hi]])
    if not parts:
        return WalkerDayInput.empty(device_id, lo, hi, monitored_s=monitored, day=day)
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return wire_input(device_id, cat, lo, hi, day=day, monitored_s=monitored)


def wire_input(
    device_id: str,
    arrays: dict[str, FloatArray],
    start_s: float,
    end_s: float,
    *,
    day: date | None = None,
    monitored_s: FloatArray | None = None,
) -> WalkerDayInput:
    """A :class:`WalkerDayInput` from the arrays of :func:`wire_arrays`."""
    return WalkerDayInput(
        device_id=device_id,
        start_s=start_s,
        end_s=end_s,
        t_s=arrays["t_s"],
        acc_mps2=arrays["acc_mps2"],
        gyro_radps=arrays["gyro_radps"],
        odo_l_m=arrays["odo_l_m"],
        odo_r_m=arrays["odo_r_m"],
        force_l_n=arrays["force_l_n"],
        force_r_n=arrays["force_r_n"],
        brake=arrays["brake"],
        monitored_s=monitored_s,
        day=day,
    )


def _day_truth(truths: Sequence[Any]) -> DayTruth:
    ic: list[FloatArray] = []
    rows: list[tuple[float, float, int, float, int]] = []
    offset = 0
    sts = 0
    turns = 0
    for tr in truths:
        ic.append(np.asarray(tr.steps.ic_s, dtype=np.float64))
        for b in tr.bouts:
            rows.append((b.start_s, b.end_s, b.n_steps, b.distance_m, offset + b.first_step))
            turns += b.n_turns
        offset += len(tr.steps)
        sts += sum(1 for t in tr.transitions if t.kind == "sit_to_stand")
    arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return DayTruth(
        ic_s=np.concatenate(ic) if ic else np.zeros(0),
        bout_start_s=arr[:, 0],
        bout_end_s=arr[:, 1],
        bout_steps=arr[:, 2].astype(np.int64),
        bout_distance_m=arr[:, 3],
        bout_first_step=arr[:, 4].astype(np.int64),
        n_sit_to_stands=sts,
        n_turns=turns,
    )
