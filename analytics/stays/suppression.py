"""Small-cell suppression of count tables before they leave the care team.

Rules (DESIGN.md, privacy by design):

1. **Primary**: every cell with a count below the threshold (default 5, zero included) is
   suppressed, and so is every row total, column total or grand total below it.
2. **Secondary**: a row or column with exactly one suppressed cell would give that cell away
   by subtraction from its published total, so the smallest other cell of that line is
   suppressed too (ties: the first). If the line has no other cell, its total is suppressed.
   The same rule protects the totals: the row totals form a line whose total is the grand
   total, and so do the column totals.
3. Repeat until nothing changes.

The rule is conservative on purpose (a line is protected even if its total is itself
suppressed). It prevents exact recovery by subtraction within one line; it does not solve the
full linear-programming problem of disclosure control, so it does not guarantee that a
suppressed cell cannot be narrowed to a small interval by combining several lines (Hundepool
et al. 2012, ch. 4). Tables published outside the municipality should stay small (one
covariate by arm, as in the balance table) where this simple rule is adequate.

References
----------
.. [1] Hundepool A, Domingo-Ferrer J, Franconi L, et al. Statistical Disclosure Control.
   Chichester: Wiley, 2012. doi:10.1002/9781118348239
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from analytics.stays._common import BoolArray, FloatArray, IntArray

#: Counts below this are suppressed.
DEFAULT_THRESHOLD: Final = 5


@dataclass(frozen=True, eq=False)
class SuppressedTable:
    """A count table with what may and may not be published.

    A one-dimensional input is treated as a table of one row; its column totals are then the
    cells themselves and are suppressed with them.

    Attributes
    ----------
    counts
        The original counts (2-D).
    primary, secondary
        Cells suppressed because they are small, and to protect those.
    row_totals, column_totals, grand_total
        The true totals.
    row_total_suppressed, column_total_suppressed, grand_total_suppressed
        Which totals must not be published.
    threshold
        The threshold used.
    """

    counts: IntArray
    primary: BoolArray
    secondary: BoolArray
    row_totals: IntArray
    column_totals: IntArray
    grand_total: int
    row_total_suppressed: BoolArray
    column_total_suppressed: BoolArray
    grand_total_suppressed: bool
    threshold: int

    @property
    def suppressed(self) -> BoolArray:
        """All suppressed cells."""
        mask: BoolArray = self.primary | self.secondary
        return mask

    def published(self) -> FloatArray:
        """The cells as they may be shown: counts, NaN where suppressed."""
        return np.where(self.suppressed, np.nan, self.counts.astype(np.float64))

    def published_row_totals(self) -> FloatArray:
        """Row totals, NaN where suppressed."""
        return np.where(self.row_total_suppressed, np.nan, self.row_totals.astype(np.float64))

    def published_column_totals(self) -> FloatArray:
        """Column totals, NaN where suppressed."""
        return np.where(self.column_total_suppressed, np.nan, self.column_totals.astype(np.float64))


def _protect_line(values: IntArray, mask: BoolArray) -> str:
    """Apply the secondary rule to one line in place.

    Returns ``"changed"`` if a cell was added, ``"alone"`` if the line's only cell is
    suppressed and cannot be protected by another cell, ``""`` otherwise.
    """
    if int(mask.sum()) != 1:
        return ""
    candidates = np.flatnonzero(~mask)
    if candidates.size == 0:
        return "alone"
    mask[candidates[np.argmin(values[candidates])]] = True
    return "changed"


def suppress_counts(
    counts: npt.ArrayLike, *, threshold: int = DEFAULT_THRESHOLD
) -> SuppressedTable:
    """Primary and secondary suppression of a 1-D or 2-D table of counts.

    Parameters
    ----------
    counts
        Non-negative whole numbers.
    threshold
        Counts below it are suppressed (default 5).

    Returns
    -------
    SuppressedTable

    Raises
    ------
    ValueError
        Counts that are negative, not whole, or not 1-D/2-D; a threshold below 1.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError(f"threshold must be a whole number >= 1, got {threshold!r}")
    raw = np.asarray(counts, dtype=np.float64)
    if raw.ndim not in (1, 2):
        raise ValueError(f"counts must be a 1-D or 2-D table, got {raw.ndim} dimensions")
    if np.any(~np.isfinite(raw) | (raw < 0) | (raw != np.round(raw))):
        raise ValueError("counts must be non-negative whole numbers")
    table = np.atleast_2d(raw).astype(np.int64)
    rows, cols = table.shape
    # 1. primary suppression of cells and totals
    primary = table < threshold
    cells = primary.copy()
    row_totals, col_totals = table.sum(axis=1), table.sum(axis=0)
    grand = int(table.sum())
    row_sup, col_sup = row_totals < threshold, col_totals < threshold
    grand_sup = grand < threshold
    # 2.-3. secondary suppression until stable
    changed = True
    while changed:
        changed = False
        for i in range(rows):
            outcome = _protect_line(table[i], cells[i])
            changed |= outcome == "changed"
            if outcome == "alone" and not row_sup[i]:
                row_sup[i] = changed = True
        for j in range(cols):
            column = cells[:, j].copy()
            outcome = _protect_line(table[:, j], column)
            cells[:, j] = column
            changed |= outcome == "changed"
            if outcome == "alone" and not col_sup[j]:
                col_sup[j] = changed = True
        for totals, mask in ((row_totals, row_sup), (col_totals, col_sup)):
            outcome = _protect_line(totals, mask)
            changed |= outcome == "changed"
            if outcome == "alone" and not grand_sup:
                grand_sup = changed = True
    return SuppressedTable(
        counts=table,
        primary=primary,
        secondary=cells & ~primary,
        row_totals=row_totals,
        column_totals=col_totals,
        grand_total=grand,
        row_total_suppressed=row_sup,
        column_total_suppressed=col_sup,
        grand_total_suppressed=grand_sup,
        threshold=threshold,
    )
