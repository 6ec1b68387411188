"""Ground truth: what really happened in the simulated world, and a JSON Lines writer.

The truth is produced by the same code path that drives the signals (the step sequence
of a bout is generated once and both the sensor arrays and the truth are made from it),
so counts match exactly: one ``step`` record per generated initial contact.

JSON Lines format (one object per line, ``"type"`` first; times as ISO 8601 UTC with a
``Z`` suffix, plus ``*_s`` float seconds since 1970-01-01T00:00:00Z where precision
matters)::

    stay         stay_id resident birth_year sex ward stay_type intervention adherence
                 admitted_at discharged_at destination readmitted_within_30d
                 readmitted_at daily_gait_speed_mps
    assignment   device_id resident valid_from valid_to
    walker_use   device_id resident purpose start end start_s end_s
    step         device_id resident bout_id t t_s foot(L|R) kind(normal|irregular|turn)
    bout         device_id resident bout_id start end start_s end_s n_steps distance_m
                 mean_speed_mps cadence_spm n_turns
    transition   device_id resident kind(sit_to_stand|stand_to_sit) source start end
                 start_s end_s
    robot_session robot_id session_id ward kind start end participants
    repetition   robot_id session_id resident exercise index start end start_s end_s
    sts_test     robot_id session_id resident start start_s duration_s completed n_reps
                 stand_times stand_times_s
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from firmware_sim.world._time import from_epoch_s

if TYPE_CHECKING:
    from firmware_sim.world.residents import Stay
    from firmware_sim.world.robot import RobotSession

__all__ = [
    "FOOT_NAMES",
    "STEP_IRREGULAR",
    "STEP_KIND_NAMES",
    "STEP_NORMAL",
    "STEP_TURN",
    "AssignmentTruth",
    "BoutTruth",
    "ExcursionTruth",
    "StepSequence",
    "TransitionTruth",
    "TruthLog",
    "iso_utc",
    "read_truth",
    "write_truth",
]

STEP_NORMAL = 0
STEP_IRREGULAR = 1
STEP_TURN = 2
STEP_KIND_NAMES = ("normal", "irregular", "turn")
FOOT_NAMES = ("L", "R")


def iso_utc(value: datetime | float | None) -> str | None:
    """Format a datetime or epoch seconds as ISO 8601 UTC with a ``Z`` suffix."""
    if value is None:
        return None
    dt = from_epoch_s(value) if isinstance(value, float | int) else value
    return dt.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StepSequence:
    """Initial contacts of a run of steps.

    Attributes
    ----------
    ic_s : ndarray of float64
        Initial-contact times, epoch seconds, increasing.
    foot : ndarray of int8
        0 = left, 1 = right (see :data:`FOOT_NAMES`).
    kind : ndarray of int8
        :data:`STEP_NORMAL`, :data:`STEP_IRREGULAR` (shuffle or hesitation) or
        :data:`STEP_TURN`.
    """

    ic_s: npt.NDArray[np.float64]
    foot: npt.NDArray[np.int8]
    kind: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.ic_s)

    @classmethod
    def empty(cls) -> StepSequence:
        """Return a sequence with no steps."""
        return cls(np.zeros(0), np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int8))

    @classmethod
    def concat(cls, parts: Iterable[StepSequence]) -> StepSequence:
        """Concatenate sequences (in the order given)."""
        items = list(parts)
        if not items:
            return cls.empty()
        return cls(
            np.concatenate([p.ic_s for p in items]),
            np.concatenate([p.foot for p in items]).astype(np.int8),
            np.concatenate([p.kind for p in items]).astype(np.int8),
        )


@dataclass(frozen=True)
class BoutTruth:
    """A walking bout: continuous stepping, pauses of 4 s or more separate bouts.

    ``start_s``/``end_s`` are the first and last IC; ``distance_m`` is the walker's travel
    between them (integrated forward speed) and ``mean_speed_mps`` that distance over the
    duration. ``first_step`` indexes the excursion's step sequence.
    """

    start_s: float
    end_s: float
    n_steps: int
    first_step: int
    distance_m: float
    mean_speed_mps: float
    cadence_spm: float
    n_turns: int


@dataclass(frozen=True)
class TransitionTruth:
    """A sit-to-stand or stand-to-sit with the walker."""

    kind: Literal["sit_to_stand", "stand_to_sit"]
    start_s: float
    end_s: float


@dataclass(frozen=True)
class ExcursionTruth:
    """Everything a resident did during one use of the walker (one awake period)."""

    pseudonym: str
    purpose: str
    start_s: float
    end_s: float
    steps: StepSequence
    bouts: tuple[BoutTruth, ...]
    transitions: tuple[TransitionTruth, ...]


@dataclass(frozen=True)
class AssignmentTruth:
    """A device-to-resident assignment; ``valid_to`` None = still valid at period end."""

    device_id: str
    pseudonym: str
    valid_from: datetime
    valid_to: datetime | None


@dataclass
class TruthLog:
    """Accumulates truth records (as JSON-ready dicts) in the order they are added."""

    records: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        """Number of records per type."""
        return Counter(str(r["type"]) for r in self.records)

    def add_stays(self, stays: Iterable[Stay]) -> None:
        """Add one ``stay`` record per stay."""
        for s in stays:
            self.records.append(
                {
                    "type": "stay",
                    "stay_id": s.stay_id,
                    "resident": s.resident.pseudonym,
                    "birth_year": s.resident.birth_year,
                    "sex": s.resident.sex,
                    "ward": s.ward,
                    "stay_type": s.stay_type,
                    "intervention": s.intervention,
                    "adherence": round(s.adherence, 4),
                    "admitted_at": iso_utc(s.admitted_at),
                    "discharged_at": iso_utc(s.discharged_at),
                    "destination": s.destination,
                    "readmitted_within_30d": s.readmitted_within_30d,
                    "readmitted_at": iso_utc(s.readmitted_at),
                    "daily_gait_speed_mps": [round(float(v), 4) for v in s.daily_gait_speed_mps],
                }
            )

    def add_assignments(self, assignments: Iterable[AssignmentTruth]) -> None:
        """Add one ``assignment`` record per device assignment."""
        for a in assignments:
            self.records.append(
                {
                    "type": "assignment",
                    "device_id": a.device_id,
                    "resident": a.pseudonym,
                    "valid_from": iso_utc(a.valid_from),
                    "valid_to": iso_utc(a.valid_to),
                }
            )

    def add_excursion(self, device_id: str, truth: ExcursionTruth) -> None:
        """Add the walker use, its transitions, bouts and every step."""
        who = truth.pseudonym
        self.records.append(
            {
                "type": "walker_use",
                "device_id": device_id,
                "resident": who,
                "purpose": truth.purpose,
                "start": iso_utc(truth.start_s),
                "end": iso_utc(truth.end_s),
                "start_s": truth.start_s,
                "end_s": truth.end_s,
            }
        )
        for tr in truth.transitions:
            self.records.append(
                {
                    "type": "transition",
                    "device_id": device_id,
                    "resident": who,
                    "kind": tr.kind,
                    "source": "walker",
                    "start": iso_utc(tr.start_s),
                    "end": iso_utc(tr.end_s),
                    "start_s": tr.start_s,
                    "end_s": tr.end_s,
                }
            )
        steps = truth.steps
        for b in truth.bouts:
            bout_id = f"{device_id}/{round(b.start_s * 1000)}"
            self.records.append(
                {
                    "type": "bout",
                    "device_id": device_id,
                    "resident": who,
                    "bout_id": bout_id,
                    "start": iso_utc(b.start_s),
                    "end": iso_utc(b.end_s),
                    "start_s": b.start_s,
                    "end_s": b.end_s,
                    "n_steps": b.n_steps,
                    "distance_m": round(b.distance_m, 4),
                    "mean_speed_mps": round(b.mean_speed_mps, 4),
                    "cadence_spm": round(b.cadence_spm, 2),
                    "n_turns": b.n_turns,
                }
            )
            for i in range(b.first_step, b.first_step + b.n_steps):
                t = float(steps.ic_s[i])
                self.records.append(
                    {
                        "type": "step",
                        "device_id": device_id,
                        "resident": who,
                        "bout_id": bout_id,
                        "t": iso_utc(t),
                        "t_s": t,
                        "foot": FOOT_NAMES[int(steps.foot[i])],
                        "kind": STEP_KIND_NAMES[int(steps.kind[i])],
                    }
                )

    def add_robot_session(self, session: RobotSession) -> None:
        """Add the session, every repetition and every five-times sit-to-stand test."""
        self.records.append(
            {
                "type": "robot_session",
                "robot_id": session.robot_id,
                "session_id": session.session_id,
                "ward": session.ward,
                "kind": session.kind,
                "start": iso_utc(session.start_s),
                "end": iso_utc(session.end_s),
                "participants": list(session.participants),
            }
        )
        for block in session.blocks:
            for rep in block.repetitions:
                self.records.append(
                    {
                        "type": "repetition",
                        "robot_id": session.robot_id,
                        "session_id": session.session_id,
                        "resident": block.pseudonym,
                        "exercise": block.exercise,
                        "index": rep.index,
                        "start": iso_utc(rep.start_s),
                        "end": iso_utc(rep.end_s),
                        "start_s": rep.start_s,
                        "end_s": rep.end_s,
                    }
                )
        for test in session.sts_tests:
            self.records.append(
                {
                    "type": "sts_test",
                    "robot_id": session.robot_id,
                    "session_id": session.session_id,
                    "resident": test.pseudonym,
                    "start": iso_utc(test.start_s),
                    "start_s": test.start_s,
                    "duration_s": None if test.duration_s is None else round(test.duration_s, 3),
                    "completed": test.completed,
                    "n_reps": len(test.repetitions),
                    "stand_times": [iso_utc(t) for t in test.stand_times_s],
                    "stand_times_s": list(test.stand_times_s),
                }
            )


def write_truth(path: str | Path, log: TruthLog, *, append: bool = False) -> int:
    """Write a truth log as JSON Lines.

    Parameters
    ----------
    path : str or Path
    log : TruthLog
    append : bool, optional
        Append instead of truncating, so a long run can write day by day.

    Returns
    -------
    int
        Number of lines written.
    """
    with Path(path).open("a" if append else "w", encoding="utf-8") as fp:
        for record in log.records:
            fp.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            fp.write("\n")
    return len(log.records)


def read_truth(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the records of a truth file written by :func:`write_truth`."""
    with Path(path).open(encoding="utf-8") as fp:
        for line in fp:
            if line.strip():
                record: dict[str, Any] = json.loads(line)
                yield record
