"""The programme's effect per stay: bed-days and readmissions avoided, with bootstrap intervals.

Processing steps of :func:`estimate_effect`:

1. Form the groups of the design (:func:`~analytics.stays.cohorts.select_cohorts`).
2. Case mix. Primary: propensity-score weights that give every reference group the programme
   stays' mix of age band, stay type and admission mobility (:mod:`analytics.stays.weighting`;
   ATT). Sensitivity: stratification (direct standardisation); strata with fewer than
   :data:`MIN_STAYS_PER_CELL` stays in some group are merged by dropping covariates in the
   order admission mobility, stay type, age band (:func:`_merge_sparse_strata`).
3. Horizon. A Kaplan-Meier curve is never extended past its follow-up: the horizon is
   shortened to the day every group (every cell) reaches with at least
   :data:`~analytics.stays._km.MIN_AT_RISK` stays still under observation
   (:func:`~analytics.stays._km.follow_up_reach`); below :data:`MIN_HORIZON_DAYS` the estimator
   refuses and names the group that is short of follow-up.
4. Per group, the RMST to the horizon and the per-stay 30-day readmission risk from stays with
   complete follow-up, weighted by the inverse probability of complete follow-up
   (:func:`~analytics.stays.readmission.complete_follow_up_weights`).
5. Counterfactual = the reference group (historical, concurrent) or ``before + (comparison
   after - comparison before)`` (difference-in-differences); effects = counterfactual minus
   programme.
6. 95% percentile intervals from a bootstrap that resamples **residents** within each group
   (:data:`DEFAULT_N_RESAMPLES` = 10,000 for published figures), refitting the propensity
   model in every replicate.
7. E-values for unmeasured confounding (VanderWeele & Ding 2017).

Why the percentile method: every money figure is computed from the same replicates
(:mod:`analytics.stays.money`), and percentile intervals respect monotone transformations, so
derived figures line up with the effect's interval.

References
----------
.. [1] Royston P, Parmar MKB. Restricted mean survival time. BMC Med Res Methodol
   2013;13:152. doi:10.1186/1471-2288-13-152
.. [2] Li F, Morgan KL, Zaslavsky AM. Balancing covariates via propensity score weighting.
   J Am Stat Assoc 2018;113(521):390-400. doi:10.1080/01621459.2016.1260466
.. [3] VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing
   the E-value. Ann Intern Med 2017;167(4):268-274. doi:10.7326/M16-2607
.. [4] Efron B, Tibshirani RJ. An Introduction to the Bootstrap. New York: Chapman & Hall,
   1993. doi:10.1201/9780429246593
.. [5] Wing C, Simon K, Bello-Gomez RA. Designing difference in difference studies.
   Annu Rev Public Health 2018;39:453-469. doi:10.1146/annurev-publhealth-040617-013507
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Sequence
from typing import Final

import numpy as np

from analytics.stays._common import (
    Estimate,
    check_confidence_level,
    check_horizon,
    percentile_interval,
)
from analytics.stays._km import MIN_AT_RISK
from analytics.stays._statistic import Adjustment, EffectStatistic
from analytics.stays.cohorts import Design, check_covariates, select_cohorts
from analytics.stays.effect_result import (
    EffectEstimate,
    EffectReplicates,
    GroupSummary,
    StratumSummary,
)
from analytics.stays.errors import InsufficientData
from analytics.stays.evalue import e_value_difference, e_value_ratio
from analytics.stays.follow_up import (
    MIN_HORIZON_DAYS,
    MIN_STAYS_PER_CELL,
    choose_horizon,
    merge_sparse_strata,
)
from analytics.stays.records import COVARIATES, StayRecords
from analytics.stays.survival import DEFAULT_HORIZON_DAYS
from analytics.stays.weighting import WeightedBalance, Weighting, weighted_balance

__all__ = [
    "DEFAULT_N_RESAMPLES",
    "MIN_HORIZON_DAYS",
    "MIN_KNOWN_OUTCOMES_PER_GROUP",
    "MIN_STAYS_PER_CELL",
    "MIN_STAYS_PER_GROUP",
    "EffectEstimate",
    "EffectReplicates",
    "GroupSummary",
    "StratumSummary",
    "difference_in_differences",
    "estimate_effect",
    "point_effect",
]

logger = logging.getLogger(__name__)

#: Fewest stays a group may have: below it a figure could not be published anyway (n < 5).
MIN_STAYS_PER_GROUP: Final = 5
#: Fewest known readmission outcomes per group for a readmission effect.
MIN_KNOWN_OUTCOMES_PER_GROUP: Final = 5
#: Bootstrap resamples for published figures.
DEFAULT_N_RESAMPLES: Final = 10_000
#: Resamples per batch x stays of all groups: keeps the arrays of one batch in cache.
_BATCH_ELEMENTS: Final = 400_000


def _resolve_seed(seed: int | None) -> int:
    if seed is None:
        # Draw one so the result still records a seed that reproduces it.
        return secrets.randbits(63)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def estimate_effect(
    records: StayRecords,
    *,
    design: Design | str | None = None,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    adjustment: Adjustment = "weighting",
    weighting: Weighting = "att",
    stratify_by: Sequence[str] | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    seed: int | None = None,
) -> EffectEstimate:
    """Bed-days and readmissions avoided per intervention stay, with bootstrap intervals.

    Parameters
    ----------
    records
        All stays (the design picks its groups from ``arm`` and ``period``).
    design
        ``"historical"``, ``"concurrent"``, ``"difference-in-differences"`` or None to infer
        (concurrent if comparison wards have stays after go-live, else historical).
    horizon_days
        RMST horizon asked for, days (default 60); shortened if follow-up is too short.
    adjustment
        ``"weighting"`` (propensity scores, primary) or ``"stratification"`` (sensitivity).
    weighting
        ``"att"`` or ``"overlap"`` (overlap: designs with one reference group only).
    stratify_by
        Covariates to adjust for; None: age band, stay type and admission mobility.
    n_resamples
        Bootstrap resamples (default 10,000; at least 100).
    confidence_level
        Interval level (default 0.95).
    seed
        Seed of the resampling; None draws one and records it in the result.

    Raises
    ------
    InsufficientData
        A group has fewer than :data:`MIN_STAYS_PER_GROUP` stays, the design's groups are
        missing, or some group's follow-up does not reach :data:`MIN_HORIZON_DAYS`.
    ValueError
        Invalid arguments.
    """
    # 0. arguments
    requested = check_horizon(horizon_days)
    level = check_confidence_level(confidence_level)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an integer of at least 100, got {n_resamples!r}")
    if adjustment not in ("weighting", "stratification"):
        raise ValueError(f"adjustment must be 'weighting' or 'stratification', got {adjustment!r}")
    if weighting not in ("att", "overlap"):
        raise ValueError(f"weighting must be 'att' or 'overlap', got {weighting!r}")
    seed_used = _resolve_seed(seed)
    # 1. groups of the design
    cohorts = select_cohorts(records, design)
    if weighting == "overlap" and len(cohorts.references) > 1:
        raise ValueError("overlap weights need a design with one reference group")
    by = COVARIATES if stratify_by is None else check_covariates(stratify_by)
    for group in cohorts.groups:
        if len(group.records) < MIN_STAYS_PER_GROUP:
            raise InsufficientData(
                f"effect estimate ({cohorts.design.value} design)",
                n_available=len(group.records),
                n_required=MIN_STAYS_PER_GROUP,
                detail=f"group {group.name} has {len(group.records)} stays",
            )
    # 2.-3. sparse strata, horizon
    notes: list[str] = []
    dropped: list[str] = []
    if adjustment == "stratification" and by:
        by, reasons = merge_sparse_strata(cohorts, by, requested)
        dropped = [r.split(" ")[0] for r in reasons]
        if reasons:
            notes.append("Sparse strata merged by dropping " + "; ".join(reasons) + ".")
    horizon, limited_by = choose_horizon(cohorts, by, requested, adjustment)
    if limited_by:
        notes.append(
            f"Horizon shortened from day {requested:g} to day {horizon:g}: group {limited_by} "
            f"is not followed further with at least {MIN_AT_RISK} stays under observation. "
            "Bed-days after that day are not counted (neither used nor saved)."
        )
    # 4.-5. the statistic
    statistic = EffectStatistic(
        [(g.name, g.records) for g in cohorts.groups],
        counterfactual_weights=cohorts.counterfactual_weights,
        covariates=by,
        adjustment=adjustment,
        weighting=weighting,
        horizon_days=horizon,
    )
    names = statistic.group_names
    for name, n in zip(names, statistic.counts.sum(axis=1).tolist(), strict=True):
        if n < MIN_STAYS_PER_GROUP:
            raise InsufficientData(
                f"effect estimate ({cohorts.design.value} design)",
                n_available=int(n),
                n_required=MIN_STAYS_PER_GROUP,
                detail=(
                    f"group {name} has {n} stays in strata shared by all groups; stratify "
                    "by fewer covariates"
                ),
            )
    point = statistic.point()
    # 6. resident bootstrap
    rng = np.random.default_rng(seed_used)
    n_all = sum(len(g) for g in statistic.groups)
    batch = max(1, min(n_resamples, _BATCH_ELEMENTS // max(n_all, 1)))
    parts = []
    done = 0
    while done < n_resamples:
        size = min(batch, n_resamples - done)
        parts.append(statistic(statistic.draw(rng, size)))
        done += size
    dist = np.concatenate(parts, axis=1)
    low, high = percentile_interval(dist, level)
    g_count = statistic.n_groups

    def estimate(row: int, unit: str) -> Estimate:
        return Estimate(float(point[row]), float(low[row]), float(high[row]), level, unit)

    known = statistic.known_outcomes()
    readmission_ok = min(known) >= MIN_KNOWN_OUTCOMES_PER_GROUP
    groups = tuple(
        GroupSummary(
            name=name,
            n_stays=int(statistic.counts[g].sum()),
            n_residents=int(np.unique(statistic.groups[g].resident_id).size),
            rmst_days=estimate(g, "days"),
            readmission_risk=estimate(g_count + g, "readmissions per stay")
            if readmission_ok
            else None,
        )
        for g, name in enumerate(names)
    )
    bed = estimate(2 * g_count + 2, "bed-days avoided per stay")
    readm = 2 * g_count + 3
    readmission = estimate(readm, "readmissions avoided per stay") if readmission_ok else None
    # 7. balance and E-values
    balance: tuple[WeightedBalance, ...] = ()
    if adjustment == "weighting" and by:
        weights = statistic.point_weights()
        balance = tuple(
            weighted_balance(names[k], statistic.groups[0], statistic.groups[k], weights[0], w)
            for k, w in enumerate(weights[1:], start=1)
        )
    compared = np.concatenate([np.minimum(g.los_days, horizon) for g in statistic.groups])
    sd = float(np.std(compared, ddof=1)) if compared.size > 1 else math.nan
    e_value = e_value_difference(bed, sd) if math.isfinite(sd) and sd > 0 else None
    readmission_e = None
    if readmission_ok:
        cf_risk, own_risk = float(point[2 * g_count + 1]), float(point[g_count])
        if own_risk > 0 and cf_risk > 0:
            ratio = cf_risk / own_risk
            lo_r = max(cf_risk - float(high[readm]), 1e-12) / own_risk
            hi_r = max(cf_risk - float(low[readm]), 1e-12) / own_risk
            readmission_e = e_value_ratio(ratio, lo_r, hi_r)
    notes.extend(
        _notes(statistic, names, known, readmission_ok, cohorts.n_not_used, n_resamples, balance)
    )
    for note in notes:
        logger.info("effect estimate: %s", note)
    return EffectEstimate(
        design=cohorts.design,
        description=cohorts.description,
        adjustment=adjustment,
        weighting=weighting,
        horizon_days=horizon,
        horizon_requested_days=requested,
        horizon_limited_by=limited_by,
        stratify_by=tuple(by),
        covariates_dropped=tuple(dropped),
        bed_days_avoided_per_stay=bed,
        readmissions_avoided_per_stay=readmission,
        intervention_rmst_days=estimate(0, "days"),
        comparison_rmst_days=estimate(2 * g_count, "days"),
        intervention_readmission_risk=estimate(g_count, "readmissions per stay")
        if readmission_ok
        else None,
        comparison_readmission_risk=estimate(2 * g_count + 1, "readmissions per stay")
        if readmission_ok
        else None,
        groups=groups,
        strata=tuple(
            StratumSummary(label, float(w), tuple(int(c) for c in statistic.counts[:, s]))
            for s, (label, w) in enumerate(
                zip(statistic.strata, statistic.stratum_weights, strict=True)
            )
        ),
        balance=balance,
        e_value=e_value,
        readmission_e_value=readmission_e,
        n_intervention_unsupported=statistic.n_target_unsupported,
        n_not_used=cohorts.n_not_used,
        n_resamples=n_resamples,
        seed=seed_used,
        confidence_level=level,
        ci_method="percentile",
        resampling_unit="residents",
        open_replicates=statistic.open_replicates,
        assumptions=cohorts.assumptions,
        notes=tuple(notes),
        replicates=EffectReplicates(
            bed_days_avoided_per_stay=dist[2 * g_count + 2],
            readmissions_avoided_per_stay=dist[readm] if readmission_ok else np.zeros(n_resamples),
            comparison_rmst_days=dist[2 * g_count],
            intervention_rmst_days=dist[0],
        ),
    )


def point_effect(
    records: StayRecords,
    design: Design | str,
    horizon_days: float,
    *,
    stratify_by: Sequence[str] | None = None,
) -> float:
    """Bed-days avoided per stay without intervals (for the permutation test of the design
    checks): the same groups, weights and horizon rule as :func:`estimate_effect`."""
    cohorts = select_cohorts(records, design)
    by = COVARIATES if stratify_by is None else check_covariates(stratify_by)
    for group in cohorts.groups:
        if len(group.records) < MIN_STAYS_PER_GROUP:
            raise InsufficientData(
                "point effect", n_available=len(group.records), n_required=MIN_STAYS_PER_GROUP
            )
    horizon, _ = choose_horizon(cohorts, by, check_horizon(horizon_days), "weighting")
    statistic = EffectStatistic(
        [(g.name, g.records) for g in cohorts.groups],
        counterfactual_weights=cohorts.counterfactual_weights,
        covariates=by,
        adjustment="weighting",
        weighting="att",
        horizon_days=horizon,
    )
    return float(statistic.point()[2 * statistic.n_groups + 2])


def difference_in_differences(
    records: StayRecords,
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    stratify_by: Sequence[str] | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    seed: int | None = None,
) -> EffectEstimate:
    """Difference-in-differences of RMST and readmission risk (see :func:`estimate_effect`).

    Bed-days avoided per stay = -[(intervention after - intervention before) -
    (comparison after - comparison before)], each group weighted to the programme stays'
    case mix. Needs stays of all four ward-group x period groups.
    """
    return estimate_effect(
        records,
        design=Design.DIFFERENCE_IN_DIFFERENCES,
        horizon_days=horizon_days,
        stratify_by=stratify_by,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        seed=seed,
    )


def _notes(
    statistic: EffectStatistic,
    names: Sequence[str],
    known: Sequence[int],
    readmission_ok: bool,
    n_not_used: int,
    n_resamples: int,
    balance: Sequence[WeightedBalance],
) -> list[str]:
    notes: list[str] = []
    if n_not_used:
        notes.append(f"{n_not_used} stays are not part of this design and were not used.")
    if statistic.n_target_unsupported:
        n_all = statistic.n_target_unsupported + int(statistic.counts[0].sum())
        notes.append(
            f"{statistic.n_target_unsupported} of {n_all} intervention stays are in strata "
            "where a comparison group has no stays and were left out; the estimate is for the "
            "remaining intervention stays."
        )
    if statistic.open_replicates:
        notes.append(
            f"In {statistic.open_replicates} resampled curves (of {n_resamples} replicates) the "
            "longest stay drawn was still going on before the horizon; those curves were held "
            "flat (assumes no further discharges)."
        )
    if statistic.empty_cells:
        notes.append(
            f"{statistic.empty_cells} resampled cells drew no stay and took the point value."
        )
    for b in balance:
        if b.max_abs_smd_after() > 0.1:
            notes.append(
                f"After weighting, {b.reference} still differs from the programme stays on some "
                f"covariate (largest |SMD| {b.max_abs_smd_after():.2f} > 0.1)."
            )
        if b.effective_sample_size < 0.5 * b.n_reference:
            notes.append(
                f"The weights of {b.reference} are uneven: {b.n_reference} stays count as "
                f"{b.effective_sample_size:.0f} (poor overlap of case mix)."
            )
    if not readmission_ok:
        short = [n for n, k in zip(names, known, strict=True) if k < MIN_KNOWN_OUTCOMES_PER_GROUP]
        notes.append(
            "Readmission effect not estimable: fewer than "
            f"{MIN_KNOWN_OUTCOMES_PER_GROUP} stays with complete 30-day follow-up in "
            + ", ".join(short)
            + " (stays still going on or ended less than 30 days ago, or follow-up unknown)."
        )
    elif statistic.risk_fallbacks:
        notes.append(
            f"In {statistic.risk_fallbacks} resampled cells no readmission outcome was known; "
            "those cells used the group's pooled risk."
        )
    return notes
