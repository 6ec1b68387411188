"""Array helpers shared by the signal-layer algorithms (private)."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EMPTY_INT: IntArray = np.zeros(0, dtype=np.int64)


def as_float(x: npt.ArrayLike) -> FloatArray:
    """Return ``x`` as a contiguous float64 array (no copy when it already is one)."""
    return np.ascontiguousarray(x, dtype=np.float64)


def moving_mean(x: FloatArray, n: int) -> FloatArray:
    """Centred moving average over ``n`` samples; windows shrink at the edges.

    A cumulative sum makes it O(len(x)) whatever ``n`` is, which matters on a resident-day of
    half a million samples.
    """
    m = len(x)
    if n <= 1 or m == 0:
        return x.astype(np.float64, copy=True)
    if n > m:
        n = m
    c = np.empty(m + 1)
    c[0] = 0.0
    np.cumsum(x, out=c[1:])
    half = n // 2
    out = np.empty(m)
    # Full windows [i - half, i - half + n) for i in [half, m - n + half].
    out[half : m - n + half + 1] = (c[n:] - c[: m - n + 1]) / n
    head = np.arange(half)  # windows [0, i - half + n)
    out[:half] = c[head - half + n] / (head - half + n)
    tail = np.arange(m - n + half + 1, m)  # windows [i - half, m)
    out[m - n + half + 1 :] = (c[m] - c[tail - half]) / (m - tail + half)
    return out


def fill_nans(x: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Linearly interpolate NaNs (constant at the ends); return the filled copy and the mask.

    An all-NaN input comes back unchanged (all NaN) with an all-True mask.
    """
    bad = ~np.isfinite(x)
    if not bad.any() or bad.all():
        return x, bad
    idx = np.arange(len(x))
    out = x.copy()
    out[bad] = np.interp(idx[bad], idx[~bad], x[~bad])
    return out, bad


@functools.lru_cache(maxsize=32)
def butter_sos(order: int, cutoff_hz: tuple[float, ...], btype: str, fs_hz: float) -> FloatArray:
    """Cached Butterworth second-order sections; cut-offs kept below 0.45 fs."""
    nyq_safe = 0.45 * fs_hz
    cut = [min(c, nyq_safe) for c in cutoff_hz]
    wn: float | list[float] = cut[0] if len(cut) == 1 else cut
    sos: FloatArray = sps.butter(order, wn, btype=btype, fs=fs_hz, output="sos")
    return sos


def zero_phase(sos: FloatArray, x: FloatArray) -> FloatArray:
    """Forward-backward filter that tolerates short inputs (padding shrinks to fit)."""
    n = len(x)
    if n < 2:
        return x.astype(np.float64, copy=True)
    padlen = min(3 * (2 * len(sos) + 1), n - 1)
    out: FloatArray = sps.sosfiltfilt(sos, x, padlen=padlen)
    return out


def runs_of(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """Start and stop (exclusive) indices of the runs of True in ``mask``."""
    if len(mask) == 0:
        return EMPTY_INT, EMPTY_INT
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(d == 1).astype(np.int64), np.flatnonzero(d == -1).astype(np.int64)


def _paint(n: int, starts: IntArray, stops: IntArray) -> BoolArray:
    """Boolean mask of length ``n`` that is True on every ``[start, stop)`` interval."""
    marks = (
        np.bincount(starts, minlength=n + 1)[: n + 1] - np.bincount(stops, minlength=n + 1)[: n + 1]
    )
    out: BoolArray = np.cumsum(marks[:n]) > 0
    return out


def close_gaps(mask: BoolArray, max_gap_samples: int) -> BoolArray:
    """Fill runs of False of at most ``max_gap_samples`` samples that lie between runs of True."""
    if max_gap_samples <= 0 or not mask.any():
        return mask
    starts, stops = runs_of(~mask)
    inner = (starts > 0) & (stops < len(mask)) & (stops - starts <= max_gap_samples)
    return mask | _paint(len(mask), starts[inner], stops[inner])


def drop_short(mask: BoolArray, min_samples: int) -> BoolArray:
    """Clear runs of True shorter than ``min_samples`` samples."""
    if min_samples <= 1 or not mask.any():
        return mask
    starts, stops = runs_of(mask)
    keep = stops - starts >= min_samples
    return _paint(len(mask), starts[keep], stops[keep])
