"""Activation-robot sessions: group and individual exercise sessions with every repetition.

A ward's robot runs a group session on weekdays late in the morning (3-8 residents) and
a few individual sessions a day. The robot cues exercises; each participant's repetitions
follow the cues with a reaction lag, take longer the frailer the resident is, and frail
residents miss cues. Individual sessions sometimes include a five-times sit-to-stand test.
Sources and parameters in ``docs/simulator.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from firmware_sim.world._rng import derive_rng, str_key
from firmware_sim.world._time import DEFAULT_TZ, local_wall_time_s

__all__ = [
    "EXERCISES",
    "Exercise",
    "ExerciseBlock",
    "Repetition",
    "RobotCandidate",
    "RobotSession",
    "SitToStandTest",
    "five_times_sts_expected_s",
    "plan_robot_sessions",
    "rep_duration_expected_s",
]

Exercise = Literal["sit_to_stand", "arm_raise", "marching", "leg_extension", "balance", "walking"]
EXERCISES: tuple[Exercise, ...] = (
    "sit_to_stand",
    "arm_raise",
    "marching",
    "leg_extension",
    "balance",
    "walking",
)

# Nominal repetition time (s) of a fit older adult; frailty stretches it by up to 60 %.
_NOMINAL_REP_S: dict[Exercise, float] = {
    "sit_to_stand": 2.6,
    "arm_raise": 2.5,
    "marching": 0.7,
    "leg_extension": 3.0,
    "balance": 15.0,
    "walking": 0.0,  # a lap of the day room: length / gait speed
}
_LAP_M = 10.0


@dataclass(frozen=True)
class RobotCandidate:
    """A resident who could join a session that day."""

    pseudonym: str
    gait_speed_mps: float
    age_y: float
    present_from_s: float
    present_to_s: float


@dataclass(frozen=True)
class Repetition:
    """One repetition; ``index`` counts from 0 within its block or test."""

    index: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class ExerciseBlock:
    """One participant's repetitions of one exercise in a session."""

    exercise: Exercise
    pseudonym: str
    start_s: float
    end_s: float
    repetitions: tuple[Repetition, ...]


@dataclass(frozen=True)
class SitToStandTest:
    """A five-times sit-to-stand test.

    ``duration_s`` runs from the start cue to the fifth full stand (None if not
    completed). Each repetition runs from seat-off to seated again, except the fifth,
    which ends when standing; ``stand_times_s`` is when each stand was reached (the
    protocol's ``rep_times``).
    """

    pseudonym: str
    start_s: float
    duration_s: float | None
    completed: bool
    repetitions: tuple[Repetition, ...]
    stand_times_s: tuple[float, ...]


@dataclass(frozen=True)
class RobotSession:
    """A robot session; participants are known by their badge pseudonyms."""

    session_id: str
    robot_id: str
    ward: str
    kind: Literal["group", "individual"]
    start_s: float
    end_s: float
    participants: tuple[str, ...]
    blocks: tuple[ExerciseBlock, ...]
    sts_tests: tuple[SitToStandTest, ...]

    def busy_s(self, pseudonym: str) -> tuple[float, float] | None:
        """The interval a participant is in the session (for their day plan)."""
        return (self.start_s, self.end_s) if pseudonym in self.participants else None


def _frailty(speed_mps: float) -> float:
    return min(max((0.8 - speed_mps) / 0.6, 0.0), 1.0)


def rep_duration_expected_s(exercise: Exercise, speed_mps: float) -> float:
    """Expected repetition time (s): nominal x (1 + 0.6 x frailty); walking = 10 m lap."""
    if exercise == "walking":
        return _LAP_M / max(speed_mps, 0.1)
    return _NOMINAL_REP_S[exercise] * (1.0 + 0.6 * _frailty(speed_mps))


def five_times_sts_expected_s(speed_mps: float, age_y: float) -> float:
    """Expected five-times sit-to-stand time (s).

    12 s at 0.8 m/s rising to 28 s at 0.2 m/s, plus 0.1 s per year over 80. Community
    norms are 12.6 s (70-79 y) and 14.8 s (80-89 y) (Bohannon 2006); our residents are
    frailer, and 15 s or more marks high fall risk (Buatois et al. 2008).
    """
    return 12.0 + 16.0 * _frailty(speed_mps) + 0.1 * max(age_y - 80.0, 0.0)


def _block(
    exercise: Exercise,
    who: RobotCandidate,
    cues_s: Sequence[float],
    rng: np.random.Generator,
) -> ExerciseBlock | None:
    """Follow the robot's cues: react, perform, miss cues while still busy or tired."""
    frail = _frailty(who.gait_speed_mps)
    skip_p = 0.05 + 0.35 * frail
    nominal = rep_duration_expected_s(exercise, who.gait_speed_mps)
    reps: list[Repetition] = []
    free_at = -math.inf
    for cue in cues_s:
        lag = float(rng.uniform(0.2, 1.2))
        dur = nominal * math.exp(0.1 * float(rng.standard_normal()))
        skip = rng.random() < skip_p
        start = cue + lag
        if skip or start < free_at:
            continue
        reps.append(Repetition(len(reps), start, start + dur))
        free_at = start + dur
    if not reps:
        return None
    return ExerciseBlock(exercise, who.pseudonym, reps[0].start_s, reps[-1].end_s, tuple(reps))


def _sts_test(who: RobotCandidate, start_s: float, rng: np.random.Generator) -> SitToStandTest:
    total = five_times_sts_expected_s(who.gait_speed_mps, who.age_y) * math.exp(
        0.12 * float(rng.standard_normal())
    )
    unable_p = 0.05 + (0.45 if who.gait_speed_mps < 0.25 else 0.0)
    completed = bool(rng.random() >= unable_p)
    n_reps = 5 if completed else int(rng.integers(1, 5))
    cycle = total / 4.45  # four full cycles plus the rise (45 %) of the fifth
    w = np.exp(0.1 * rng.standard_normal(5))
    w[0] *= 1.2  # first rise is slowest
    w *= 4.45 / (w[:4].sum() + 0.45 * w[4])
    reps: list[Repetition] = []
    stands: list[float] = []
    t = start_s + float(rng.uniform(0.3, 0.8))  # reaction to "go"
    for k in range(n_reps):
        d = cycle * float(w[k])
        stands.append(t + 0.45 * d)  # rising takes 45 % of a cycle
        end = stands[-1] if k == 4 else t + d
        reps.append(Repetition(k, t, end))
        t = end
    duration = stands[-1] - start_s if completed else None
    return SitToStandTest(who.pseudonym, start_s, duration, completed, tuple(reps), tuple(stands))


def _run_session(
    session_id: str,
    robot_id: str,
    ward: str,
    kind: Literal["group", "individual"],
    start_s: float,
    people: list[RobotCandidate],
    with_test: bool,
    rng: np.random.Generator,
) -> RobotSession:
    """Lay out ``rounds`` of exercises one after the other, 20-40 s between exercises."""
    rounds = 3 if kind == "group" else 2
    blocks: list[ExerciseBlock] = []
    tests: list[SitToStandTest] = []
    t = start_s + float(rng.uniform(60.0, 180.0))  # greeting, instructions
    if with_test:
        tests.append(_sts_test(people[0], t, rng))
        t = tests[-1].repetitions[-1].end_s + float(rng.uniform(60.0, 120.0))
    frail_mean = float(np.mean([_frailty(p.gait_speed_mps) for p in people]))
    plan: list[tuple[Exercise, int]] = []
    for r in range(rounds):
        plan += [
            ("marching", int(rng.integers(20, 41))),
            ("arm_raise", 2 * int(rng.integers(8, 11))),
            ("leg_extension", 2 * int(rng.integers(8, 11))),
            ("sit_to_stand", int(rng.integers(5, 11))),
            ("balance", 3),
        ]
        if r == rounds - 1:
            plan.append(("walking", int(rng.integers(1, 3))))
    for exercise, n_cues in plan:
        if exercise == "walking":
            walkers = [p for p in people if p.gait_speed_mps >= 0.35]
        else:
            walkers = people
        pace = (
            1.25
            * (1.0 + 0.4 * frail_mean)
            * rep_duration_expected_s(
                exercise, min((p.gait_speed_mps for p in people), default=0.5)
            )
        )
        cues = [t + k * (pace + (1.0 if exercise == "balance" else 0.0)) for k in range(n_cues)]
        end = t
        for who in walkers:
            block = _block(exercise, who, cues, rng)
            if block is not None:
                blocks.append(block)
                end = max(end, block.end_s)
        t = max(end, cues[-1] + pace) + float(rng.uniform(20.0, 40.0))
    end_s = t + float(rng.uniform(60.0, 180.0))  # cool-down, goodbye
    return RobotSession(
        session_id=session_id,
        robot_id=robot_id,
        ward=ward,
        kind=kind,
        start_s=start_s,
        end_s=end_s,
        participants=tuple(p.pseudonym for p in people),
        blocks=tuple(blocks),
        sts_tests=tuple(tests),
    )


def plan_robot_sessions(
    robot_id: str,
    ward: str,
    day: date,
    candidates: Sequence[RobotCandidate],
    *,
    seed: int,
    tz_name: str = DEFAULT_TZ,
    sts_test_prob: float = 0.35,
) -> list[RobotSession]:
    """Plan a ward robot's sessions for a local day.

    1. Group session on weekdays at ~11:00: each present resident joins with probability
       0.3-0.8 (higher when more mobile); 3-8 participants or the session is cancelled.
    2. Individual sessions (Poisson mean 1.5, at most 3) in the 09:30-10:30 and
       16:00-17:30 windows, for residents not already in a session that day; each
       includes a five-times sit-to-stand test with probability ``sts_test_prob``.

    Parameters
    ----------
    robot_id, ward : str
    day : date
        Local date.
    candidates : sequence of RobotCandidate
        Residents on the ward that day (order does not matter).
    seed : int
    tz_name : str, optional
    sts_test_prob : float, optional

    Returns
    -------
    list of RobotSession
        In time order.
    """
    tz = ZoneInfo(tz_name)
    rng = derive_rng(seed, 21, str_key(robot_id), day.toordinal())
    people = sorted(candidates, key=lambda c: c.pseudonym)
    sessions: list[RobotSession] = []
    used: set[str] = set()
    stamp = day.strftime("%Y%m%d")
    # 1.
    group_start = local_wall_time_s(day, 11.0 + float(rng.normal(0.0, 0.1)), tz)
    joins = rng.random(len(people))
    order = rng.permutation(len(people))
    if day.weekday() < 5:
        group = [
            people[i]
            for i in order
            if joins[i] < 0.3 + 0.5 * (1.0 - _frailty(people[i].gait_speed_mps))
            and people[i].present_from_s <= group_start - 600.0
            and people[i].present_to_s >= group_start + 3600.0
        ][:8]
        if len(group) >= 3:
            sessions.append(
                _run_session(
                    f"{robot_id}-{stamp}-0", robot_id, ward, "group", group_start, group, False, rng
                )
            )
            used.update(p.pseudonym for p in group)
    # 2.
    n_ind = min(int(rng.poisson(1.5)), 3)
    slots = [(9.5, 10.5), (16.0, 17.5), (16.0, 17.5)]
    for k in range(n_ind):
        lo, hi = slots[k]
        start = local_wall_time_s(day, float(rng.uniform(lo, hi - 0.35)), tz)
        free = [
            p
            for p in people
            if p.pseudonym not in used
            and p.present_from_s <= start - 600.0
            and p.present_to_s >= start + 1800.0
        ]
        with_test = bool(rng.random() < sts_test_prob)
        if not free:
            continue
        who = free[int(rng.integers(0, len(free)))]
        if sessions and start < sessions[-1].end_s + 300.0:
            start = sessions[-1].end_s + 300.0
        sessions.append(
            _run_session(
                f"{robot_id}-{stamp}-{k + 1}",
                robot_id,
                ward,
                "individual",
                start,
                [who],
                with_test,
                rng,
            )
        )
        used.add(who.pseudonym)
    sessions.sort(key=lambda s: s.start_s)
    return sessions
