"""From bed-days and readmissions avoided to NOK: parameters, budget impact, ROI, payback.

The model is a one-year budget impact analysis from the municipality's perspective
(Mauskopf et al. 2007; Sullivan et al. 2014): undiscounted, for the tenant's short-term stays,
with the programme on a share ``uptake_share`` of them. Per replicate r of the effect bootstrap:

========================================  =====================================================
bed-days in scope per year                budget / cost per bed-day x uptake
stays in scope per year                   bed-days in scope / comparison RMST_r
bed-days freed per year                   stays x bed-days avoided per stay_r
readmissions avoided per year             stays x readmissions avoided per stay_r
gross savings                             bed-days freed x cost per bed-day
                                          + readmissions avoided x cost per readmission
running cost                              devices x cost per device-year + licences
                                          + stays x staff hours per stay x cost per hour
programme cost                            running cost + one-off cost / write-off years
net savings, ROI                          gross - programme cost; net / programme cost
payback, months                           one-off cost / ((gross - running cost) / 12)
========================================  =====================================================

Because the scale is anchored to the budget in NOK, the cost per bed-day cancels out of the
value of the bed-days freed (a dearer bed-day means fewer bed-days in the same budget, each worth
more): it moves the number of bed-days and of stays (hence readmissions and staff time), hardly
the NOK value of bed-days freed. The tornado shows this.

Intervals are percentiles of these figures over the replicates, never the formula applied to
interval ends: NOK intervals carry the joint uncertainty of bed-days, readmissions and the
comparison RMST. Parameters are taken as known; their uncertainty is explored in
:mod:`analytics.stays.sensitivity`.

Freed bed-days are **capacity**, not cash: the NOK figure is the value of that capacity at the
average net cost per bed-day, unless the tenant records that beds are actually closed
(``ParameterSet.beds_closed``), in which case it is reported as cash-releasing.

References
----------
.. [1] Mauskopf JA, Sullivan SD, Annemans L, et al. Principles of good practice for budget
   impact analysis: report of the ISPOR Task Force on Good Research Practices — Budget Impact
   Analysis. Value Health 2007;10(5):336-347. doi:10.1111/j.1524-4733.2007.00187.x
.. [2] Sullivan SD, Mauskopf JA, Augustovski F, et al. Budget impact analysis — principles of
   good practice: report of the ISPOR 2012 Budget Impact Analysis Good Practice II Task Force.
   Value Health 2014;17(1):5-14. doi:10.1016/j.jval.2013.08.2291
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics.stays._common import Estimate, FloatArray, percentile_interval
from analytics.stays.cohorts import Design
from analytics.stays.effect import EffectEstimate
from analytics.stays.errors import InsufficientData
from analytics.stays.parameters import (
    PARAMETER_UNITS,
    Parameter,
    ParameterSet,
    check_value,
    default_parameters,
)

__all__ = [
    "PARAMETER_UNITS",
    "MoneyFigures",
    "Parameter",
    "ParameterSet",
    "SavingsEstimate",
    "check_value",
    "default_parameters",
    "estimate_savings",
    "money_figures",
]


@dataclass(frozen=True, eq=False)
class MoneyFigures:
    """The money model's outputs, element-wise over replicates (or scalars as 0-d arrays)."""

    stays_per_year: FloatArray
    bed_days_freed_per_year: FloatArray
    readmissions_avoided_per_year: FloatArray
    gross_savings_nok: FloatArray
    running_cost_nok: FloatArray
    programme_cost_nok: FloatArray
    net_savings_nok: FloatArray
    roi: FloatArray
    payback_months: FloatArray


def money_figures(
    bed_days_avoided_per_stay: npt.ArrayLike,
    readmissions_avoided_per_stay: npt.ArrayLike,
    comparison_rmst_days: npt.ArrayLike,
    values: Mapping[str, float],
) -> MoneyFigures:
    """Apply the model in the module docstring to per-stay effects (arrays broadcast).

    ``values`` maps every name of :data:`PARAMETER_UNITS` to a number (e.g.
    ``ParameterSet.values()``, or a variant of it for a sensitivity analysis).
    """
    delta = np.asarray(bed_days_avoided_per_stay, dtype=np.float64)
    rho = np.asarray(readmissions_avoided_per_stay, dtype=np.float64)
    rmst = np.asarray(comparison_rmst_days, dtype=np.float64)
    if np.any(rmst <= 0):
        raise InsufficientData(
            "savings estimate",
            n_available=0,
            n_required=1,
            detail="the comparison RMST is 0 days, so stays per year are undefined",
        )
    v = values
    bed_days_in_scope = (
        v["annual_short_term_budget_nok"] / v["cost_per_bed_day_nok"] * v["uptake_share"]
    )
    stays = bed_days_in_scope / rmst
    bed_days = stays * delta
    readmissions = stays * rho
    gross = bed_days * v["cost_per_bed_day_nok"] + readmissions * v["readmission_cost_nok"]
    running = (
        v["device_count"] * v["device_cost_per_year_nok"]
        + v["licence_cost_per_year_nok"]
        + stays * v["staff_time_per_stay_h"] * v["staff_cost_per_hour_nok"]
    )
    programme = running + v["one_off_cost_nok"] / v["write_off_years"]
    net = gross - programme
    roi = np.divide(net, programme, out=np.full(net.shape, np.nan), where=programme > 0)
    return MoneyFigures(
        stays_per_year=stays,
        bed_days_freed_per_year=bed_days,
        readmissions_avoided_per_year=readmissions,
        gross_savings_nok=gross,
        running_cost_nok=np.broadcast_to(running, net.shape).astype(np.float64),
        programme_cost_nok=np.broadcast_to(programme, net.shape).astype(np.float64),
        net_savings_nok=net,
        roi=roi,
        payback_months=_payback_months(gross - running, v["one_off_cost_nok"]),
    )


def _payback_months(surplus_nok_per_year: FloatArray, one_off_nok: float) -> FloatArray:
    """Months for the operating surplus to repay the one-off cost; inf if it never does."""
    surplus = np.asarray(surplus_nok_per_year, dtype=np.float64)
    safe = np.where(surplus > 0, surplus, 1.0)
    months: FloatArray = np.where(surplus > 0, one_off_nok / (safe / 12.0), np.inf)
    return months


@dataclass(frozen=True)
class SavingsEstimate:
    """Savings of one year of the programme, with intervals from the effect's bootstrap.

    All NOK figures are per year. ``savings_kind`` is ``"freed capacity"`` (default: NOK is the
    value of bed-days that become available, not money the budget gets back) or
    ``"cash-releasing"`` (the tenant has recorded that beds are closed).
    """

    tenant: str
    parameter_version: str
    design: Design
    savings_kind: str
    stays_per_year: Estimate
    bed_days_freed_per_year: Estimate
    readmissions_avoided_per_year: Estimate
    gross_savings_nok: Estimate
    programme_cost_nok: Estimate
    net_savings_nok: Estimate
    roi: Estimate
    payback_months: Estimate
    gross_share_of_budget: Estimate
    assumptions: tuple[str, ...]
    parameters: tuple[Parameter, ...]

    def explain(self) -> str:
        """The figures with their assumptions, as plain text for a report."""
        lines = [
            f"Savings per year for {self.tenant} (parameters {self.parameter_version}), "
            f"{self.design.value} design — NOK figures are {self.savings_kind}:",
            f"  bed-days freed: {self.bed_days_freed_per_year}",
            f"  readmissions avoided: {self.readmissions_avoided_per_year}",
            f"  gross: {self.gross_savings_nok}",
            f"  programme cost: {self.programme_cost_nok}",
            f"  net: {self.net_savings_nok}",
            f"  ROI: {self.roi}",
            f"  payback: {self.payback_months}",
            "Assumptions:",
        ]
        lines.extend(f"  - {a}" for a in self.assumptions)
        return "\n".join(lines)


def estimate_savings(effect: EffectEstimate, parameters: ParameterSet) -> SavingsEstimate:
    """One year's bed-days, readmissions and NOK saved, with intervals from the replicates.

    Parameters
    ----------
    effect
        From :func:`~analytics.stays.effect.estimate_effect`; its replicates carry the
        uncertainty into every figure.
    parameters
        The tenant's parameter set.

    Returns
    -------
    SavingsEstimate
    """
    v = parameters.values()
    rho_point = (
        effect.readmissions_avoided_per_stay.value
        if effect.readmissions_avoided_per_stay is not None
        else 0.0
    )
    point = money_figures(
        effect.bed_days_avoided_per_stay.value, rho_point, effect.comparison_rmst_days.value, v
    )
    reps = effect.replicates
    rep = money_figures(
        reps.bed_days_avoided_per_stay,
        reps.readmissions_avoided_per_stay,
        reps.comparison_rmst_days,
        v,
    )
    level = effect.confidence_level

    def est(point_value: FloatArray, replicates: FloatArray, unit: str) -> Estimate:
        low, high = percentile_interval(replicates, level)
        return Estimate(float(point_value), float(low), float(high), level, unit)

    # Payback falls as the surplus rises: map the surplus interval's ends (percentiles commute
    # with monotone maps) instead of taking percentiles of values that may be infinite.
    surplus_low, surplus_high = percentile_interval(
        rep.gross_savings_nok - rep.running_cost_nok, level
    )
    one_off = v["one_off_cost_nok"]
    payback = Estimate(
        float(point.payback_months),
        float(_payback_months(surplus_high, one_off)),
        float(_payback_months(surplus_low, one_off)),
        level,
        "months",
    )
    budget = v["annual_short_term_budget_nok"]
    kind = "cash-releasing" if parameters.beds_closed else "freed capacity"
    return SavingsEstimate(
        tenant=parameters.tenant,
        parameter_version=parameters.version,
        design=effect.design,
        savings_kind=kind,
        stays_per_year=est(point.stays_per_year, rep.stays_per_year, "stays/year"),
        bed_days_freed_per_year=est(
            point.bed_days_freed_per_year, rep.bed_days_freed_per_year, "bed-days/year"
        ),
        readmissions_avoided_per_year=est(
            point.readmissions_avoided_per_year,
            rep.readmissions_avoided_per_year,
            "readmissions/year",
        ),
        gross_savings_nok=est(point.gross_savings_nok, rep.gross_savings_nok, "NOK/year"),
        programme_cost_nok=est(point.programme_cost_nok, rep.programme_cost_nok, "NOK/year"),
        net_savings_nok=est(point.net_savings_nok, rep.net_savings_nok, "NOK/year"),
        roi=est(point.roi, rep.roi, "NOK net per NOK spent"),
        payback_months=payback,
        gross_share_of_budget=est(
            point.gross_savings_nok / budget, rep.gross_savings_nok / budget, "share of budget"
        ),
        assumptions=_assumptions(effect, parameters, point),
        parameters=parameters.parameters(),
    )


def _assumptions(effect: EffectEstimate, ps: ParameterSet, point: MoneyFigures) -> tuple[str, ...]:
    v = ps.values()
    in_scope = v["annual_short_term_budget_nok"] / v["cost_per_bed_day_nok"] * v["uptake_share"]
    out = [
        "Perspective: the municipality's budget for short-term stays, one year, undiscounted "
        "(ISPOR budget impact analysis).",
        f"Bed-days in scope: NOK {v['annual_short_term_budget_nok']:,.0f} budget / NOK "
        f"{v['cost_per_bed_day_nok']:,.0f} per bed-day x uptake {v['uptake_share']:.0%} = "
        f"{in_scope:,.0f} bed-days a year; assumes the whole budget is bed-day cost at this rate.",
        f"Stays in scope: those bed-days / {effect.comparison_rmst_days.value:.1f} days (the "
        f"comparison's restricted mean LOS to day {effect.horizon_days:g}) = "
        f"{float(point.stays_per_year):,.0f} a year; overstated if many stays last longer "
        "than the horizon.",
        f"The per-stay effect of the {effect.design.value} comparison applies to every stay "
        "in scope.",
        f"One-off cost written off straight-line over {v['write_off_years']:g} years; "
        "ROI = net savings / programme cost per year; payback = one-off cost / monthly "
        "(gross savings - running cost).",
        "Parameters are taken as known in the intervals; see the sensitivity analysis.",
        "Not valued: changes in discharge destination (e.g. fewer transfers to long-term "
        "care), staff time saved, residents' health and quality of life.",
    ]
    if ps.beds_closed:
        out.append(
            f"Cash-releasing: the tenant records that beds are closed ({ps.beds_closed_note}). "
            "The average net cost per bed-day overstates the cash released if only part of the "
            "cost of a bed-day (the marginal cost) actually falls away."
        )
    else:
        out.append(
            "Freed capacity, not cash: NOK values the freed bed-days at the average net cost per "
            "bed-day. The budget only shrinks if beds are closed or stays now bought elsewhere "
            "are taken in."
        )
    if effect.readmissions_avoided_per_stay is None:
        out.append("Readmissions are not valued: the readmission effect is not estimable yet.")
    unconfirmed = ps.unconfirmed()
    if unconfirmed:
        out.append(
            "UNCONFIRMED parameters (placeholders or unverified figures; replace before a "
            "decision): " + ", ".join(unconfirmed) + "."
        )
    return tuple(out)
