"""Propensity-score weights that make the comparison stays look like the programme stays.

The primary case-mix adjustment of the effect estimate. For each reference group g of a
design, a logistic regression of "programme stay vs stay of g" on the covariates (age band,
stay type, admission mobility; main effects) gives the propensity score e(x). Weights:

* ``"att"`` (default): programme stays weight 1, stays of g weight e/(1 - e) (the odds). The
  weighted reference group then has the programme stays' covariate mix, so the contrast is
  the effect on the treated (ATT): the residents who actually get the programme, which is what
  the budget question is about (Hirano, Imbens & Ridder 2003).
* ``"overlap"``: programme stays weight 1 - e, stays of g weight e (Li, Morgan & Zaslavsky
  2018): bounded weights and exact mean balance of the covariates in the model, for the
  population where the groups overlap. Offered for designs with one reference group, when the
  ATT weights are extreme (see the effective sample size in the balance table).

The covariates are categorical, so the fit is done on the counts per covariate pattern (at most
3 x 3 x 4 = 36), vectorised over bootstrap replicates: refitting in every replicate is cheap
and carries the uncertainty of the propensity model into the intervals. A slight ridge penalty
(:data:`RIDGE`) keeps the fit finite when a covariate level occurs in one group only; such a
level is a lack of overlap that the balance table shows.

References
----------
.. [1] Hirano K, Imbens GW, Ridder G. Efficient estimation of average treatment effects using
   the estimated propensity score. Econometrica 2003;71(4):1161-1189.
   doi:10.1111/1468-0262.00442
.. [2] Li F, Morgan KL, Zaslavsky AM. Balancing covariates via propensity score weighting.
   J Am Stat Assoc 2018;113(521):390-400. doi:10.1080/01621459.2016.1260466
.. [3] Austin PC, Stuart EA. Moving towards best practice when using inverse probability of
   treatment weighting (IPTW) using the propensity score to estimate causal treatment effects
   in observational studies. Stat Med 2015;34(28):3661-3679. doi:10.1002/sim.6607
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from analytics.stays._common import FloatArray, IndexArray
from analytics.stays.records import AGE_BANDS, MOBILITY_BANDS, STAY_TYPES, StayRecords

Weighting = Literal["att", "overlap"]

#: Ridge penalty on the non-intercept coefficients (per unit of weight, on the logit scale).
RIDGE: Final = 0.01
_LEVELS: Final = {"age_band": AGE_BANDS, "stay_type": STAY_TYPES, "mobility_band": MOBILITY_BANDS}
_E_CLIP: Final = 1e-6
_MAX_ITER: Final = 60


def pattern_index(records: StayRecords, covariates: Sequence[str]) -> IndexArray:
    """The covariate pattern of each stay, an index into the rows of :func:`design_matrix`."""
    index = np.zeros(len(records), dtype=np.intp)
    for name in covariates:
        levels = _LEVELS[name]
        codes = np.array([levels.index(str(v)) for v in records.covariate(name)], dtype=np.intp)
        index = index * len(levels) + codes
    return index


def design_matrix(covariates: Sequence[str]) -> FloatArray:
    """Intercept and one dummy per level (first level is the reference) for every pattern."""
    sizes = [len(_LEVELS[name]) for name in covariates]
    n_patterns = int(np.prod(sizes)) if sizes else 1
    columns = [np.ones(n_patterns)]
    codes = np.indices(sizes).reshape(len(sizes), -1) if sizes else np.zeros((0, 1), int)
    for k, size in enumerate(sizes):
        for level in range(1, size):
            columns.append((codes[k] == level).astype(np.float64))
    return np.column_stack(columns).astype(np.float64)


def fit_propensity(pos: FloatArray, neg: FloatArray, x: FloatArray) -> FloatArray:
    """Propensity score per pattern from weighted counts, vectorised over replicates.

    Parameters
    ----------
    pos, neg
        Weighted stays per pattern in the target and the reference group, shape (batch, P).
    x
        Design matrix, shape (P, p).

    Returns
    -------
    ndarray
        e(x) per replicate and pattern, shape (batch, P), clipped to [1e-6, 1 - 1e-6].
    """
    batch, p = pos.shape[0], x.shape[1]
    total = pos + neg
    beta = np.zeros((batch, p))
    share = pos.sum(axis=1) / np.maximum(total.sum(axis=1), 1e-12)
    share = np.clip(share, _E_CLIP, 1 - _E_CLIP)
    beta[:, 0] = np.log(share / (1 - share))
    penalty = np.full(p, RIDGE)
    penalty[0] = 0.0
    for _ in range(_MAX_ITER):
        eta = beta @ x.T
        mu = 1.0 / (1.0 + np.exp(-eta))
        w = total * mu * (1 - mu)
        grad = (pos - total * mu) @ x - penalty * beta
        hess = np.einsum("bk,kp,kq->bpq", w, x, x) + np.diag(penalty + 1e-10)
        step = np.linalg.solve(hess, grad[..., np.newaxis])[..., 0]
        beta += step
        if float(np.max(np.abs(step))) < 1e-9:
            break
    e: FloatArray = np.clip(1.0 / (1.0 + np.exp(-(beta @ x.T))), _E_CLIP, 1 - _E_CLIP)
    return e


class _PatternSums:
    """Sums of case weights per covariate pattern, per replicate (one sort, then reduceat)."""

    def __init__(self, pattern: IndexArray) -> None:
        self._order = np.argsort(pattern, kind="stable")
        ordered = pattern[self._order]
        self._starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self._present = ordered[self._starts]

    def __call__(self, weights: FloatArray, n_patterns: int) -> FloatArray:
        out = np.zeros((weights.shape[0], n_patterns))
        if self._order.size:
            out[:, self._present] = np.add.reduceat(weights[:, self._order], self._starts, axis=1)
        return out


class PropensityWeights:
    """Refits the propensity model of target vs one reference group per replicate.

    Parameters
    ----------
    target, reference
        The two groups.
    covariates
        Covariates of the model (main effects).
    weighting
        ``"att"`` or ``"overlap"`` (module docstring).
    """

    def __init__(
        self,
        target: StayRecords,
        reference: StayRecords,
        covariates: Sequence[str],
        weighting: Weighting,
    ) -> None:
        self.covariates = tuple(covariates)
        self.weighting = weighting
        self._x = design_matrix(self.covariates)
        n_patterns = self._x.shape[0]
        self._n_patterns = n_patterns
        self._target_pattern = pattern_index(target, self.covariates)
        self._reference_pattern = pattern_index(reference, self.covariates)
        self._target_sums = _PatternSums(self._target_pattern)
        self._reference_sums = _PatternSums(self._reference_pattern)

    def scores(self, target_w: FloatArray, reference_w: FloatArray) -> FloatArray:
        """e(x) per replicate and pattern for bootstrap case weights of both groups."""
        pos = self._target_sums(target_w, self._n_patterns)
        neg = self._reference_sums(reference_w, self._n_patterns)
        return fit_propensity(pos, neg, self._x)

    def weights(
        self, target_w: FloatArray, reference_w: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Weights per stay (target, reference), shape (batch, n) each, before the bootstrap
        counts are multiplied in."""
        e = self.scores(target_w, reference_w)
        e_t = e[:, self._target_pattern]
        e_r = e[:, self._reference_pattern]
        if self.weighting == "att":
            return np.ones_like(e_t), e_r / (1.0 - e_r)
        return 1.0 - e_t, e_r


@dataclass(frozen=True)
class WeightedBalanceRow:
    """One covariate level: its share in the target and in a reference, before and after."""

    covariate: str
    level: str
    target_count: int
    reference_count: int
    target_share: float
    reference_share_before: float
    reference_share_after: float
    smd_before: float
    smd_after: float


@dataclass(frozen=True)
class WeightedBalance:
    """Balance of one reference group against the target, before and after weighting.

    ``effective_sample_size`` is Kish's (sum w)^2 / sum w^2 of the reference weights: how many
    unweighted stays the weighted group is worth. Far below the group's size means a few stays
    carry the comparison (poor overlap).
    """

    reference: str
    n_reference: int
    effective_sample_size: float
    rows: tuple[WeightedBalanceRow, ...]

    def max_abs_smd_after(self) -> float:
        """Largest absolute standardised difference after weighting (NaNs ignored)."""
        values = [abs(r.smd_after) for r in self.rows if not math.isnan(r.smd_after)]
        return max(values, default=math.nan)

    def max_abs_smd_before(self) -> float:
        """Largest absolute standardised difference before weighting (NaNs ignored)."""
        values = [abs(r.smd_before) for r in self.rows if not math.isnan(r.smd_before)]
        return max(values, default=math.nan)


def standardised_difference(p_t: float, p_r: float) -> float:
    """(p_t - p_r) / sqrt((p_t(1 - p_t) + p_r(1 - p_r)) / 2) for two shares (Austin 2009)."""
    if math.isnan(p_t) or math.isnan(p_r):
        return math.nan
    if p_t == p_r:
        return 0.0
    pooled_sd = math.sqrt((p_t * (1 - p_t) + p_r * (1 - p_r)) / 2)
    return (p_t - p_r) / pooled_sd if pooled_sd > 0 else math.copysign(math.inf, p_t - p_r)


def weighted_balance(
    name: str,
    target: StayRecords,
    reference: StayRecords,
    target_weights: FloatArray,
    reference_weights: FloatArray,
) -> WeightedBalance:
    """Shares of every covariate level (all levels, in a fixed order, so the tables of several
    references line up) in the target and in the reference, unweighted and weighted, with
    their standardised differences."""
    rows: list[WeightedBalanceRow] = []
    for covariate, levels in _LEVELS.items():
        t_col, r_col = target.covariate(covariate), reference.covariate(covariate)
        for level in levels:
            in_t, in_r = t_col == level, r_col == level
            p_t = float(np.sum(target_weights * in_t) / np.sum(target_weights))
            p_before = float(np.mean(in_r)) if in_r.size else math.nan
            p_after = float(np.sum(reference_weights * in_r) / np.sum(reference_weights))
            p_t_raw = float(np.mean(in_t))
            rows.append(
                WeightedBalanceRow(
                    covariate,
                    level,
                    int(np.sum(in_t)),
                    int(np.sum(in_r)),
                    p_t,
                    p_before,
                    p_after,
                    standardised_difference(p_t_raw, p_before),
                    standardised_difference(p_t, p_after),
                )
            )
    ess = float(np.sum(reference_weights) ** 2 / np.sum(reference_weights**2))
    return WeightedBalance(name, len(reference), ess, tuple(rows))
