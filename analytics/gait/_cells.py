"""Per-cell sums of samples already in cell order, and the flags and fills of cells: the
binning's inner loops (private).

A cell of the 10-Hz working grid holds the samples of 0.1 s, five at 50 Hz, consecutive in the
day's arrays. :func:`cell_sums` adds them in float64 in exactly the order one of two numpy
routines does, so that a result is the same to the last bit whichever computed it:

``"bincount"``
    ``np.bincount(cell, weights=x)``: ``((0 + x0) + x1) + ...``, sample by sample.
``"reduceat"``
    ``np.add.reduceat(x, first)``: ``x0 + pairwise(x1, ..., x[c-1])``, with numpy's pairwise
    summation (eight partial sums from eight values on; numpy's ``loops_utils.h.src``).

It is several times faster because it does not go cell by cell: where consecutive cells hold
the same number of samples (almost everywhere), those cells are one ``(channels, cells,
samples per cell)`` view of the input, and the sum is one vectorised addition per sample
position; the other cells are gathered by count and summed the same way. Float32 input is
summed in float64 without a converted copy (the conversion is exact). Channels go along the
first axis and samples along the last, so that with channel-major input every addition runs
over a contiguous output.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from analytics.gait._arrays import BoolArray, FloatArray, IntArray

__all__ = ["SumOrder", "cell_sums", "channel_group_sums", "clipped_cells", "fill_cells"]

SumOrder = Literal["bincount", "reduceat"]

MIN_BLOCK_CELLS = 16
"""Consecutive cells of one count summed as one view; the others are gathered by count."""

_PW_BLOCK = 128  # numpy's PW_BLOCKSIZE

_GROUPS = ((0, 3), (3, 6), (6, 7), (7, 8), (8, 9), (9, 10))
"""Rows of a walker's channel groups: acc, gyro, odo_l, odo_r, force_l, force_r."""
_WALKER_ORDERS: tuple[tuple[slice, SumOrder], ...] = (
    (slice(0, 6), "reduceat"),  # how the binning adds the (n, 3) groups
    (slice(6, 10), "bincount"),  # and the single channels
)


def _pairwise(v: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """``v`` summed along its last axis as numpy's pairwise summation adds a run of values."""
    n = v.shape[-1]
    if n < 8:
        # numpy starts from -0.0, and -0.0 + a is a for every a: start from the first value.
        res: npt.NDArray[np.float64] = v[..., 0].astype(np.float64)
        for i in range(1, n):
            np.add(res, v[..., i], out=res)
        return res
    if n <= _PW_BLOCK:
        r = np.moveaxis(v[..., 0:8], -1, 0).astype(np.float64)  # the eight partial sums
        i = 8
        while i < n - n % 8:
            np.add(r, np.moveaxis(v[..., i : i + 8], -1, 0), out=r)
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for j in range(i, n):
            np.add(res, v[..., j], out=res)
        return res
    half = n // 2
    half -= half % 8
    out: npt.NDArray[np.float64] = _pairwise(v[..., :half]) + _pairwise(v[..., half:])
    return out


def _sum_cells(v: npt.NDArray[Any], order: SumOrder, out: npt.NDArray[np.float64]) -> None:
    """Sum ``v`` of shape ``(..., cells, c)`` along its last axis into ``out`` in ``order``."""
    c = v.shape[-1]
    if order == "reduceat":
        if c == 1:
            out[...] = v[..., 0]
        else:
            np.add(v[..., 0], _pairwise(v[..., 1:]), out=out)
        return
    if c == 1:
        np.add(v[..., 0], 0.0, out=out, dtype=np.float64)
        return
    np.add(v[..., 0], v[..., 1], out=out, dtype=np.float64)
    for p in range(2, c):
        np.add(out, v[..., p], out=out)
    # Sample by sample from 0.0 equals from the first sample, but for the sign of a zero: an
    # all-(-0.0) cell is 0.0 in bincount, -0.0 here; adding 0.0 makes it 0.0 and changes
    # nothing else.
    np.add(out, 0.0, out=out)


def cell_sums(
    x: npt.NDArray[Any],
    first: npt.NDArray[np.int64],
    orders: tuple[tuple[slice, SumOrder], ...] = ((slice(None), "reduceat"),),
) -> npt.NDArray[np.float64]:
    """Sums of ``x[..., first[j]:first[j + 1]]`` (the last to the end) along the last axis.

    Parameters
    ----------
    x : ndarray of float32 or float64, shape (n,) or (k, n)
        Samples in cell order (for several channels, one row each).
    first : ndarray of int64, shape (m,)
        Index of the first sample of each cell: ``first[0] == 0``, strictly increasing,
        ``first[-1] < n``.
    orders : tuple of (slice, order)
        Which order of addition to follow (module docstring) for which rows of ``x``; for a
        1-D ``x``, one entry (its slice is not used).

    Returns
    -------
    ndarray of float64, shape (m,) or (k, m)
        Bit for bit what the named numpy routine gives for those rows.
    """
    m = len(first)
    out = np.empty((*x.shape[:-1], m), dtype=np.float64)
    if m == 0:
        return out
    count = np.diff(first, append=x.shape[-1])
    # Stretches of consecutive cells with the same count: views of the input.
    change = np.flatnonzero(count[1:] != count[:-1]) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [m]))
    block = (stops - starts) >= MIN_BLOCK_CELLS
    rows = [slice(None)] if x.ndim == 1 else [columns for columns, _order in orders]
    for a, b in zip(starts[block].tolist(), stops[block].tolist(), strict=True):
        c = int(count[a])
        cells = x[..., first[a] : first[a] + c * (b - a)].reshape(*x.shape[:-1], b - a, c)
        for r, (_rows, order) in zip(rows, orders, strict=False):
            _sum_cells(cells[r], order, out[r][..., a:b])
    # The other cells, gathered by their count.
    rest = np.flatnonzero(np.repeat(~block, stops - starts))
    for c in np.unique(count[rest]).tolist():
        which = rest[count[rest] == c]
        cells = x[..., first[which][:, None] + np.arange(c)]
        part = np.empty((*x.shape[:-1], len(which)), dtype=np.float64)
        for r, (_rows, order) in zip(rows, orders, strict=False):
            _sum_cells(cells[r], order, part[r])
        out[..., which] = part
    return out


def channel_group_sums(
    packed: npt.NDArray[Any], cells: npt.NDArray[np.int64], first: npt.NDArray[np.int64], m: int
) -> list[npt.NDArray[np.float64] | None]:
    """The cell sums of a walker's channel groups, for ``WalkerSignals``' binning.

    ``packed`` holds the ten channels one row each (``(10, n)``, samples in cell order);
    ``first`` the first sample of each non-empty cell and ``cells`` its cell on a grid of
    ``m``. Returns per group (acc ``(m, 3)``, gyro ``(m, 3)``, odo_l, odo_r, force_l, force_r
    ``(m,)``) the sums as the binning adds them (the (n, 3) groups as reduceat does, the single
    channels as bincount does; 0 in empty cells), or None for a group with a missing (not
    finite) value, which the binning treats apart.
    """
    sums = np.zeros((len(packed), m))
    sums[:, cells] = cell_sums(packed, first, _WALKER_ORDERS)
    finite = np.isfinite(sums).all(axis=1).reshape(-1)
    out: list[npt.NDArray[np.float64] | None] = [None] * len(_GROUPS)
    for g, (c0, c1) in enumerate(_GROUPS):
        if finite[c0:c1].all():
            out[g] = np.ascontiguousarray(sums[c0:c1].T) if c1 - c0 > 1 else sums[c0].copy()
    return out


def clipped_cells(cell: IntArray, m: int, xs: list[npt.NDArray[Any]], hi: float) -> BoolArray:
    """Cells where any of ``xs`` reaches ``hi`` (a clipped reading)."""
    hit = np.zeros(m + 1, dtype=bool)
    for x in xs:
        top = float(np.max(x))
        if not np.isfinite(top):  # NaNs present: the slower path
            top = float(np.fmax.reduce(x))
        if top >= hi:
            with np.errstate(invalid="ignore"):
                hit[cell[np.flatnonzero(x >= hi)]] = True
    return hit[:m]


def fill_cells(x: FloatArray, in_run: BoolArray) -> FloatArray:
    """Interpolate NaN cells (inside runs) per column; a column with no value becomes 0."""
    if np.isfinite(np.sum(x)):
        return x
    cols = x.reshape(len(x), -1)
    idx = np.arange(len(x))
    for j in range(cols.shape[1]):
        c = cols[:, j]
        known = np.isfinite(c) & in_run
        if not known.any():
            c[:] = 0.0
        elif not known[in_run].all():
            todo = in_run & ~known
            c[todo] = np.interp(idx[todo], idx[known], c[known])
    out: FloatArray = np.where(in_run.reshape(-1, *([1] * (x.ndim - 1))), x, 0.0)
    return out
