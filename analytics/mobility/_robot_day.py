"""Activation-robot metrics of one resident over one local day, from the robot's events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np

from analytics.mobility._common import (
    DEFAULT_TZ,
    METRIC_VERSION,
    clip_intervals,
    local_day_window,
    total_length,
)

__all__ = ["EventKind", "RobotDayMetrics", "RobotEvent", "robot_day_metrics"]

EventKind = Literal["session_start", "session_end", "exercise", "sit_to_stand_test"]


def _epoch_s(text: str) -> float:
    """Seconds since the epoch of a protocol timestamp (``2026-11-26T09:30:00.120Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class RobotEvent:
    """One robot event (``docs/protocol.md``), times as epoch seconds.

    Attributes
    ----------
    device_id : str
        The robot.
    event : {"session_start", "session_end", "exercise", "sit_to_stand_test"}
    at_s : float
    session_id : str
    participants : tuple of str
        ``session_start``: badges read at the start.
    participant : str or None
        ``exercise`` and ``sit_to_stand_test``: whose.
    exercise : str or None
    started_at_s, ended_at_s : float or None
    rep_times_s : tuple of float
        Completed repetitions (``exercise``) or the five stands (``sit_to_stand_test``).
    total_s : float or None
        ``sit_to_stand_test``: start signal to fifth stand.
    """

    device_id: str
    event: EventKind
    at_s: float
    session_id: str
    participants: tuple[str, ...] = ()
    participant: str | None = None
    exercise: str | None = None
    started_at_s: float | None = None
    ended_at_s: float | None = None
    rep_times_s: tuple[float, ...] = ()
    total_s: float | None = None

    @classmethod
    def from_body(
        cls, device_id: str, event: EventKind, at_s: float, session_id: str, body: Mapping[str, Any]
    ) -> RobotEvent:
        """Build from a stored row: the event's own fields as in the message (``body``)."""

        def ts(key: str) -> float | None:
            value = body.get(key)
            return None if value is None else _epoch_s(str(value))

        return cls(
            device_id=device_id,
            event=event,
            at_s=at_s,
            session_id=session_id,
            participants=tuple(body.get("participants", ())),
            participant=body.get("participant"),
            exercise=body.get("exercise"),
            started_at_s=ts("started_at"),
            ended_at_s=ts("ended_at"),
            rep_times_s=tuple(_epoch_s(str(t)) for t in body.get("rep_times", ())),
            total_s=None if body.get("total_s") is None else float(body["total_s"]),
        )


@dataclass(frozen=True)
class RobotDayMetrics:
    """A resident's activation-robot figures for one local day.

    ``has_data`` is False (and the figures None) when there is no robot event at all that
    day: the robot was not in use, which says nothing about the resident.

    Attributes
    ----------
    pseudonym : str
    day : date
    has_data : bool
    sessions_n : int or None
        Sessions attended (badge read at the start, or exercises recorded).
    exercise_min : float or None
        Time in exercises (union of their start-end intervals within the day).
    repetitions_n : int or None
        Completed repetitions of all exercises.
    sit_to_stands_n : int or None
        Sit-to-stand repetitions and the five stands of each test.
    sts_tests_n : int or None
        Five-times sit-to-stand tests completed.
    five_sts_s : float or None
        Fastest five-times sit-to-stand time of the day.
    metric_version : str
    """

    pseudonym: str
    day: date
    has_data: bool
    sessions_n: int | None = None
    exercise_min: float | None = None
    repetitions_n: int | None = None
    sit_to_stands_n: int | None = None
    sts_tests_n: int | None = None
    five_sts_s: float | None = None
    metric_version: str = METRIC_VERSION


def robot_day_metrics(
    events: Iterable[RobotEvent], pseudonym: str, day: date, tz: ZoneInfo | str = DEFAULT_TZ
) -> RobotDayMetrics:
    """Summarise a resident's robot activity on a local day.

    1. Keep events of the day (by their own time: session start, exercise interval,
       repetition times, test start) and drop exact duplicates (a replayed event).
    2. Sessions attended: those whose ``session_start`` lists the resident, plus those with
       an exercise or test of theirs (a badge missed at the start).
    3. Exercise time: the union of the resident's exercise intervals, cut to the day.
    4. Repetitions: the resident's repetition times within the day; sit-to-stands also
       count the five stands of each test; the fastest test time.

    Parameters
    ----------
    events : iterable of RobotEvent
        The robots' events around that day (any residents; those of a ward's robot).
    pseudonym : str
    day : date
    tz : ZoneInfo or str, optional
    """
    start_s, end_s = local_day_window(day, tz)

    def in_day(t: float | None) -> bool:
        return t is not None and start_s <= t < end_s

    # 1.
    seen: set[tuple[object, ...]] = set()
    todays: list[RobotEvent] = []
    for e in events:
        key = (
            e.device_id,
            e.event,
            e.session_id,
            e.participant,
            e.exercise,
            e.started_at_s,
            e.at_s,
        )
        if key in seen:
            continue
        seen.add(key)
        when = [e.at_s, e.started_at_s, e.ended_at_s, *e.rep_times_s]
        if any(in_day(t) for t in when):
            todays.append(e)
    if not todays:
        return RobotDayMetrics(pseudonym, day, has_data=False)
    mine = [e for e in todays if e.participant == pseudonym]
    # 2.
    sessions = {
        (e.device_id, e.session_id)
        for e in todays
        if e.event == "session_start" and pseudonym in e.participants and in_day(e.at_s)
    }
    sessions |= {(e.device_id, e.session_id) for e in mine}
    # 3.
    ex = [e for e in mine if e.event == "exercise"]
    iv = np.array(
        [
            (e.started_at_s, e.ended_at_s)
            for e in ex
            if e.started_at_s is not None and e.ended_at_s is not None
        ],
        dtype=np.float64,
    ).reshape(-1, 2)
    exercise_min = total_length(clip_intervals(iv, start_s, end_s)) / 60.0
    # 4.
    reps = sum(sum(1 for t in e.rep_times_s if in_day(t)) for e in ex)
    sts_reps = sum(
        sum(1 for t in e.rep_times_s if in_day(t)) for e in ex if e.exercise == "sit_to_stand"
    )
    tests = [e for e in mine if e.event == "sit_to_stand_test" and in_day(e.started_at_s or e.at_s)]
    times = [e.total_s for e in tests if e.total_s is not None]
    return RobotDayMetrics(
        pseudonym=pseudonym,
        day=day,
        has_data=True,
        sessions_n=len(sessions),
        exercise_min=exercise_min,
        repetitions_n=reps,
        sit_to_stands_n=sts_reps + 5 * len(tests),
        sts_tests_n=len(tests),
        five_sts_s=min(times) if times else None,
    )
