"""The effect, money, budget-impact, design-check, scenario and parameter tables, the tornado,
the headline box and the reporting checklist of the finance report.

Every NOK figure is per year in NOK of the parameter set's price year; intervals of money
figures come from the probabilistic sensitivity analysis (effect bootstrap x parameter draws).
"""

from __future__ import annotations

import math

import numpy as np

from analytics.stays import (
    BudgetImpact,
    EffectEstimate,
    Estimate,
    ParameterSet,
    SavingsEstimate,
    budget_impact,
    scenarios,
    tornado,
)
from analytics.stays._common import percentile_interval
from stayactive.locale_format import (
    Language,
    confidence_label,
    format_date,
    format_day,
    format_number,
)
from stayactive.reports.cells import format_figure, format_interval
from stayactive.reports.labels import design_label, parameter_label, parameter_source, text
from stayactive.reports.model import Cell, Headline, Row, Table, TornadoBarOut, TornadoOut, Value


def _of(estimate: Estimate | None, language: Language) -> Value:
    if estimate is None:
        return Value.missing(text("r.not_estimable", language))
    return Value.of(estimate)


def effect_table(
    effect: EffectEstimate, sensitivity: EffectEstimate | None, language: Language
) -> Table:
    """Adjusted bed-days and readmissions per stay, the effect, its sensitivity and E-value."""
    rows = [
        Row(text("r.rmst_programme", language), (Value.of(effect.intervention_rmst_days),)),
        Row(text("r.rmst_without", language), (Value.of(effect.comparison_rmst_days),)),
        Row(text("r.bed_days_avoided", language), (Value.of(effect.bed_days_avoided_per_stay),)),
    ]
    if effect.readmissions_avoided_per_stay is None:
        rows.append(
            Row(
                text("r.readm_avoided", language),
                (Value.missing(text("r.not_estimable", language)),),
            )
        )
    else:
        rows += [
            Row(
                text("r.readm_programme", language),
                (_of(effect.intervention_readmission_risk, language),),
            ),
            Row(
                text("r.readm_without", language),
                (_of(effect.comparison_readmission_risk, language),),
            ),
            Row(
                text("r.readm_avoided", language), (Value.of(effect.readmissions_avoided_per_stay),)
            ),
        ]
    if sensitivity is not None:
        rows.append(
            Row(text("r.sensitivity", language), (Value.of(sensitivity.bed_days_avoided_per_stay),))
        )
    if effect.e_value is not None:
        limit = format_number(effect.e_value.interval_limit, 2, language=language)
        rows.append(
            Row(
                text("r.e_value", language),
                (
                    Value(
                        effect.e_value.point,
                        unit="E-value",
                        note=("for intervallgrensen: " if language == "nb" else "interval limit: ")
                        + limit,
                    ),
                ),
            )
        )
    resamples = format_number(effect.n_resamples, 0, language=language)
    n_used = sum(g.n_stays for g in effect.groups)
    n_res = sum(g.n_residents for g in effect.groups)
    h = format_day(effect.horizon_days, language=language)
    note = (
        f"Sammenligning: {design_label(effect.design.value, language)}. Liggedøgn telles til "
        f"dag {h} av hvert opphold. Sammenligningsgruppene er vektet til programoppholdenes "
        f"sammensetning (tilbøyelighetsskårer); {n_used} opphold, {n_res} beboere. 95 % KI: "
        f"bootstrap av beboere, {resamples} trekninger. E-verdi: hvor sterk en ukjent "
        "forskjell mellom gruppene måtte være (risikoforhold) for å forklare bort effekten."
        if language == "nb"
        else f"Comparison: {design_label(effect.design.value, language)}. Bed-days are counted to "
        f"day {h} of each stay. The comparison groups are weighted to the programme stays' mix "
        f"(propensity scores); {n_used} stays, {n_res} residents. 95% CI: bootstrap of "
        f"residents, {effect.n_resamples} resamples. E-value: how strong an unmeasured "
        "difference between the groups (risk ratio) would have to be to explain the effect away."
    )
    return Table(
        "effect", text("t.effect", language), (text("c.estimate", language),), tuple(rows), note
    )


def money_table(savings: SavingsEstimate, language: Language) -> Table:
    """One year at full roll-out: capacity value, programme cost, net, cash, ROI, P(net < 0)."""
    no_cash = Value.missing(text("r.no_cash", language))
    rows = (
        Row(text("r.stays_programme", language), (Value.of(savings.stays_in_programme_per_year),)),
        Row(text("r.bed_days_freed", language), (Value.of(savings.bed_days_freed_per_year),)),
        Row(
            text("r.readm_avoided_year", language),
            (Value.of(savings.readmissions_avoided_per_year),),
        ),
        Row(
            text("r.readm_municipal", language),
            (Value.of(savings.municipal_readmissions_avoided_per_year),),
        ),
        Row(text("r.capacity", language), (Value.of(savings.capacity_value_nok),)),
        Row(text("r.programme", language), (Value.of(savings.programme_cost_nok),)),
        Row(text("r.net", language), (Value.of(savings.net_value_nok),)),
        Row(
            text("r.p_negative", language),
            (Value(savings.probability_net_negative, unit="probability"),),
        ),
        Row(text("r.cash", language), (Value.of(savings.cash_effect_nok),)),
        Row(text("r.safe_cash", language), (Value.of(savings.safe_cash_effect_nok),)),
        Row(text("r.roi", language), (Value.of(savings.roi) if savings.roi else no_cash,)),
        Row(
            text("r.payback", language),
            (Value.of(savings.payback_months) if savings.payback_months else no_cash,),
        ),
        Row(text("r.share_budget", language), (Value.of(savings.capacity_share_of_budget),)),
    )
    return Table(
        "money",
        text("t.money", language),
        (text("c.estimate", language),),
        rows,
        note=(
            f"Kroner i {savings.price_year}-priser per år. Intervallene tar med usikkerheten i "
            "både effekten og parametrene (probabilistisk følsomhetsanalyse). "
            + text("capacity_not_cash", language)
            if language == "nb"
            else f"NOK at {savings.price_year} prices per year. The intervals carry the "
            "uncertainty of both the effect and the parameters (probabilistic sensitivity "
            "analysis). " + text("capacity_not_cash", language)
        ),
    )


def budget_table(
    effect: EffectEstimate,
    parameters: ParameterSet,
    draws: dict[str, np.ndarray],
    language: Language,
) -> Table:
    """Years 1-5 with the ramp-up (base figures) and their present value with a PSA interval."""
    v = parameters.values()
    readm = effect.readmissions_avoided_per_stay
    base = budget_impact(
        effect.bed_days_avoided_per_stay.value,
        readm.value if readm else 0.0,
        effect.comparison_rmst_days.value,
        v,
    )
    reps = effect.replicates
    psa: BudgetImpact = budget_impact(
        reps.bed_days_avoided_per_stay,
        reps.readmissions_avoided_per_stay,
        reps.comparison_rmst_days,
        {**v, **draws},
    )
    level = effect.confidence_level

    def row(key: str, name: str, unit: str, pv: bool) -> Row:
        values: list[Cell] = [Value(float(x), unit=unit) for x in getattr(base, name)]
        if pv:
            low, high = percentile_interval(psa.present_value(name), level)
            values.append(
                Value(float(base.present_value(name)), float(low), float(high), unit="NOK")
            )
        else:
            values.append(Value.missing(""))
        return Row(text(key, language), tuple(values))

    rows = (
        row("r.uptake", "uptake", "share", False),
        row("r.bed_days_freed", "bed_days_freed", "bed-days/year", False),
        row("r.capacity", "capacity_value_nok", "NOK", True),
        row("r.programme", "programme_cost_nok", "NOK", True),
        row("r.net", "net_value_nok", "NOK", True),
        row("r.cash", "cash_effect_nok", "NOK", True),
    )
    rate = format_number(100 * v["discount_rate"], 0, language=language)
    columns = (*tuple(text("c.year", language, k=k) for k in base.years), text("c.pv", language))
    return Table(
        "budget_impact",
        text("t.budget", language),
        columns,
        rows,
        note=(
            f"Kroner i {int(v['price_year'])}-priser. Engangskostnaden betales i år 1; "
            f"strømmer ved slutten av hvert år, diskontert med {rate} % reell rente "
            "(Finansdepartementets rundskriv R-109/2021) til starten av år 1. Nåverdien har "
            "95 % KI fra den probabilistiske følsomhetsanalysen."
            if language == "nb"
            else f"NOK at {int(v['price_year'])} prices. The one-off cost is paid in year 1; flows "
            f"at the end of each year, discounted at {rate}% real (Ministry of Finance circular "
            "R-109/2021) to the start of year 1. The present value has a 95% CI from the "
            "probabilistic sensitivity analysis."
        ),
    )


def scenario_table(effect: EffectEstimate, parameters: ParameterSet, language: Language) -> Table:
    """Low, base and high scenarios (every input at one end of its range)."""
    names = {"low": ("lav", "low"), "base": ("basis", "base"), "high": ("høy", "high")}
    rows = tuple(
        Row(
            names[s.name][0 if language == "nb" else 1],
            (
                Value(s.bed_days_freed_per_year, unit="bed-days/year"),
                Value(s.capacity_value_nok, unit="NOK/year"),
                Value(s.programme_cost_nok, unit="NOK/year"),
                Value(s.net_value_nok, unit="NOK/year"),
                Value(s.cash_effect_nok, unit="NOK/year"),
            ),
        )
        for s in scenarios(effect, parameters)
    )
    return Table(
        "scenarios",
        text("t.scenarios", language),
        (
            text("c.bed_days_freed", language),
            text("c.capacity", language),
            text("c.programme", language),
            text("c.net", language),
            text("c.cash", language),
        ),
        rows,
        note=(
            "Alle forutsetninger samtidig i sin ugunstige eller gunstige ende: et ytterpunkt, "
            "ikke et sannsynlighetsintervall."
            if language == "nb"
            else "Every assumption at once at its unfavourable or favourable end: a bound, not a "
            "probability interval."
        ),
    )


def parameter_table(parameters: ParameterSet, label: str, language: Language) -> Table:
    """Every parameter with its value, range, date, status and source."""
    status = {True: ("UBEKREFTET", "UNCONFIRMED"), False: ("bekreftet", "confirmed")}
    rows = tuple(
        Row(
            parameter_label(p.name, language),
            (
                Value(p.value, unit=p.unit),
                Value(p.low, unit=p.unit) if p.low is not None else "",
                Value(p.high, unit=p.unit) if p.high is not None else "",
                format_date(p.as_of, language=language),
                status[p.needs_confirmation][0 if language == "nb" else 1],
                parameter_source(p.name, p.source, language),
            ),
        )
        for p in parameters.parameters()
    )
    closed = (
        (
            f"ja ({parameters.beds_closed_note})"
            if language == "nb"
            else f"yes ({parameters.beds_closed_note})"
        )
        if parameters.beds_closed
        else ("nei" if language == "nb" else "no")
    )
    return Table(
        "parameters",
        f"{text('t.parameters', language)} ({label})",
        (
            text("c.value", language),
            text("c.low", language),
            text("c.high", language),
            text("c.as_of", language),
            text("c.confirmed", language),
            text("c.source", language),
        ),
        rows,
        note=("senger lagt ned: " if language == "nb" else "beds closed: ") + closed,
    )


def tornado_chart(
    effect: EffectEstimate, parameters: ParameterSet, language: Language
) -> TornadoOut:
    """One-way sensitivity of the net value, with plain-language labels."""
    t = tornado(effect, parameters)
    return TornadoOut(
        outcome=t.outcome,
        unit="NOK/year",
        base_value=t.base_value,
        bars=tuple(
            TornadoBarOut(
                input=b.input.name,
                label=parameter_label(b.input.name, language),
                unit=b.input.unit,
                base=b.input.base,
                low=b.input.low,
                high=b.input.high,
                range_source=_range_source(b.input.range_source, language),
                outcome_at_low=b.outcome_at_low,
                outcome_at_high=b.outcome_at_high,
            )
            for b in t.bars
        ),
    )


def _range_source(source: str, language: Language) -> str:
    """Where a tornado input's range comes from (the core's words are English)."""
    if language != "nb":
        return source
    if source.endswith("% CI of the effect"):
        return "effektens " + confidence_label(language="nb")
    if source == "parameter range":
        return "parameterens spenn"
    if source.endswith("(no range given)"):
        return source.replace("%", "\u00a0%").replace("(no range given)", "(intet spenn oppgitt)")
    return source


def headline(savings: SavingsEstimate, language: Language) -> Headline:
    """The headline box: value of freed capacity, safe cash effect and P(net < 0)."""
    cap, safe = savings.capacity_value_nok, savings.safe_cash_effect_nok
    ci = confidence_label(savings.capacity_value_nok.confidence_level, language=language)
    p = format_number(savings.probability_net_negative, 2, language=language)
    net = "netto" if language == "nb" else "net"
    sentence = (
        f"{text('headline.capacity', language)} {format_figure(cap.value, 'NOK/year', language)} "
        f"({ci} {format_interval(cap.low, cap.high, 'NOK/year', language)}); "
        f"{text('headline.safe_cash', language).lower()} "
        f"{format_figure(safe.value, 'NOK/year', language)}; P({net} < 0) = {p}"
    )
    return Headline(
        bed_days_freed=Value.of(savings.bed_days_freed_per_year),
        capacity_value=Value.of(cap),
        safe_cash_effect=Value.of(safe),
        cash_effect=Value.of(savings.cash_effect_nok),
        net_value=Value.of(savings.net_value_nok),
        probability_net_negative=savings.probability_net_negative,
        sentence=sentence,
    )


def decisive_assumptions(
    effect: EffectEstimate,
    parameters: ParameterSet,
    chart: TornadoOut,
    stays_source: str,
    language: Language,
    n: int = 4,
) -> tuple[str, ...]:
    """The inputs that move the net value most (the widest tornado bars), in words, and the
    two framing assumptions (capacity is not cash; the horizon)."""
    params = {p.name: p for p in parameters.parameters()}
    out: list[str] = []
    for bar in chart.bars[:n]:
        value = format_figure(bar.base, bar.unit, language)
        span = format_interval(bar.low, bar.high, bar.unit, language)
        p = params.get(bar.input)
        if p is None:
            status = design_label(effect.design.value, language)
        elif p.name == "stays_per_year":
            status = stays_source
        else:
            status = (
                ("ubekreftet" if language == "nb" else "unconfirmed")
                if p.needs_confirmation
                else ("bekreftet" if language == "nb" else "confirmed")
            )
        swing = format_figure(abs(bar.outcome_at_high - bar.outcome_at_low), "NOK/year", language)
        out.append(
            f"{bar.label}: {value} (spenn {span}; {status}) – flytter netto verdi {swing}"
            if language == "nb"
            else f"{bar.label}: {value} (range {span}; {status}) – moves the net value by {swing}"
        )
    h = format_day(effect.horizon_days, language=language)
    out.append(text("capacity_not_cash", language))
    out.append(
        f"Liggedøgn etter dag {h} av et opphold telles ikke, verken som bruk eller gevinst."
        if language == "nb"
        else f"Bed-days after day {h} of a stay are not counted, neither as use nor as saving."
    )
    return tuple(out)


def stays_source_text(counted: int | None, parameters: ParameterSet, language: Language) -> str:
    """Where the number of stays per year comes from, in words."""
    if counted is not None:
        n = format_number(counted, 0, language=language)
        return (
            f"telt i journalen: {n} opphold siste 365 dager"
            if language == "nb"
            else f"counted in the care records: {n} stays in the last 365 days"
        )
    p = parameters.stays_per_year
    if p.needs_confirmation:
        return "ubekreftet anslag" if language == "nb" else "unconfirmed estimate"
    return "bekreftet" if language == "nb" else "confirmed"


def finite(x: float) -> float | None:
    """``x`` or None where it is not finite."""
    return x if math.isfinite(x) else None
