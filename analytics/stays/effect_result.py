"""The result of the effect estimate: per-group figures, replicates, and the estimate itself."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.stays._common import Estimate, FloatArray
from analytics.stays.cohorts import Design
from analytics.stays.evalue import EValue
from analytics.stays.weighting import WeightedBalance


@dataclass(frozen=True)
class GroupSummary:
    """One group's adjusted figures (adjusted to the programme stays' case mix)."""

    name: str
    n_stays: int
    n_residents: int
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
    adjustment, weighting
        Case-mix adjustment (``"weighting"`` primary, ``"stratification"`` sensitivity) and,
        for weighting, the kind of weights.
    horizon_days, horizon_requested_days
        RMST horizon used (bed-days are counted up to this day of each stay), and the one
        asked for; smaller when some group was not followed long enough (see ``notes``).
    horizon_limited_by
        The group (and stratum) whose follow-up set the horizon, or "" if none did.
    stratify_by, covariates_dropped
        Covariates adjusted for; covariates dropped to merge sparse strata (stratification).
    bed_days_avoided_per_stay, readmissions_avoided_per_stay
        Counterfactual minus programme; the readmission effect is None if fewer than
        :data:`~analytics.stays.effect.MIN_KNOWN_OUTCOMES_PER_GROUP` outcomes with complete
        follow-up are known in some group.
    intervention_rmst_days, comparison_rmst_days, intervention_readmission_risk,
    comparison_readmission_risk
        The two sides of each contrast.
    groups, strata
        Per-group and per-stratum detail (counts here are not suppressed).
    balance
        Covariate balance of each reference group before and after weighting (weighting).
    e_value, readmission_e_value
        E-values of the two effects (None where not defined).
    n_intervention_unsupported, n_not_used
        Programme stays left out for lack of comparison in their stratum; stays the design
        does not use.
    n_resamples, seed, confidence_level, ci_method, resampling_unit
        How the intervals were computed (``seed`` reproduces them).
    open_replicates
        Replicate curves that ended before the horizon on an ongoing stay (held flat).
    assumptions, notes
        What must hold, and what happened in these data.
    replicates
        Bootstrap replicates for :mod:`analytics.stays.money`.
    """

    design: Design
    description: str
    adjustment: str
    weighting: str
    horizon_days: float
    horizon_requested_days: float
    horizon_limited_by: str
    stratify_by: tuple[str, ...]
    covariates_dropped: tuple[str, ...]
    bed_days_avoided_per_stay: Estimate
    readmissions_avoided_per_stay: Estimate | None
    intervention_rmst_days: Estimate
    comparison_rmst_days: Estimate
    intervention_readmission_risk: Estimate | None
    comparison_readmission_risk: Estimate | None
    groups: tuple[GroupSummary, ...]
    strata: tuple[StratumSummary, ...]
    balance: tuple[WeightedBalance, ...]
    e_value: EValue | None
    readmission_e_value: EValue | None
    n_intervention_unsupported: int
    n_not_used: int
    n_resamples: int
    seed: int
    confidence_level: float
    ci_method: str
    resampling_unit: str
    open_replicates: int
    assumptions: tuple[str, ...]
    notes: tuple[str, ...]
    replicates: EffectReplicates

    def explain(self) -> str:
        """The estimate, its design, assumptions and notes as plain text for a report."""
        lines = [
            f"Design: {self.design.value}. {self.description}",
            f"Case mix: {self.adjustment}"
            + (f" ({self.weighting} weights)" if self.adjustment == "weighting" else "")
            + " on "
            + (", ".join(self.stratify_by) if self.stratify_by else "(no covariates)")
            + ".",
            f"Horizon: bed-days counted up to day {self.horizon_days:g} of each stay.",
            f"Bed-days avoided per stay: {self.bed_days_avoided_per_stay}",
            f"  intervention RMST {self.intervention_rmst_days}",
            f"  comparison RMST   {self.comparison_rmst_days}",
        ]
        if self.readmissions_avoided_per_stay is None:
            lines.append("Readmissions avoided per stay: not estimable yet (see notes).")
        else:
            lines.append(f"Readmissions avoided per stay: {self.readmissions_avoided_per_stay}")
        if self.e_value is not None:
            e = self.e_value
            lines.append(f"E-value: {e.point:.2f} (interval limit {e.interval_limit:.2f})")
        pct = round(100 * self.confidence_level)
        lines.append(
            f"{pct}% intervals: {self.ci_method} bootstrap of {self.resampling_unit}, "
            f"{self.n_resamples} resamples, seed {self.seed}."
        )
        lines.append("Assumptions:")
        lines.extend(f"  - {a}" for a in self.assumptions)
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines)
