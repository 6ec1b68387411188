"""cell_sums: the same sums, to the last bit, as the numpy routines the binning used to call."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from analytics.gait._cells import cell_sums

ROWS = ((slice(0, 6), "reduceat"), (slice(6, 10), "bincount"))


def _same(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> bool:
    # Bytes, not values: a -0.0 for a 0.0 or another NaN would count as a difference.
    return a.shape == b.shape and np.ascontiguousarray(a).tobytes() == b.tobytes()


def _case(seed: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Samples over eleven decades, zeros of both signs; counts of one to 1,500 per cell."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4000))
    x = rng.normal(size=(n, 10)) * 10 ** rng.uniform(-3, 8, size=(n, 10))
    x[rng.random(x.shape) < 0.05] = -0.0
    x[rng.random(x.shape) < 0.02] = 0.0
    if seed % 7 == 0:
        x[: n // 2] = -0.0
    count = [
        rng.integers(1, 8, n),  # irregular
        np.where(rng.random(n) < 0.95, 5, rng.integers(1, 25, n)),  # 50 Hz with jitter
        np.full(n, int(rng.integers(1, 300))),  # one rate, up to pairwise's recursion
        rng.integers(1, 1500, n),
    ][seed % 4]
    first = np.concatenate(([0], np.cumsum(count)))
    return x, first[first < n].astype(np.int64)


@pytest.mark.parametrize("seed", range(120))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cell_sums_are_the_reduceat_and_bincount_sums(seed: int, dtype: type) -> None:
    x, first = _case(seed)
    x = x.astype(dtype)
    x64 = x.astype(np.float64)
    n = len(x)
    cell = np.repeat(np.arange(len(first)), np.diff(first, append=n))
    by_reduceat = np.add.reduceat(x64, first, axis=0)
    by_bincount = np.column_stack([np.bincount(cell, weights=x64[:, j]) for j in range(10)])
    channel_major = np.ascontiguousarray(x.T)
    both = cell_sums(channel_major, first, ROWS)
    assert _same(both[:6].T, by_reduceat[:, :6])
    assert _same(both[6:].T, by_bincount[:, 6:])
    assert _same(cell_sums(x[:, :3].T, first).T, by_reduceat[:, :3])  # a strided view
    one = ((slice(None), "bincount"),)
    assert _same(cell_sums(np.ascontiguousarray(x[:, 7]), first, one), by_bincount[:, 7])


def test_cell_sums_of_nothing() -> None:
    assert cell_sums(np.zeros((10, 0), np.float32), np.zeros(0, np.int64), ROWS).shape == (10, 0)
