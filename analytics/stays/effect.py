"""The programme's effect per stay: bed-days and readmissions avoided, with bootstrap intervals.

Processing steps of :func:`estimate_effect`:

1. Form the groups of the design (:func:`~analytics.stays.cohorts.select_cohorts`).
2. Stratify by age band x stay type x admission mobility (difference-in-differences: no
   strata by default); keep the strata where every group has stays.
3. In each group and stratum, the Kaplan-Meier restricted mean LOS to the horizon (RMST) and the
   per-stay 30-day readmission risk; standardise each group to the intervention arm's stratum
   shares (ATT-style, direct standardisation; Nieto & Coresh 1996).
4. Counterfactual = the comparison group (historical, concurrent) or
   ``before + (comparison after - comparison before)`` (difference-in-differences).
   Bed-days avoided per stay = counterfactual RMST - intervention RMST; readmissions avoided per
   stay = counterfactual risk - intervention risk.
5. 95% intervals by a stratified nonparametric bootstrap of stays
   (:func:`scipy.stats.bootstrap`, ``method="percentile"``), resampling the intervention stays
   within their group and the reference stays within group x stratum.

Why the percentile method: every money figure is computed from the same replicates
(:mod:`analytics.stays.money`), and percentile intervals are transformation-respecting: a
figure that is a monotone function of another gets exactly the transformed interval (the NOK
value of bed-days freed and the bed-days freed; payback and the operating surplus), and every
figure in the report follows one rule. BCa would correct skew slightly better but needs a
jackknife over all stays (n extra evaluations) and its acceleration differs per derived figure,
so money intervals would no longer line up with the effect's. The RMST difference is a
smooth, near-symmetric statistic for which percentile intervals perform well;
``stayactive validate savings`` checks the coverage on simulated stays with a known effect.

Per-stay readmission is "discharged home and readmitted within 30 days" (0 for stays that
ended elsewhere), so it converts directly into readmissions per year; it is not the indicator's
risk per discharge home, which :mod:`analytics.stays.readmission` reports separately.

References
----------
.. [1] Royston P, Parmar MKB. Restricted mean survival time. BMC Med Res Methodol
   2013;13:152. doi:10.1186/1471-2288-13-152
.. [2] Nieto FJ, Coresh J. Adjusting survival curves for confounders: a review and a new
   method. Am J Epidemiol 1996;143(10):1059-1068. doi:10.1093/oxfordjournals.aje.a008670
.. [3] Efron B, Tibshirani RJ. An Introduction to the Bootstrap. New York: Chapman & Hall,
   1993. doi:10.1201/9780429246593
.. [4] Efron B. Censored data and the bootstrap. J Am Stat Assoc 1981;76(374):312-319.
   doi:10.1080/01621459.1981.10477650
.. [5] Wing C, Simon K, Bello-Gomez RA. Designing difference in difference studies.
   Annu Rev Public Health 2018;39:453-469. doi:10.1146/annurev-publhealth-040617-013507
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import stats

from analytics.stays._common import Estimate, FloatArray, check_confidence_level, check_horizon
from analytics.stays._statistic import StandardisedStatistic
from analytics.stays.cohorts import Design, check_covariates, select_cohorts
from analytics.stays.errors import InsufficientData
from analytics.stays.records import COVARIATES, StayRecords
from analytics.stays.survival import DEFAULT_HORIZON_DAYS

logger = logging.getLogger(__name__)

#: Fewest stays a group may have: below it a figure could not be published anyway (n < 5).
MIN_STAYS_PER_GROUP: Final = 5
#: Fewest known readmission outcomes per group for a readmission effect.
MIN_KNOWN_OUTCOMES_PER_GROUP: Final = 5
#: Default number of bootstrap resamples.
DEFAULT_N_RESAMPLES: Final = 2000
#: Resamples per batch x stays in the largest stratum cell: the per-cell arrays of one batch
#: then stay small enough for the CPU cache (measured fastest at about this size).
_BATCH_ELEMENTS: Final = 100_000


@dataclass(frozen=True)
class GroupSummary:
    """One group's standardised figures (all standardised to the intervention case-mix)."""

    name: str
    n_stays: int
    rmst_days: Estimate
    readmission_risk: Estimate | None


@dataclass(frozen=True)
class StratumSummary:
    """A stratum used by the estimate: its weight and stays per group (target first)."""

    label: str
    weight: float
    counts: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class EffectReplicates:
    """Bootstrap replicates (one value per resample) for propagating into money.

    ``readmissions_avoided_per_stay`` is all zeros when the readmission effect is not
    estimable (see :attr:`EffectEstimate.readmissions_avoided_per_stay`).
    """

    bed_days_avoided_per_stay: FloatArray
    readmissions_avoided_per_stay: FloatArray
    comparison_rmst_days: FloatArray
    intervention_rmst_days: FloatArray


@dataclass(frozen=True, eq=False)
class EffectEstimate:
    """The effect of the programme per intervention stay, with the design that produced it.

    Attributes
    ----------
    design, description
        The design and one sentence on who is compared with whom.
    horizon_days
        RMST horizon: bed-days are counted up to this day of each stay.
    stratify_by
        Covariates of the strata (empty: none).
    bed_days_avoided_per_stay
        Comparison (counterfactual) RMST minus intervention RMST, days per stay.
    readmissions_avoided_per_stay
        Comparison minus intervention per-stay 30-day readmission risk; None if fewer than
        :data:`MIN_KNOWN_OUTCOMES_PER_GROUP` outcomes are known in some group.
    intervention_rmst_days, comparison_rmst_days
        Standardised RMST of the intervention stays and of the counterfactual (the comparison
        group for historical/concurrent designs; for difference-in-differences,
        before + (comparison after - comparison before)).
    intervention_readmission_risk, comparison_readmission_risk
        The same for the per-stay readmission risk (None if not estimable).
    groups, strata
        Per-group and per-stratum detail (counts here are not suppressed).
    n_intervention_unsupported
        Intervention stays left out: no stay of some reference group in their stratum.
    n_not_used
        Stays in the input that the design does not use.
    n_resamples, seed, confidence_level, ci_method
        How the intervals were computed (``seed`` reproduces them).
    assumptions
        What must hold for the figures to be the programme's effect.
    notes
        What happened in this data set that the reader should know.
    replicates
        Bootstrap replicates for :mod:`analytics.stays.money`.
    """

    design: Design
    description: str
    horizon_days: float
    stratify_by: tuple[str, ...]
    bed_days_avoided_per_stay: Estimate
    readmissions_avoided_per_stay: Estimate | None
    intervention_rmst_days: Estimate
    comparison_rmst_days: Estimate
    intervention_readmission_risk: Estimate | None
    comparison_readmission_risk: Estimate | None
    groups: tuple[GroupSummary, ...]
    strata: tuple[StratumSummary, ...]
    n_intervention_unsupported: int
    n_not_used: int
    n_resamples: int
    seed: int
    confidence_level: float
    ci_method: str
    assumptions: tuple[str, ...]
    notes: tuple[str, ...]
    replicates: EffectReplicates

    def explain(self) -> str:
        """The estimate, its design, assumptions and notes as plain text for a report."""
        lines = [
            f"Design: {self.design.value}. {self.description}",
            f"Horizon: bed-days counted up to day {self.horizon_days:g} of each stay.",
            "Standardised to the intervention stays' mix of "
            + (", ".join(self.stratify_by) if self.stratify_by else "(no strata)")
            + f" over {len(self.strata)} strata.",
            f"Bed-days avoided per stay: {self.bed_days_avoided_per_stay}",
            f"  intervention RMST {self.intervention_rmst_days}",
            f"  comparison RMST   {self.comparison_rmst_days}",
        ]
        if self.readmissions_avoided_per_stay is None:
            lines.append("Readmissions avoided per stay: not estimable yet (see notes).")
        else:
            lines.append(f"Readmissions avoided per stay: {self.readmissions_avoided_per_stay}")
        pct = round(100 * self.confidence_level)
        lines.append(
            f"{pct}% intervals: {self.ci_method} bootstrap, {self.n_resamples} resamples, "
            f"seed {self.seed}."
        )
        lines.append("Assumptions:")
        lines.extend(f"  - {a}" for a in self.assumptions)
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines)


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
        RMST horizon, days (default 60).
    stratify_by
        Covariates to standardise over; None: all of age band, stay type, admission mobility,
        except for difference-in-differences, which by default uses none (the design itself
        removes fixed differences between ward groups).
    n_resamples
        Bootstrap resamples (default 2000; at least 100).
    confidence_level
        Interval level (default 0.95).
    seed
        Seed of the resampling; None draws one and records it in the result.

    Returns
    -------
    EffectEstimate

    Raises
    ------
    InsufficientData
        A group has fewer than :data:`MIN_STAYS_PER_GROUP` stays (after dropping strata
        without support), or the design's groups are missing.
    ValueError
        Invalid arguments.
    """
    # 0. arguments
    horizon = check_horizon(horizon_days)
    level = check_confidence_level(confidence_level)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an integer of at least 100, got {n_resamples!r}")
    seed_used = _resolve_seed(seed)
    # 1. groups of the design
    cohorts = select_cohorts(records, design)
    by: tuple[str, ...]
    if stratify_by is None:
        by = () if cohorts.design is Design.DIFFERENCE_IN_DIFFERENCES else COVARIATES
    else:
        by = check_covariates(stratify_by)
    for group in cohorts.groups:
        if len(group.records) < MIN_STAYS_PER_GROUP:
            raise InsufficientData(
                f"effect estimate ({cohorts.design.value} design)",
                n_available=len(group.records),
                n_required=MIN_STAYS_PER_GROUP,
                detail=f"group {group.name} has {len(group.records)} stays",
            )
    # 2.-4. strata with support, standardised RMST and risk per group, contrasts
    statistic = StandardisedStatistic(
        cohorts.target.records,
        [g.records for g in cohorts.references],
        counterfactual_weights=cohorts.counterfactual_weights,
        stratify_by=by,
        horizon_days=horizon,
    )
    names = [g.name for g in cohorts.groups]
    for name, n in zip(names, statistic.counts.sum(axis=1).tolist(), strict=True):
        if n < MIN_STAYS_PER_GROUP:
            raise InsufficientData(
                f"effect estimate ({cohorts.design.value} design)",
                n_available=int(n),
                n_required=MIN_STAYS_PER_GROUP,
                detail=(
                    f"group {name} has {n} stays in strata shared by all groups "
                    f"({statistic.n_target_unsupported} intervention stays are in strata some "
                    "group lacks); stratify by fewer covariates"
                ),
            )
    point = statistic.point()
    statistic.fallbacks = 0
    # 5. stratified bootstrap
    largest_cell = int(statistic.counts.max())
    batch = max(1, min(n_resamples, _BATCH_ELEMENTS // largest_cell))
    result = stats.bootstrap(
        statistic.samples,
        statistic,
        n_resamples=n_resamples,
        batch=batch,
        vectorized=True,
        paired=False,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed_used),
    )
    low = np.asarray(result.confidence_interval.low, dtype=np.float64)
    high = np.asarray(result.confidence_interval.high, dtype=np.float64)
    dist = np.asarray(result.bootstrap_distribution, dtype=np.float64)
    g_count = statistic.n_groups

    def estimate(row: int, unit: str) -> Estimate:
        return Estimate(float(point[row]), float(low[row]), float(high[row]), level, unit)

    readmission_ok = min(statistic.known_outcomes) >= MIN_KNOWN_OUTCOMES_PER_GROUP
    groups = tuple(
        GroupSummary(
            name=name,
            n_stays=int(statistic.counts[g].sum()),
            rmst_days=estimate(g, "days"),
            readmission_risk=estimate(g_count + g, "readmissions per stay")
            if readmission_ok
            else None,
        )
        for g, name in enumerate(names)
    )
    notes = _notes(statistic, names, readmission_ok, cohorts.n_not_used, n_resamples)
    for note in notes:
        logger.info("effect estimate: %s", note)
    readm = 2 * g_count + 3
    return EffectEstimate(
        design=cohorts.design,
        description=cohorts.description,
        horizon_days=horizon,
        stratify_by=by,
        bed_days_avoided_per_stay=estimate(2 * g_count + 2, "bed-days avoided per stay"),
        readmissions_avoided_per_stay=estimate(readm, "readmissions avoided per stay")
        if readmission_ok
        else None,
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
            for s, (label, w) in enumerate(zip(statistic.strata, statistic.weights, strict=True))
        ),
        n_intervention_unsupported=statistic.n_target_unsupported,
        n_not_used=cohorts.n_not_used,
        n_resamples=n_resamples,
        seed=seed_used,
        confidence_level=level,
        ci_method="percentile",
        assumptions=cohorts.assumptions,
        notes=notes,
        replicates=EffectReplicates(
            bed_days_avoided_per_stay=dist[2 * g_count + 2],
            readmissions_avoided_per_stay=dist[readm] if readmission_ok else np.zeros(n_resamples),
            comparison_rmst_days=dist[2 * g_count],
            intervention_rmst_days=dist[0],
        ),
    )


def difference_in_differences(
    records: StayRecords,
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    stratify_by: Sequence[str] | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    seed: int | None = None,
) -> EffectEstimate:
    """Difference-in-differences of RMST and readmission risk, with bootstrap intervals.

    Bed-days avoided per stay = -[(intervention after - intervention before) -
    (comparison after - comparison before)] of the RMST to the horizon (equal to the mean LOS
    when no stay is censored and all end before the horizon). Needs stays of all four
    ward-group x period groups. The result's ``assumptions`` list what the design requires
    (parallel trends, no spill-over, stable case-mix, no anticipation, consent selection...).
    Same parameters as :func:`estimate_effect`.
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
    statistic: StandardisedStatistic,
    names: Sequence[str],
    readmission_ok: bool,
    n_not_used: int,
    n_resamples: int,
) -> tuple[str, ...]:
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
    if statistic.open_strata:
        notes.append(
            f"In {len(statistic.open_strata)} group x stratum cells the longest stay is still "
            "going on before the horizon; the curve was held flat to the horizon there "
            "(assumes no further discharges, which overstates that cell's RMST)."
        )
    if not readmission_ok:
        short = [
            n
            for n, k in zip(names, statistic.known_outcomes, strict=True)
            if k < MIN_KNOWN_OUTCOMES_PER_GROUP
        ]
        notes.append(
            "Readmission effect not estimable: fewer than "
            f"{MIN_KNOWN_OUTCOMES_PER_GROUP} stays with a known 30-day outcome in "
            + ", ".join(short)
            + " (discharges home less than 30 days ago, or stays still going on)."
        )
    elif statistic.fallbacks:
        cells = n_resamples * len(statistic.strata) * statistic.n_groups
        notes.append(
            f"In {statistic.fallbacks} of {cells} resampled group x stratum cells no "
            "readmission outcome was known; those cells used the group's pooled risk."
        )
    return tuple(notes)
