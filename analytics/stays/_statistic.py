"""The statistic behind the effect estimate, and the resident bootstrap that resamples it.

Each group of a design (target first, then the references) gets one Kaplan-Meier layout, its
per-stay readmission outcome with complete-follow-up weights
(:func:`~analytics.stays.readmission.complete_follow_up_weights`), and a map from stays to
residents. A bootstrap replicate is a vector of case weights per group: how often each stay's
*resident* was drawn (:meth:`EffectStatistic.draw`), so the several stays of one resident move
together (Davison & Hinkley 1997, section 3.8). The statistic is vectorised over replicates.

Two adjustments for case mix:

* ``"weighting"`` (primary): every reference group is weighted to the target's covariate mix by
  propensity-score weights refitted in every replicate (:mod:`analytics.stays.weighting`); the
  RMST and readmission risk of each group come from its weighted stays.
* ``"stratification"`` (sensitivity): RMST and risk per (group, stratum) cell, standardised
  to the target's stratum shares (direct standardisation, Nieto & Coresh 1996); target stays
  in strata some reference lacks are left out.

Output rows (each of length batch), with G groups: ``0 .. G-1`` RMST per group (days);
``G .. 2G-1`` per-stay readmission risk per group; ``2G`` counterfactual RMST; ``2G + 1``
counterfactual risk; ``2G + 2`` bed-days avoided per stay; ``2G + 3`` readmissions avoided
per stay. The counterfactual is ``sum_k c_k * value(reference k)``.

References
----------
.. [1] Davison AC, Hinkley DV. Bootstrap Methods and their Application. Cambridge: Cambridge
   University Press, 1997. doi:10.1017/CBO9780511802843
.. [2] Nieto FJ, Coresh J. Adjusting survival curves for confounders: a review and a new
   method. Am J Epidemiol 1996;143(10):1059-1068. doi:10.1093/oxfordjournals.aje.a008670
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from analytics.stays._common import FloatArray, IndexArray
from analytics.stays._km import KmLayout, km_layout, weighted_rmst_and_open
from analytics.stays.cohorts import stratum_labels
from analytics.stays.readmission import complete_follow_up_weights
from analytics.stays.records import StayRecords
from analytics.stays.weighting import PropensityWeights, Weighting

Adjustment = Literal["weighting", "stratification"]


@dataclass(frozen=True, eq=False)
class _Cell:
    """Stays of one group (in one stratum, for stratification)."""

    members: IndexArray  # positions in the group
    layout: KmLayout
    known: FloatArray  # 1.0 where the readmission outcome has complete follow-up
    readmitted: FloatArray  # 1.0 where known and readmitted
    ipcw: FloatArray  # inverse probability of complete follow-up (0 where not known)


@dataclass(frozen=True, eq=False)
class _Group:
    name: str
    records: StayRecords
    resident_index: IndexArray  # per stay: index of its resident within the group
    n_residents: int
    cells: tuple[_Cell, ...]  # one cell (weighting) or one per stratum (stratification)


def _cell(records: StayRecords, members: IndexArray, horizon_days: float) -> _Cell:
    known, readmitted, ipcw = complete_follow_up_weights(records)
    return _Cell(
        members=members,
        layout=km_layout(records.los_days[members], records.discharged[members], horizon_days),
        known=known[members].astype(np.float64),
        readmitted=readmitted[members].astype(np.float64),
        ipcw=ipcw[members],
    )


class EffectStatistic:
    """Adjusted RMST and readmission risk of a target group and its references.

    Parameters
    ----------
    groups
        (name, stays) per group, target first.
    counterfactual_weights
        One per reference group.
    covariates
        Covariates of the propensity model or of the strata.
    adjustment, weighting
        See the module docstring and :mod:`analytics.stays.weighting`.
    horizon_days
        RMST horizon (already checked to be reached by every cell).

    Attributes
    ----------
    strata
        Strata used (stratification), or ``("all stays",)``.
    stratum_weights
        Target share of each stratum.
    counts
        Stays per group (rows) and stratum (columns).
    n_target_unsupported
        Target stays in strata some reference lacks (stratification), left out.
    open_replicates, empty_cells, risk_fallbacks
        Counted since the last :meth:`reset_counts`: replicate curves that ended open before
        the horizon (held flat), replicate cells without stays (took the point value), and
        replicate cells without a known readmission outcome (took the group's pooled risk).
    """

    def __init__(
        self,
        groups: Sequence[tuple[str, StayRecords]],
        *,
        counterfactual_weights: Sequence[float],
        covariates: Sequence[str],
        adjustment: Adjustment,
        weighting: Weighting,
        horizon_days: float,
    ) -> None:
        if len(counterfactual_weights) != len(groups) - 1:
            raise ValueError("one counterfactual weight per reference group is needed")
        self._cf = np.asarray(counterfactual_weights, dtype=np.float64)
        self.adjustment: Adjustment = adjustment
        self.covariates = tuple(covariates)
        target = groups[0][1]
        if adjustment == "stratification":
            labels = [stratum_labels(g, self.covariates) for _, g in groups]
            supported = [
                s
                for s in np.unique(labels[0]).tolist()
                if all(np.any(lab == s) for lab in labels[1:])
            ]
            in_support = np.isin(labels[0], supported)
            self.n_target_unsupported = int(np.sum(~in_support))
            target = target.subset(in_support)
            labels[0] = labels[0][in_support]
            groups = [(groups[0][0], target), *groups[1:]]
            self.strata: tuple[str, ...] = tuple(supported)
        else:
            labels = [np.full(len(g), "all stays") for _, g in groups]
            self.n_target_unsupported = 0
            self.strata = ("all stays",)
        self._groups: list[_Group] = []
        counts = np.zeros((len(groups), len(self.strata)), dtype=np.int64)
        for g, ((name, records), lab) in enumerate(zip(groups, labels, strict=True)):
            cells = []
            for s, stratum in enumerate(self.strata):
                members = np.flatnonzero(lab == stratum).astype(np.intp)
                counts[g, s] = members.size
                cells.append(_cell(records, members, horizon_days))
            residents, index = np.unique(records.resident_id, return_inverse=True)
            self._groups.append(
                _Group(name, records, index.astype(np.intp), int(residents.size), tuple(cells))
            )
        self.counts = counts
        n_target = max(int(counts[0].sum()), 1)
        self.stratum_weights: FloatArray = counts[0] / n_target
        self._point_cells: FloatArray | None = None
        self.reset_counts()
        self._propensity = (
            [
                PropensityWeights(target, g.records, self.covariates, weighting)
                for g in self._groups[1:]
            ]
            if adjustment == "weighting" and self.covariates
            else []
        )
        self._point_cells = self._cell_values(self._unit_weights())[0][:, :, 0]
        self.reset_counts()

    @property
    def n_groups(self) -> int:
        """Number of groups, target included."""
        return len(self._groups)

    @property
    def group_names(self) -> tuple[str, ...]:
        """Group names, target first."""
        return tuple(g.name for g in self._groups)

    @property
    def groups(self) -> tuple[StayRecords, ...]:
        """The stays of each group as used (target restricted to supported strata)."""
        return tuple(g.records for g in self._groups)

    def reset_counts(self) -> None:
        """Set the replicate counters to zero."""
        self.open_replicates = 0
        self.empty_cells = 0
        self.risk_fallbacks = 0

    def _unit_weights(self) -> list[FloatArray]:
        return [np.ones((1, len(g.records))) for g in self._groups]

    def draw(self, rng: np.random.Generator, batch: int) -> list[FloatArray]:
        """Case weights of one batch of resident-bootstrap replicates, one array per group.

        Residents are drawn with replacement within each group (as many as the group has);
        a stay's weight is how often its resident was drawn.
        """
        out = []
        for g in self._groups:
            n = g.n_residents
            drawn = rng.integers(0, n, size=(batch, n))
            flat = (drawn + (np.arange(batch) * n)[:, np.newaxis]).ravel()
            counts = np.bincount(flat, minlength=batch * n).reshape(batch, n)
            out.append(counts[:, g.resident_index].astype(np.float64))
        return out

    def propensity_weights(self, boot: Sequence[FloatArray]) -> list[FloatArray]:
        """Adjustment weights per group and stay for the replicates (ones if none)."""
        if not self._propensity:
            return [np.ones_like(b) for b in boot]
        target_w = np.ones_like(boot[0])
        out: list[FloatArray] = []
        for k, ps in enumerate(self._propensity):
            t_w, r_w = ps.weights(boot[0], boot[k + 1])
            out.append(r_w)
            if ps.weighting == "overlap":
                target_w = t_w  # overlap weighting has one reference group only
        return [target_w, *out]

    def _cell_values(self, boot: Sequence[FloatArray]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """RMST, readmission numerator and denominator per group, stratum and replicate."""
        adjust = self.propensity_weights(boot)
        batch = boot[0].shape[0]
        shape = (self.n_groups, len(self.strata), batch)
        rmst, num, den = np.empty(shape), np.empty(shape), np.empty(shape)
        for g, group in enumerate(self._groups):
            weights = boot[g] * adjust[g]
            for s, cell in enumerate(group.cells):
                w = weights[:, cell.members]
                rmst[g, s], is_open = weighted_rmst_and_open(cell.layout, w)
                self.open_replicates += int(np.sum(is_open))
                empty = w.sum(axis=1) <= 0
                if np.any(empty) and self._point_cells is not None:
                    self.empty_cells += int(np.sum(empty))
                    rmst[g, s, empty] = self._point_cells[g, s]
                wk = w * cell.ipcw
                num[g, s] = wk @ cell.readmitted
                den[g, s] = wk @ cell.known
        return rmst, num, den

    def __call__(self, boot: Sequence[FloatArray]) -> FloatArray:
        """The statistic for one batch of case weights (one (batch, n_g) array per group)."""
        rmst_cells, num, den = self._cell_values(boot)
        target = boot[0]
        shares = np.stack(
            [target[:, cell.members].sum(axis=1) for cell in self._groups[0].cells], axis=1
        )
        shares /= np.maximum(shares.sum(axis=1, keepdims=True), 1e-12)
        rmst = np.einsum("gsb,bs->gb", rmst_cells, shares)
        empty = den <= 0
        pooled = num.sum(axis=1) / np.maximum(den.sum(axis=1), 1e-300)
        weighted = shares.T[np.newaxis, :, :] > 0
        self.risk_fallbacks += int(np.sum(empty & weighted))
        cell_risk = np.where(empty, pooled[:, np.newaxis, :], num / np.where(empty, 1.0, den))
        risk = np.einsum("gsb,bs->gb", cell_risk, shares)
        cf_rmst = self._cf @ rmst[1:]
        cf_risk = self._cf @ risk[1:]
        out: FloatArray = np.vstack(
            [rmst, risk, cf_rmst, cf_risk, cf_rmst - rmst[0], cf_risk - risk[0]]
        )
        return out

    def point(self) -> FloatArray:
        """The statistic on the data as they are (every stay drawn once), shape (rows,)."""
        value = self(self._unit_weights())
        self.reset_counts()
        return value[:, 0]

    def known_outcomes(self) -> list[int]:
        """Stays with a complete-follow-up readmission outcome, per group."""
        return [int(sum(c.known.sum() for c in g.cells)) for g in self._groups]

    def point_weights(self) -> list[FloatArray]:
        """Adjustment weights of the point estimate per group (for the balance table)."""
        return [w[0] for w in self.propensity_weights(self._unit_weights())]
