"""Detected against reference event times: one-to-one matching and the scores of a recording."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "EventScore",
    "PooledScore",
    "cadence_spm",
    "json_number",
    "match_events",
    "pool",
    "score_events",
]


def match_events(
    detected_s: npt.ArrayLike, reference_s: npt.ArrayLike, *, tolerance_s: float
) -> tuple[IntArray, IntArray]:
    """Pair detected with reference events one-to-one, closest pairs first.

    Every pair closer than ``tolerance_s`` is a candidate; candidates are taken in order of
    increasing distance, each event being used at most once (a greedy minimum-distance
    matching, as in mobgap's ``evaluate_initial_contact_list`` up to ties).

    Returns
    -------
    detected_idx, reference_idx : ndarray of int64
        Indices into the two inputs of the matched pairs, ordered by reference time.
    """
    det = np.asarray(detected_s, dtype=np.float64).reshape(-1)
    ref = np.asarray(reference_s, dtype=np.float64).reshape(-1)
    empty = np.zeros(0, dtype=np.int64)
    if len(det) == 0 or len(ref) == 0:
        return empty, empty
    d_order = np.argsort(det, kind="stable")
    d_sorted = det[d_order]
    lo = np.searchsorted(d_sorted, ref - tolerance_s, side="left")
    hi = np.searchsorted(d_sorted, ref + tolerance_s, side="right")
    n_cand = hi - lo
    if n_cand.sum() == 0:
        return empty, empty
    ref_i = np.repeat(np.arange(len(ref)), n_cand)
    offset = np.arange(int(n_cand.sum())) - np.repeat(np.cumsum(n_cand) - n_cand, n_cand)
    det_i = d_order[np.repeat(lo, n_cand) + offset]
    dist = np.abs(det[det_i] - ref[ref_i])
    used_d = np.zeros(len(det), dtype=bool)
    used_r = np.zeros(len(ref), dtype=bool)
    pairs: list[tuple[int, int]] = []
    for k in np.argsort(dist, kind="stable").tolist():
        di, ri = int(det_i[k]), int(ref_i[k])
        if not used_d[di] and not used_r[ri]:
            used_d[di] = used_r[ri] = True
            pairs.append((di, ri))
    pairs.sort(key=lambda p: p[1])
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def cadence_spm(times_s: npt.ArrayLike, *, max_break_s: float = 3.0) -> float:
    """Cadence of a run of step times: 60 over the median step interval, steps/min.

    Intervals over ``max_break_s`` (a pause, a gap in scoring) are left out; NaN when no
    interval is left.
    """
    t = np.sort(np.asarray(times_s, dtype=np.float64).reshape(-1))
    d = np.diff(t)
    d = d[(d > 0.0) & (d <= max_break_s)]
    return 60.0 / float(np.median(d)) if len(d) else math.nan


def _inside(t: FloatArray, intervals: Sequence[tuple[float, float]]) -> npt.NDArray[np.bool_]:
    out = np.zeros(len(t), dtype=bool)
    for a, b in intervals:
        out |= (t >= a) & (t <= b)
    return out


def json_number(v: float) -> float | None:
    """``v`` for JSON: None where it is NaN or infinite (JSON has neither)."""
    return v if math.isfinite(v) else None


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


@dataclass(frozen=True)
class EventScore:
    """Scores of one recording: detected against reference events in the scored region.

    ``count_rel_err`` is signed (detected minus reference, over reference); ``cadence_rel_err``
    is absolute. ``offsets_s`` are detected minus reference times of the matched pairs.
    """

    n_reference: int
    n_detected: int
    true_positives: int
    cadence_reference_spm: float
    cadence_detected_spm: float
    offsets_s: tuple[float, ...]

    @property
    def false_positives(self) -> int:
        """Detections without a reference event."""
        return self.n_detected - self.true_positives

    @property
    def false_negatives(self) -> int:
        """Reference events without a detection."""
        return self.n_reference - self.true_positives

    @property
    def sensitivity(self) -> float:
        """Share of reference events that were detected."""
        return _ratio(self.true_positives, self.n_reference)

    @property
    def ppv(self) -> float:
        """Positive predictive value: share of detections that match a reference event."""
        return _ratio(self.true_positives, self.n_detected)

    @property
    def f1(self) -> float:
        """Harmonic mean of sensitivity and PPV."""
        return _ratio(2.0 * self.true_positives, self.n_reference + self.n_detected)

    @property
    def count_rel_err(self) -> float:
        """(detected - reference) / reference, signed."""
        return _ratio(self.n_detected - self.n_reference, self.n_reference)

    @property
    def cadence_rel_err(self) -> float:
        """|detected cadence - reference cadence| / reference cadence."""
        return abs(self.cadence_detected_spm - self.cadence_reference_spm) / (
            self.cadence_reference_spm
        )

    @property
    def timing_offset_s(self) -> float:
        """Median of detected minus reference time over matched pairs (NaN if none)."""
        return float(np.median(self.offsets_s)) if self.offsets_s else math.nan


def score_events(
    detected_s: npt.ArrayLike,
    reference_s: npt.ArrayLike,
    *,
    tolerance_s: float,
    scored: Sequence[tuple[float, float]] | None = None,
    excluded: Sequence[tuple[float, float]] = (),
    max_break_s: float = 3.0,
) -> EventScore:
    """Score detected against reference events of one recording.

    Parameters
    ----------
    detected_s, reference_s : array_like
        Event times, s.
    tolerance_s : float
        Largest distance of a matched pair.
    scored : sequence of (start, end), optional
        Only events inside these intervals count (detected and reference alike); all when
        None.
    excluded : sequence of (start, end), optional
        Events inside these intervals do not count (e.g. a U-turn where the reference is
        incomplete).
    max_break_s : float, optional
        Longest step interval used for cadence (:func:`cadence_spm`).
    """
    det = np.sort(np.asarray(detected_s, dtype=np.float64).reshape(-1))
    ref = np.sort(np.asarray(reference_s, dtype=np.float64).reshape(-1))
    if scored is not None:
        det, ref = det[_inside(det, scored)], ref[_inside(ref, scored)]
    if excluded:
        det, ref = det[~_inside(det, excluded)], ref[~_inside(ref, excluded)]
    di, ri = match_events(det, ref, tolerance_s=tolerance_s)
    return EventScore(
        n_reference=len(ref),
        n_detected=len(det),
        true_positives=len(di),
        cadence_reference_spm=cadence_spm(ref, max_break_s=max_break_s),
        cadence_detected_spm=cadence_spm(det, max_break_s=max_break_s),
        offsets_s=tuple((det[di] - ref[ri]).tolist()),
    )


@dataclass(frozen=True)
class PooledScore:
    """Scores pooled over recordings.

    Sensitivity, PPV and F1 from the summed counts; ``count_rel_err`` and
    ``cadence_rel_err`` are means over recordings of the absolute per-recording errors (so
    that an over-count in one recording cannot hide an under-count in another);
    ``count_bias`` is the summed detected minus summed reference count over the latter;
    ``timing_offset_s`` the median over all matched pairs.
    """

    n_recordings: int
    n_reference: int
    n_detected: int
    true_positives: int
    sensitivity: float
    ppv: float
    f1: float
    count_rel_err: float
    count_bias: float
    cadence_rel_err: float
    timing_offset_s: float

    def as_json(self) -> dict[str, float | int | None]:
        """The figures as JSON values (NaN becomes None)."""
        return {k: json_number(v) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def pool(scores: Sequence[EventScore]) -> PooledScore:
    """Pool the scores of several recordings (see :class:`PooledScore`)."""
    n_ref = sum(s.n_reference for s in scores)
    n_det = sum(s.n_detected for s in scores)
    tp = sum(s.true_positives for s in scores)
    counts = [abs(s.count_rel_err) for s in scores if s.n_reference]
    cad = [s.cadence_rel_err for s in scores if math.isfinite(s.cadence_rel_err)]
    offsets = [o for s in scores for o in s.offsets_s]
    return PooledScore(
        n_recordings=len(scores),
        n_reference=n_ref,
        n_detected=n_det,
        true_positives=tp,
        sensitivity=_ratio(tp, n_ref),
        ppv=_ratio(tp, n_det),
        f1=_ratio(2.0 * tp, n_ref + n_det),
        count_rel_err=float(np.mean(counts)) if counts else math.nan,
        count_bias=_ratio(n_det - n_ref, n_ref),
        cadence_rel_err=float(np.mean(cad)) if cad else math.nan,
        timing_offset_s=float(np.median(offsets)) if offsets else math.nan,
    )
