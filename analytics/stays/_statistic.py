"""The bootstrap statistic behind the effect estimate: standardised RMST and readmission risk.

Stratified (direct) standardisation to the target's case-mix: for each group g and stratum s,
RMST_gs is the restricted mean of the group's stays in that stratum and r_gs their per-stay
30-day readmission risk; the group's standardised value is ``sum_s w_s * RMST_gs`` with
``w_s`` the share of the target's (intervention) stays in stratum s — an ATT-style weighting:
"what the reference groups would show with the intervention arm's mix of residents".

Resampling, chosen so that every replicate is defined and the target's case-mix uncertainty is
kept:

* the target group is resampled as a whole (its stratum shares, hence the weights, vary);
* each reference group is resampled **within each stratum**. Its own stratum sizes do not enter
  the estimand (only its within-stratum outcomes do), and resampling within strata keeps every
  stratum the target needs non-empty in every replicate.

Each (group, stratum) cell with two or more stays is one sample for
:func:`scipy.stats.bootstrap`, which resamples samples independently; a cell of one stay is the
same in every replicate and is held fixed. The statistic is vectorised over replicates: a
resample is turned into case weights and fed to :func:`analytics.stays._km.weighted_rmst`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.stays._common import FloatArray, IndexArray
from analytics.stays._km import KmLayout, ends_open_before, km_layout, weighted_rmst
from analytics.stays.cohorts import stratum_labels
from analytics.stays.readmission import stay_readmission_outcome
from analytics.stays.records import StayRecords


@dataclass(frozen=True, eq=False)
class _Cell:
    """The stays of one group in one stratum."""

    layout: KmLayout
    known: FloatArray  # 1.0 where the per-stay readmission outcome is known
    readmitted: FloatArray  # 1.0 where known and readmitted
    sample: int | None  # position among the bootstrap samples; None: held fixed (one stay)
    members: IndexArray  # target only: positions of the stratum's stays in the target


def _case_weights(indices: npt.NDArray[Any], n: int) -> FloatArray:
    """Resampled indices of shape (batch, n) -> how often each stay was drawn, (batch, n)."""
    idx = np.asarray(indices, dtype=np.intp)
    batch = idx.shape[0]
    flat = (idx + (np.arange(batch, dtype=np.intp) * n)[:, np.newaxis]).ravel()
    return np.bincount(flat, minlength=batch * n).reshape(batch, n).astype(np.float64)


class StandardisedStatistic:
    """Standardised RMST and readmission risk of a target group and its reference groups.

    Call it as a vectorised ``scipy.stats.bootstrap`` statistic on :attr:`samples`. Output rows
    (each of length batch), with G groups (target first):

    * ``0 .. G-1``: standardised RMST of each group, days;
    * ``G .. 2G-1``: standardised per-stay readmission risk of each group;
    * ``2G``: counterfactual RMST, ``2G + 1``: counterfactual risk (weighted sum of references);
    * ``2G + 2``: bed-days avoided per stay, ``2G + 3``: readmissions avoided per stay
      (counterfactual minus target).

    Attributes
    ----------
    samples
        The data tuple for ``scipy.stats.bootstrap`` (index arrays).
    strata
        Labels of the strata used (those with target stays and stays in every reference).
    weights
        Target share of each stratum.
    counts
        Stays per group (rows, target first) and stratum (columns).
    n_target_unsupported
        Target stays left out because a reference group has no stay in their stratum.
    open_strata
        ``(group, stratum)`` cells whose Kaplan-Meier curve ends before the horizon with stays
        still going on; their curve is held flat to the horizon.
    known_outcomes
        Stays with a known readmission outcome, per group.
    fallbacks
        Replicate cells with no known readmission outcome (counted since the last reset), which
        borrowed the group's pooled risk.
    """

    def __init__(
        self,
        target: StayRecords,
        references: Sequence[StayRecords],
        *,
        counterfactual_weights: Sequence[float],
        stratify_by: Sequence[str],
        horizon_days: float,
    ) -> None:
        if len(counterfactual_weights) != len(references):
            raise ValueError("one counterfactual weight per reference group is needed")
        self._cf = np.asarray(counterfactual_weights, dtype=np.float64)
        groups = (target, *references)
        labels = [stratum_labels(g, stratify_by) for g in groups]
        # 1. strata with support: target stays there and at least one stay of every reference
        target_strata = np.unique(labels[0])
        supported = [
            s for s in target_strata.tolist() if all(np.any(lab == s) for lab in labels[1:])
        ]
        in_support = np.isin(labels[0], supported)
        self.n_target_unsupported = int(np.sum(~in_support))
        self.strata: tuple[str, ...] = tuple(supported)
        self._n_target = int(np.sum(in_support))
        target_labels = labels[0][in_support]
        groups = (target.subset(in_support), *references)
        labels[0] = target_labels
        # 2. one cell per group and stratum
        samples: list[IndexArray] = [np.arange(self._n_target, dtype=np.intp)]
        self._cells: list[list[_Cell]] = []
        self.open_strata: list[tuple[int, str]] = []
        counts = np.zeros((len(groups), len(supported)), dtype=np.int64)
        self.known_outcomes: list[int] = []
        self._pooled_point: list[float] = []
        for g, (records, lab) in enumerate(zip(groups, labels, strict=True)):
            known, readmitted = stay_readmission_outcome(records)
            row: list[_Cell] = []
            known_in_support = 0
            readmitted_in_support = 0
            for s, stratum in enumerate(supported):
                members = np.flatnonzero(lab == stratum).astype(np.intp)
                counts[g, s] = members.size
                known_in_support += int(np.sum(known[members]))
                readmitted_in_support += int(np.sum(readmitted[members]))
                layout = km_layout(
                    records.los_days[members], records.discharged[members], horizon_days
                )
                if ends_open_before(layout, horizon_days):
                    self.open_strata.append((g, stratum))
                sample: int | None = None
                if g > 0 and members.size >= 2:
                    sample = len(samples)
                    samples.append(np.arange(members.size, dtype=np.intp))
                row.append(
                    _Cell(
                        layout=layout,
                        known=known[members].astype(np.float64),
                        readmitted=readmitted[members].astype(np.float64),
                        sample=sample,
                        members=members,
                    )
                )
            self._cells.append(row)
            self.known_outcomes.append(known_in_support)
            self._pooled_point.append(
                readmitted_in_support / known_in_support if known_in_support else 0.0
            )
        self.samples: tuple[IndexArray, ...] = tuple(samples)
        self.counts = counts
        self.weights: FloatArray = (
            counts[0] / self._n_target if self._n_target else np.zeros(len(supported))
        )
        self.fallbacks = 0

    @property
    def n_groups(self) -> int:
        """Number of groups, target included."""
        return len(self._cells)

    def point(self) -> FloatArray:
        """The statistic on the original data (each stay drawn once), shape (rows,)."""
        value = self(*(s[np.newaxis, :] for s in self.samples))
        return value[:, 0]

    def __call__(self, *samples: npt.NDArray[Any], axis: int = -1) -> FloatArray:
        """The statistic for a batch of resamples; every sample has shape (batch, n)."""
        del axis  # scipy moves the resampled axis last; the samples are one-dimensional
        batch = samples[0].shape[0]
        n_strata = len(self.strata)
        target_weights = _case_weights(samples[0], self._n_target)
        cells0 = self._cells[0]
        stratum_weights = np.empty((batch, n_strata))
        for s, cell in enumerate(cells0):
            stratum_weights[:, s] = target_weights[:, cell.members].sum(axis=1)
        stratum_weights /= max(self._n_target, 1)
        g_count = self.n_groups
        rmst = np.empty((g_count, batch))
        risk = np.empty((g_count, batch))
        for g, cells in enumerate(self._cells):
            cell_rmst = np.empty((batch, n_strata))
            num = np.empty((batch, n_strata))
            den = np.empty((batch, n_strata))
            for s, cell in enumerate(cells):
                if g == 0:
                    w = target_weights[:, cell.members]
                elif cell.sample is not None:
                    w = _case_weights(samples[cell.sample], cell.known.size)
                else:
                    w = np.ones((batch, cell.known.size))
                cell_rmst[:, s] = weighted_rmst(cell.layout, w)
                num[:, s] = w @ cell.readmitted
                den[:, s] = w @ cell.known
            rmst[g] = np.sum(stratum_weights * cell_rmst, axis=1)
            cell_risk = self._cell_risk(g, num, den, stratum_weights > 0)
            risk[g] = np.sum(stratum_weights * cell_risk, axis=1)
        cf_rmst = self._cf @ rmst[1:]
        cf_risk = self._cf @ risk[1:]
        out: FloatArray = np.vstack(
            [rmst, risk, cf_rmst, cf_risk, cf_rmst - rmst[0], cf_risk - risk[0]]
        )
        return out

    def _cell_risk(
        self, g: int, num: FloatArray, den: FloatArray, weighted: npt.NDArray[np.bool_]
    ) -> FloatArray:
        """Risk per stratum; a stratum with no known outcome borrows the pooled risk.

        Only strata that carry weight in the replicate are counted as fallbacks: a target
        stratum that drew no stays has weight 0 and its risk does not matter.
        """
        empty = den <= 0
        if not np.any(empty):
            risk: FloatArray = num / den
            return risk
        self.fallbacks += int(np.sum(empty & weighted))
        pooled_num, pooled_den = num.sum(axis=1), den.sum(axis=1)
        pooled = np.divide(
            pooled_num,
            pooled_den,
            out=np.full(pooled_num.shape, self._pooled_point[g]),
            where=pooled_den > 0,
        )
        risk = np.divide(num, den, out=np.zeros_like(num), where=~empty)
        return np.where(empty, pooled[:, np.newaxis], risk)
