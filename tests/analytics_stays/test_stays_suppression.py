"""Small-cell suppression on hand-made tables."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.stays import suppress_counts


def cells(mask: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(i) for i in idx) for idx in np.argwhere(mask)}


def test_nothing_to_suppress() -> None:
    t = suppress_counts([[10, 20], [30, 40]])
    assert not t.suppressed.any()
    assert not t.row_total_suppressed.any() and not t.column_total_suppressed.any()
    np.testing.assert_array_equal(t.published(), [[10, 20], [30, 40]])
    assert t.grand_total == 100 and not t.grand_total_suppressed


def test_one_small_cell_needs_a_rectangle() -> None:
    t = suppress_counts([[12, 3, 20], [15, 18, 25], [30, 40, 50]])
    assert cells(t.primary) == {(0, 1)}
    # row 0 -> its next-smallest 12; column 1 -> 18; column 0 then has one -> 15
    assert cells(t.secondary) == {(0, 0), (1, 1), (1, 0)}
    # no row or column is left with exactly one suppressed cell
    assert all(n != 1 for n in t.suppressed.sum(axis=0))
    assert all(n != 1 for n in t.suppressed.sum(axis=1))
    published = t.published()
    assert np.isnan(published[0, 1]) and published[2, 2] == 50
    np.testing.assert_array_equal(t.published_row_totals(), [35, 58, 120])


def test_two_small_cells_in_one_row_protect_each_other_along_the_row() -> None:
    t = suppress_counts([[2, 3, 20], [15, 18, 25]])
    assert cells(t.primary) == {(0, 0), (0, 1)}
    # each column then has one suppressed cell -> 15 and 18 below them
    assert cells(t.secondary) == {(1, 0), (1, 1)}


def test_zero_counts_are_small_cells_too() -> None:
    t = suppress_counts([[0, 10], [10, 10]])
    assert cells(t.primary) == {(0, 0)}
    assert cells(t.suppressed) == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_one_dimensional_table() -> None:
    t = suppress_counts([2, 10, 7, 30])
    assert cells(t.primary) == {(0, 0)}
    assert cells(t.secondary) == {(0, 2)}  # the next-smallest, 7
    # in a one-row table the column totals are the cells themselves
    assert t.column_total_suppressed.tolist() == [True, False, True, False]
    assert t.published_row_totals().tolist() == [49.0]


def test_small_totals_are_suppressed_and_protected() -> None:
    t = suppress_counts([[1, 2], [3, 40]])
    assert cells(t.primary) == {(0, 0), (0, 1), (1, 0)}
    assert cells(t.secondary) == {(1, 1)}
    # row total 3 < 5; the other row total goes with it so the grand total does not reveal it
    assert t.row_total_suppressed.tolist() == [True, True]
    assert t.column_total_suppressed.tolist() == [True, True]
    assert not t.grand_total_suppressed
    assert suppress_counts([[1, 1]]).grand_total_suppressed


def test_single_column_suppresses_the_row_total() -> None:
    t = suppress_counts([[3], [10], [12]])
    assert cells(t.primary) == {(0, 0)}
    # the column protects the cell with the next-smallest (10); each row has one cell only,
    # so those rows' totals (equal to the cells) are suppressed as well
    assert cells(t.secondary) == {(1, 0)}
    assert t.row_total_suppressed.tolist() == [True, True, False]


def test_custom_threshold_and_invalid_input() -> None:
    assert not suppress_counts([[5, 6]], threshold=5).suppressed.any()
    assert suppress_counts([[5, 6]], threshold=6).primary.tolist() == [[True, False]]
    with pytest.raises(ValueError, match="non-negative whole"):
        suppress_counts([[1.5, 2]])
    with pytest.raises(ValueError, match="non-negative whole"):
        suppress_counts([[-1, 2]])
    with pytest.raises(ValueError, match="threshold"):
        suppress_counts([[1, 2]], threshold=0)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        suppress_counts(np.zeros((2, 2, 2)))
