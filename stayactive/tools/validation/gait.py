"""Step detection on real recordings against their reference steps (``stayactive validate gait``).

Every recording with reference steps is run through a detector; detected and reference steps
are matched one-to-one (:func:`analytics.agreement.score_events`) inside the scored region:

* ``span`` (default): from 1 s before the first to 1 s after the last reference step, so a
  detector that fires while the person stands before or after the walk is penalised only
  within that second, and one that fires inside the walk always;
* ``bouts``: inside the reference's walking bouts, each widened by 1 s.

Reference steps and detections inside ``uturn_s`` are not scored (the reference is incomplete
there). Figures are pooled separately over healthy and impaired recordings
(:attr:`~stayactive.tools.validation.recordings.Recording.impaired`), never only together.

:func:`leave_one_subject_out` guards against tuning to the recordings: a small grid of the
detector's parameters is searched on all subjects but one and scored on the one left out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from analytics.agreement import EventScore, PooledScore, json_number, pool, score_events
from analytics.gait import StepDetectorVerticalAcc, detect_steps, vertical_acceleration
from stayactive.errors import ConfigurationError
from stayactive.tools.validation.recordings import FloatArray, Recording

__all__ = [
    "LOSO_GRID",
    "SCORED_MARGIN_S",
    "Detector",
    "GroupFigures",
    "LosoResult",
    "RecordingResult",
    "evaluate",
    "leave_one_subject_out",
    "mobgap_ionescu",
    "ours",
    "scored_region",
]

Region = Literal["span", "bouts"]
Detector = Callable[[Recording], FloatArray]
"""A detector maps a recording to its step times (s from the first sample)."""

SCORED_MARGIN_S = 1.0
"""How far before the first and after the last reference step (or bout end) detections count."""

LOSO_GRID: dict[str, tuple[float, ...]] = {
    "rise_sigma_s": (0.12, 0.16, 0.20),
    "rel_height": (0.15, 0.3),
    "event_delay_s": (0.0, 0.04, 0.08),
}
"""Parameters searched by :func:`leave_one_subject_out` (the shipped defaults are in it)."""


def ours(**params: Any) -> Detector:
    """The generic detector (:func:`analytics.gait.detect_steps`) with ``params``."""
    StepDetectorVerticalAcc(**params)  # a wrong parameter name fails here, not per recording

    def detect(rec: Recording) -> FloatArray:
        out: FloatArray = rec.times_s[detect_steps(rec.acc_mps2, rec.fs_hz, **params)]
        return out

    return detect


def mobgap_ionescu() -> Detector:
    """mobgap's ``IcdIonescu`` (Mobilise-D) on the whole recording, as one gait sequence.

    mobgap wants body-frame acceleration with ``acc_is`` vertical; these recordings are in
    the sensor's frame, turned any way, so it gets the same gravity-aligned vertical
    acceleration as our detector (plus 1 g, as a sensor reads it); ``IcdIonescu`` uses no
    other axis. Needs the ``compare`` extra (``pip install -e '.[compare]'``).
    """
    try:
        import pandas as pd
        from mobgap.initial_contacts import IcdIonescu
    except ImportError as exc:
        raise ConfigurationError(
            "--compare mobgap needs the optional mobgap package: pip install -e '.[compare]'"
        ) from exc

    def detect(rec: Recording) -> FloatArray:
        acc = rec.acc_mps2
        if len(acc) < 3 * rec.fs_hz:
            return np.zeros(0)
        vert = vertical_acceleration(acc, rec.fs_hz, 2.0) + 9.80665
        zero = np.zeros(len(acc))
        data = pd.DataFrame({"acc_is": vert, "acc_ml": zero, "acc_pa": zero,
                             "gyr_is": zero, "gyr_ml": zero, "gyr_pa": zero})  # fmt: skip
        ic = IcdIonescu().detect(data, sampling_rate_hz=rec.fs_hz).ic_list_["ic"].to_numpy()
        idx = np.clip(np.sort(ic.astype(np.int64)), 0, len(acc) - 1)
        out: FloatArray = rec.times_s[idx]
        return out

    return detect


def scored_region(rec: Recording, region: Region) -> list[tuple[float, float]]:
    """Intervals (s) in which steps are scored (see the module docstring)."""
    ref = rec.ref_ic_s
    if ref is None or len(ref) == 0:
        return []
    m = SCORED_MARGIN_S
    if region == "bouts" and rec.walking_bouts_s is not None and len(rec.walking_bouts_s):
        return [(float(a) - m, float(b) + m) for a, b in rec.walking_bouts_s]
    return [(float(ref.min()) - m, float(ref.max()) + m)]


@dataclass(frozen=True)
class RecordingResult:
    """One recording's score."""

    name: str
    subject: str
    impaired: bool
    population: str
    score: EventScore

    def as_json(self) -> dict[str, Any]:
        """Name, group and figures."""
        s = self.score

        figures = {
            k: json_number(getattr(s, k))
            for k in ("sensitivity", "ppv", "f1", "count_rel_err", "cadence_rel_err",
                      "timing_offset_s")
        }  # fmt: skip
        return {
            "name": self.name,
            "subject": self.subject,
            "impaired": self.impaired,
            "n_reference": s.n_reference,
            "n_detected": s.n_detected,
            **figures,
        }


@dataclass(frozen=True)
class GroupFigures:
    """Pooled figures: all recordings, healthy ones, impaired ones."""

    all: PooledScore
    healthy: PooledScore
    impaired: PooledScore

    @classmethod
    def of(cls, results: Sequence[RecordingResult]) -> GroupFigures:
        """Pool ``results`` by group."""
        return cls(
            all=pool([r.score for r in results]),
            healthy=pool([r.score for r in results if not r.impaired]),
            impaired=pool([r.score for r in results if r.impaired]),
        )

    def as_json(self) -> dict[str, Any]:
        """Top level: all recordings; ``healthy`` and ``impaired`` with the same keys."""
        out: dict[str, Any] = self.all.as_json()
        out["healthy"] = self.healthy.as_json()
        out["impaired"] = self.impaired.as_json()
        return out


def evaluate(
    recordings: Sequence[Recording],
    detector: Detector,
    *,
    tolerance_s: float = 0.25,
    region: Region = "span",
) -> list[RecordingResult]:
    """Score ``detector`` on every recording that has reference steps."""
    out = []
    for rec in recordings:
        if rec.ref_ic_s is None or len(rec.ref_ic_s) == 0:
            continue
        excluded = [rec.uturn_s] if rec.uturn_s is not None else []
        score = score_events(
            detector(rec),
            rec.ref_ic_s,
            tolerance_s=tolerance_s,
            scored=scored_region(rec, region),
            excluded=excluded,
        )
        out.append(RecordingResult(rec.name, rec.subject, rec.impaired, rec.population, score))
    return out


def _objective(results: Sequence[RecordingResult]) -> float:
    """What the parameter search maximises: mean of the healthy and the impaired pooled F1."""
    g = GroupFigures.of(results)
    f1s = [p.f1 for p in (g.healthy, g.impaired) if p.n_recordings and math.isfinite(p.f1)]
    return float(np.mean(f1s)) if f1s else -math.inf


@dataclass(frozen=True)
class LosoResult:
    """Leave-one-subject-out: every subject scored with parameters chosen without them."""

    held_out: list[RecordingResult]
    chosen: dict[str, dict[str, float]]
    chosen_on_all: dict[str, float]
    grid_size: int

    @property
    def figures(self) -> GroupFigures:
        """The held-out recordings' pooled figures."""
        return GroupFigures.of(self.held_out)


def leave_one_subject_out(
    recordings: Sequence[Recording],
    *,
    grid: dict[str, tuple[float, ...]] | None = None,
    tolerance_s: float = 0.25,
    region: Region = "span",
) -> LosoResult:
    """For each subject: choose the grid point best on the others, score it on this one.

    Every recording is run once per grid point, so the cost is the grid size times one
    :func:`evaluate`.
    """
    grid = LOSO_GRID if grid is None else grid
    names = list(grid)
    points = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    scored = [r for r in recordings if r.ref_ic_s is not None and len(r.ref_ic_s)]
    table = [evaluate(scored, ours(**p), tolerance_s=tolerance_s, region=region) for p in points]
    subjects = sorted({r.subject for r in scored})

    def best(keep: Callable[[RecordingResult], bool]) -> int:
        values = [_objective([r for r in results if keep(r)]) for results in table]
        return int(np.argmax(values))

    def without(subject: str) -> Callable[[RecordingResult], bool]:
        return lambda r: r.subject != subject

    held: list[RecordingResult] = []
    chosen: dict[str, dict[str, float]] = {}
    for subject in subjects:
        k = best(without(subject))
        chosen[subject] = points[k]
        held.extend(r for r in table[k] if r.subject == subject)
    held.sort(key=lambda r: r.name)
    all_k = best(lambda r: True)
    return LosoResult(held, chosen, points[all_k], len(points))
