"""From bed-days and readmissions avoided to NOK: value of freed capacity, cash, budget impact.

A budget impact analysis from the municipality's perspective (Sullivan et al. 2014), in NOK of
the parameter set's price year. Per bootstrap replicate r of the effect (and, in the
probabilistic sensitivity analysis, per draw of the parameters, :mod:`analytics.stays.psa`):

==========================================  ===================================================
stays in the programme per year              stays per year (counted) x uptake
bed-days freed per year                      stays x bed-days avoided per stay_r
readmissions avoided per year                stays x readmissions avoided per stay_r
  of which municipal short-term stays        x readmission_municipal_share (hospital
                                             readmissions are paid by the health trust)
bed-days of avoided readmission stays        municipal readmissions x comparison RMST_r
value of freed capacity                      (bed-days freed + readmission bed-days) x cost
                                             per bed-day (average cost: capacity, not cash)
programme cost                               devices (at 100 % uptake) x uptake x cost per
                                             device-year + licences (at 100 %) x uptake +
                                             stays x staff hours x cost per hour
                                             + annuity of the one-off cost (discount rate,
                                             write-off years)
net value                                    value of freed capacity - programme cost
cash saved by closed beds                    beds closed x 365 x cost per bed-day x saving share
variable cost saved                          remaining freed bed-days x cost x variable share
cash effect                                  cash saved - programme cost
safe cash effect                             cash saved by closed beds - programme cost
ROI, payback                                 on the cash effect only, and only where the
                                             programme saves any cash
==========================================  ===================================================

No double counting: the bed-days of a readmission stay are not part of the index stay's RMST,
and only the municipal ones are valued; the per-stay effect is applied to the stays counted
in the care records (which include readmission stays), so the overlap is the second-order
product of the two effects and is ignored. Bed-days freed on beds that are closed are cash at
the closure share and are not counted again at the variable share.

:func:`budget_impact` spreads this over 1-5 years with the uptake ramp-up, the one-off cost in
year 1 (not annualised), flows at the end of each year discounted at the real rate (4 %,
R-109/2021) to the start of year 1.

References
----------
.. [1] Sullivan SD, Mauskopf JA, Augustovski F, et al. Budget impact analysis — principles of
   good practice: report of the ISPOR 2012 Budget Impact Analysis Good Practice II Task Force.
   Value Health 2014;17(1):5-14. doi:10.1016/j.jval.2013.08.2291
.. [2] Finansdepartementet. Rundskriv R-109/2021 Prinsipper og krav ved utarbeidelse av
   samfunnsøkonomiske analyser. Oslo, 25 June 2021.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

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
    "BUDGET_YEARS",
    "PARAMETER_UNITS",
    "BudgetImpact",
    "MoneyFigures",
    "Parameter",
    "ParameterSet",
    "SavingsEstimate",
    "annuity_factor",
    "budget_impact",
    "check_value",
    "default_parameters",
    "estimate_savings",
    "money_figures",
]

#: Years of the budget impact analysis.
BUDGET_YEARS: Final = 5
_DAYS_PER_YEAR: Final = 365.0

Values = Mapping[str, float | FloatArray]


@dataclass(frozen=True, eq=False)
class MoneyFigures:
    """The money model's outputs per year at full uptake, element-wise over replicates."""

    stays_in_programme_per_year: FloatArray
    bed_days_freed_per_year: FloatArray
    readmissions_avoided_per_year: FloatArray
    municipal_readmissions_avoided_per_year: FloatArray
    readmission_bed_days_per_year: FloatArray
    capacity_value_nok: FloatArray
    running_cost_nok: FloatArray
    programme_cost_nok: FloatArray
    net_value_nok: FloatArray
    closed_beds_saving_nok: FloatArray
    variable_cost_saving_nok: FloatArray
    cash_saving_nok: FloatArray
    cash_effect_nok: FloatArray
    safe_cash_effect_nok: FloatArray
    roi: FloatArray
    payback_months: FloatArray


def annuity_factor(rate: float | FloatArray, years: float | FloatArray) -> FloatArray:
    """Equal yearly payments that repay 1 NOK over ``years`` at ``rate`` (1/years at 0)."""
    r = np.asarray(rate, dtype=np.float64)
    n = np.asarray(years, dtype=np.float64)
    safe = np.where(r > 0, r, 1.0)
    factor: FloatArray = np.where(r > 0, safe / (1.0 - (1.0 + safe) ** -n), 1.0 / n)
    return factor


def _at_uptake(
    delta: FloatArray, rho: FloatArray, rmst: FloatArray, v: Values, uptake: FloatArray
) -> dict[str, FloatArray]:
    """Yearly flows for a given uptake (every array broadcasts)."""
    cost = np.asarray(v["cost_per_bed_day_nok"], dtype=np.float64)
    stays = np.asarray(v["stays_per_year"], dtype=np.float64) * uptake
    bed_days = stays * delta
    readmissions = stays * rho
    municipal = readmissions * v["readmission_municipal_share"]
    readmission_bed_days = municipal * rmst
    freed = bed_days + readmission_bed_days
    capacity = freed * cost
    # devices and licences are given for every stay in the programme: scale with uptake
    running = (
        v["device_count"] * uptake * v["device_cost_per_year_nok"]
        + v["licence_cost_per_year_nok"] * uptake
        + stays * v["staff_time_per_stay_h"] * v["staff_cost_per_hour_nok"]
    )
    closed_days = v["beds_closed_count"] * _DAYS_PER_YEAR
    closed = closed_days * cost * v["closed_bed_saving_share"]
    variable = np.maximum(freed - closed_days, 0.0) * cost * v["variable_cost_share"]
    return {
        "stays": stays,
        "bed_days": bed_days,
        "readmissions": readmissions,
        "municipal": municipal,
        "readmission_bed_days": readmission_bed_days,
        "capacity": capacity,
        "running": np.asarray(running, dtype=np.float64),
        "closed": np.asarray(closed, dtype=np.float64),
        "variable": variable,
    }


def money_figures(
    bed_days_avoided_per_stay: npt.ArrayLike,
    readmissions_avoided_per_stay: npt.ArrayLike,
    comparison_rmst_days: npt.ArrayLike,
    values: Values,
) -> MoneyFigures:
    """The model of the module docstring at full uptake, one year (arrays broadcast).

    ``values`` maps every name of :data:`PARAMETER_UNITS` to a number or an array (a draw per
    replicate, for the probabilistic sensitivity analysis).
    """
    delta = np.asarray(bed_days_avoided_per_stay, dtype=np.float64)
    rho = np.asarray(readmissions_avoided_per_stay, dtype=np.float64)
    rmst = np.asarray(comparison_rmst_days, dtype=np.float64)
    if np.any(rmst <= 0):
        raise InsufficientData(
            "savings estimate",
            n_available=0,
            n_required=1,
            detail="the comparison RMST is 0 days, so a readmission stay has no bed-days",
        )
    v = values
    f = _at_uptake(delta, rho, rmst, v, np.asarray(v["uptake_share"], dtype=np.float64))
    one_off = np.asarray(v["one_off_cost_nok"], dtype=np.float64)
    programme = f["running"] + one_off * annuity_factor(v["discount_rate"], v["write_off_years"])
    shape = np.broadcast_shapes(np.shape(f["capacity"]), np.shape(programme))

    def full(x: npt.ArrayLike) -> FloatArray:
        return np.broadcast_to(np.asarray(x, dtype=np.float64), shape).astype(np.float64)

    cash_saving = f["closed"] + f["variable"]
    cash = cash_saving - programme
    has_cash = full(cash_saving) > 0
    safe_programme = np.where(programme > 0, programme, 1.0)
    roi = np.where(has_cash & (full(programme) > 0), cash / safe_programme, np.nan)
    payback = np.where(has_cash, _payback_months(cash_saving - f["running"], one_off), np.nan)
    return MoneyFigures(
        stays_in_programme_per_year=full(f["stays"]),
        bed_days_freed_per_year=full(f["bed_days"]),
        readmissions_avoided_per_year=full(f["readmissions"]),
        municipal_readmissions_avoided_per_year=full(f["municipal"]),
        readmission_bed_days_per_year=full(f["readmission_bed_days"]),
        capacity_value_nok=full(f["capacity"]),
        running_cost_nok=full(f["running"]),
        programme_cost_nok=full(programme),
        net_value_nok=full(f["capacity"] - programme),
        closed_beds_saving_nok=full(f["closed"]),
        variable_cost_saving_nok=full(f["variable"]),
        cash_saving_nok=full(cash_saving),
        cash_effect_nok=full(cash),
        safe_cash_effect_nok=full(f["closed"] - programme),
        roi=full(roi),
        payback_months=full(payback),
    )


def _payback_months(surplus_nok_per_year: npt.ArrayLike, one_off_nok: npt.ArrayLike) -> FloatArray:
    """Months for the yearly cash surplus to repay the one-off cost; inf if it never does."""
    surplus = np.asarray(surplus_nok_per_year, dtype=np.float64)
    safe = np.where(surplus > 0, surplus, 1.0)
    months: FloatArray = np.where(surplus > 0, np.asarray(one_off_nok) / (safe / 12.0), np.inf)
    return months


@dataclass(frozen=True, eq=False)
class BudgetImpact:
    """Years 1..5 of the programme, element-wise over replicates (shape (years, ...)).

    NOK of the price year; ``discount_factors`` turn end-of-year flows into present values at
    the start of year 1; the one-off cost falls at the start of year 1 (not discounted).
    """

    years: tuple[int, ...]
    uptake: FloatArray
    bed_days_freed: FloatArray
    capacity_value_nok: FloatArray
    programme_cost_nok: FloatArray
    net_value_nok: FloatArray
    cash_effect_nok: FloatArray
    discount_factors: FloatArray

    def present_value(self, name: str) -> FloatArray:
        """Sum over the years of a NOK row, discounted (the one-off cost is in year 1's
        programme cost at its full value)."""
        row: FloatArray = getattr(self, name)
        factors = self.discount_factors.reshape((-1,) + (1,) * (row.ndim - 1))
        pv: FloatArray = np.sum(row * factors, axis=0)
        return pv


def budget_impact(
    bed_days_avoided_per_stay: npt.ArrayLike,
    readmissions_avoided_per_stay: npt.ArrayLike,
    comparison_rmst_days: npt.ArrayLike,
    values: Values,
    *,
    years: int = BUDGET_YEARS,
) -> BudgetImpact:
    """The 1-5 year budget impact with the uptake ramp-up (module docstring)."""
    delta = np.asarray(bed_days_avoided_per_stay, dtype=np.float64)
    rho = np.asarray(readmissions_avoided_per_stay, dtype=np.float64)
    rmst = np.asarray(comparison_rmst_days, dtype=np.float64)
    v = values
    rate = float(np.mean(v["discount_rate"]))
    rows: dict[str, list[FloatArray]] = {k: [] for k in ("u", "bd", "cap", "prog", "cash")}
    one_off = np.asarray(v["one_off_cost_nok"], dtype=np.float64)
    for k in range(1, years + 1):
        uptake = np.asarray(v["uptake_share"]) * np.minimum(1.0, k / np.asarray(v["ramp_up_years"]))
        f = _at_uptake(delta, rho, rmst, v, uptake)
        # the one-off cost is paid at the start of year 1; bring it to end-of-year 1 terms so
        # that the year-1 discount factor leaves it at its face value
        prog = f["running"] + (one_off * (1.0 + rate) if k == 1 else 0.0)
        rows["u"].append(np.asarray(uptake, dtype=np.float64))
        rows["bd"].append(f["bed_days"] + f["readmission_bed_days"])
        rows["cap"].append(f["capacity"])
        rows["prog"].append(np.asarray(prog, dtype=np.float64))
        rows["cash"].append(f["closed"] + f["variable"] - prog)
    shape = np.broadcast_shapes(*(np.shape(x) for r in rows.values() for x in r))

    def stack(name: str) -> FloatArray:
        return np.stack([np.broadcast_to(x, shape) for x in rows[name]]).astype(np.float64)

    cap, prog = stack("cap"), stack("prog")
    return BudgetImpact(
        years=tuple(range(1, years + 1)),
        uptake=stack("u"),
        bed_days_freed=stack("bd"),
        capacity_value_nok=cap,
        programme_cost_nok=prog,
        net_value_nok=cap - prog,
        cash_effect_nok=stack("cash"),
        discount_factors=(1.0 + rate) ** -np.arange(1, years + 1, dtype=np.float64),
    )


@dataclass(frozen=True)
class SavingsEstimate:
    """One year at full uptake, with 95% intervals from the probabilistic sensitivity
    analysis (effect bootstrap x parameter draws), or from the effect bootstrap alone.

    All NOK are per year, in NOK of ``price_year``. ``savings_kind`` is ``"freed capacity"``
    unless beds are recorded as closed (``"cash-releasing"``). ``roi`` and
    ``payback_months`` are None where the programme saves no cash.
    """

    tenant: str
    parameter_version: str
    design: Design
    savings_kind: str
    price_year: int
    interval_basis: str
    stays_in_programme_per_year: Estimate
    bed_days_freed_per_year: Estimate
    readmissions_avoided_per_year: Estimate
    municipal_readmissions_avoided_per_year: Estimate
    capacity_value_nok: Estimate
    programme_cost_nok: Estimate
    net_value_nok: Estimate
    cash_effect_nok: Estimate
    safe_cash_effect_nok: Estimate
    roi: Estimate | None
    payback_months: Estimate | None
    capacity_share_of_budget: Estimate
    probability_net_negative: float
    probability_cash_negative: float
    assumptions: tuple[str, ...]
    parameters: tuple[Parameter, ...]

    def explain(self) -> str:
        """The figures with their assumptions, as plain text for a report."""
        lines = [
            f"One year at full uptake for {self.tenant} (parameters {self.parameter_version}, "
            f"NOK {self.price_year}), {self.design.value} design; intervals: "
            f"{self.interval_basis}:",
            f"  bed-days freed: {self.bed_days_freed_per_year}",
            f"  readmissions avoided: {self.readmissions_avoided_per_year}",
            f"  value of freed capacity ({self.savings_kind}): {self.capacity_value_nok}",
            f"  programme cost: {self.programme_cost_nok}",
            f"  net value: {self.net_value_nok}; P(net < 0) = {self.probability_net_negative:.2f}",
            f"  cash effect: {self.cash_effect_nok}; safe cash effect: {self.safe_cash_effect_nok}",
            f"  ROI: {self.roi if self.roi else 'not computed: no cash saving'}",
            f"  payback: {self.payback_months if self.payback_months else 'not computed'}",
            "Assumptions:",
        ]
        lines.extend(f"  - {a}" for a in self.assumptions)
        return "\n".join(lines)


def _estimate(point: float, replicates: FloatArray, level: float, unit: str) -> Estimate:
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return Estimate(point, np.nan, np.nan, level, unit)
    low, high = percentile_interval(finite, level)
    return Estimate(float(point), float(low), float(high), level, unit)


def estimate_savings(
    effect: EffectEstimate,
    parameters: ParameterSet,
    *,
    draws: Mapping[str, FloatArray] | None = None,
) -> SavingsEstimate:
    """One year's bed-days, readmissions and NOK, with intervals over the replicates.

    Parameters
    ----------
    effect
        From :func:`~analytics.stays.effect.estimate_effect`; its replicates carry the effect's
        uncertainty into every figure.
    parameters
        The tenant's parameter set (base values for the point estimate).
    draws
        One draw per replicate of every parameter (:func:`analytics.stays.psa.parameter_draws`):
        the intervals and probabilities are then those of the probabilistic sensitivity
        analysis. None: parameters fixed at their base values.
    """
    v = parameters.values()
    readm = effect.readmissions_avoided_per_stay
    rho_point = readm.value if readm is not None else 0.0
    point = money_figures(
        effect.bed_days_avoided_per_stay.value, rho_point, effect.comparison_rmst_days.value, v
    )
    reps = effect.replicates
    rep_values: Values = v if draws is None else {**v, **draws}
    rep = money_figures(
        reps.bed_days_avoided_per_stay,
        reps.readmissions_avoided_per_stay,
        reps.comparison_rmst_days,
        rep_values,
    )
    level = effect.confidence_level

    def est(name: str, unit: str) -> Estimate:
        return _estimate(float(getattr(point, name)), getattr(rep, name), level, unit)

    has_cash = float(point.cash_saving_nok) > 0
    roi = est("roi", "NOK cash per NOK spent") if has_cash else None
    payback = None
    if has_cash:
        # payback falls as the surplus rises: map the surplus interval's ends
        surplus = rep.cash_saving_nok - rep.running_cost_nok
        s_low, s_high = percentile_interval(surplus, level)
        one_off = v["one_off_cost_nok"]
        payback = Estimate(
            float(point.payback_months),
            float(_payback_months(s_high, one_off)),
            float(_payback_months(s_low, one_off)),
            level,
            "months",
        )
    budget = v["annual_short_term_budget_nok"]
    kind = "cash-releasing" if parameters.beds_closed else "freed capacity"
    basis = (
        f"probabilistic sensitivity analysis ({reps.bed_days_avoided_per_stay.size} draws of "
        "effect and parameters)"
        if draws is not None
        else "effect bootstrap, parameters fixed"
    )
    return SavingsEstimate(
        tenant=parameters.tenant,
        parameter_version=parameters.version,
        design=effect.design,
        savings_kind=kind,
        price_year=int(v["price_year"]),
        interval_basis=basis,
        stays_in_programme_per_year=est("stays_in_programme_per_year", "stays/year"),
        bed_days_freed_per_year=est("bed_days_freed_per_year", "bed-days/year"),
        readmissions_avoided_per_year=est("readmissions_avoided_per_year", "readmissions/year"),
        municipal_readmissions_avoided_per_year=est(
            "municipal_readmissions_avoided_per_year", "readmissions/year"
        ),
        capacity_value_nok=est("capacity_value_nok", "NOK/year"),
        programme_cost_nok=est("programme_cost_nok", "NOK/year"),
        net_value_nok=est("net_value_nok", "NOK/year"),
        cash_effect_nok=est("cash_effect_nok", "NOK/year"),
        safe_cash_effect_nok=est("safe_cash_effect_nok", "NOK/year"),
        roi=roi,
        payback_months=payback,
        capacity_share_of_budget=_estimate(
            float(point.capacity_value_nok) / budget,
            rep.capacity_value_nok / budget,
            level,
            "share of budget",
        ),
        probability_net_negative=float(np.mean(rep.net_value_nok < 0)),
        probability_cash_negative=float(np.mean(rep.cash_effect_nok < 0)),
        assumptions=_assumptions(effect, parameters, point),
        parameters=parameters.parameters(),
    )


def _assumptions(effect: EffectEstimate, ps: ParameterSet, point: MoneyFigures) -> tuple[str, ...]:
    v = ps.values()
    out = [
        "Perspective: the municipality's budget (ISPOR budget impact analysis); NOK of "
        f"{int(v['price_year'])}; 1-5 years, discounted at {v['discount_rate']:.0%} real a "
        "year (Ministry of Finance, R-109/2021).",
        f"Stays in the programme: {v['stays_per_year']:,.0f} stays a year x uptake "
        f"{v['uptake_share']:.0%} = {float(point.stays_in_programme_per_year):,.0f}; uptake "
        f"reached after {v['ramp_up_years']:g} years; devices and licences scale with uptake.",
        f"The per-stay effect of the {effect.design.value} comparison (bed-days to day "
        f"{effect.horizon_days:g} of each stay) applies to every stay in the programme; "
        "bed-days after that day are not counted.",
        "Readmissions: only new municipal short-term stays are valued "
        f"({v['readmission_municipal_share']:.0%} of readmissions), at the comparison's "
        "bed-days per stay; hospital readmissions are paid by the health trust.",
        "Value of freed capacity: bed-days at the average cost per bed-day. It is not cash: "
        f"only {v['variable_cost_share']:.0%} of that cost (variable costs) falls away unless "
        "beds are closed.",
        f"One-off cost as an annuity over {v['write_off_years']:g} years at the discount rate "
        "in the one-year view, paid in year 1 in the budget impact.",
        "ROI and payback are computed on the cash effect only.",
        "Not valued: changes in discharge destination (e.g. fewer transfers to long-term "
        "care), staff time saved, residents' health and quality of life.",
    ]
    if ps.beds_closed:
        out.append(
            f"Beds closed: {v['beds_closed_count']:g} ({ps.beds_closed_note}); each saves "
            f"{v['closed_bed_saving_share']:.0%} of its cost per bed-day."
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
