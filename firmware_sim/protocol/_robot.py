"""Robot events: sessions, exercises and sit-to-stand tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from firmware_sim.protocol._common import (
    Message,
    ProtocolError,
    _header,
    format_timestamp,
)


def _robot_event(
    event: str, device_id: str, boot: int, seq: int, sent_at: datetime, at: datetime
) -> Message:
    msg = _header("robot.event", device_id, boot, seq, sent_at)
    msg["at"] = format_timestamp(at)
    msg["event"] = event
    return msg


def robot_session_start(
    device_id: str,
    boot: int,
    seq: int,
    sent_at: datetime,
    *,
    at: datetime,
    session_id: str,
    program: str,
    mode: Literal["group", "individual"],
    participants: Sequence[str],
) -> Message:
    """A ``robot.event`` of kind ``session_start``; ``participants`` are badge pseudonyms."""
    msg = _robot_event("session_start", device_id, boot, seq, sent_at, at)
    msg.update(session_id=session_id, program=program, mode=mode, participants=list(participants))
    return msg


def robot_session_end(
    device_id: str,
    boot: int,
    seq: int,
    sent_at: datetime,
    *,
    at: datetime,
    session_id: str,
    ended_reason: Literal["completed", "aborted"],
) -> Message:
    """A ``robot.event`` of kind ``session_end``."""
    msg = _robot_event("session_end", device_id, boot, seq, sent_at, at)
    msg.update(session_id=session_id, ended_reason=ended_reason)
    return msg


def robot_exercise(
    device_id: str,
    boot: int,
    seq: int,
    sent_at: datetime,
    *,
    at: datetime,
    session_id: str,
    participant: str,
    exercise: Literal[
        "sit_to_stand", "arm_raise", "marching", "leg_extension", "balance", "walking"
    ],
    started_at: datetime,
    ended_at: datetime,
    rep_times: Sequence[datetime],
) -> Message:
    """A ``robot.event`` of kind ``exercise``: one participant, one exercise, its repetitions."""
    msg = _robot_event("exercise", device_id, boot, seq, sent_at, at)
    msg.update(
        session_id=session_id,
        participant=participant,
        exercise=exercise,
        started_at=format_timestamp(started_at),
        ended_at=format_timestamp(ended_at),
        rep_times=[format_timestamp(t) for t in rep_times],
    )
    return msg


def robot_sit_to_stand_test(
    device_id: str,
    boot: int,
    seq: int,
    sent_at: datetime,
    *,
    at: datetime,
    session_id: str,
    participant: str,
    started_at: datetime,
    rep_times: Sequence[datetime],
    total_s: float,
) -> Message:
    """A ``robot.event`` of kind ``sit_to_stand_test`` (five repetitions, timed).

    Raises
    ------
    ProtocolError
        If ``rep_times`` does not hold exactly five timestamps.
    """
    if len(rep_times) != 5:
        raise ProtocolError(f"a sit-to-stand test has 5 repetitions, not {len(rep_times)}")
    msg = _robot_event("sit_to_stand_test", device_id, boot, seq, sent_at, at)
    msg.update(
        session_id=session_id,
        participant=participant,
        started_at=format_timestamp(started_at),
        rep_times=[format_timestamp(t) for t in rep_times],
        total_s=round(float(total_s), 3),
    )
    return msg
