"""The effect, money, budget-impact, design-check, scenario and parameter tables, the tornado,
the headline box and the reporting checklist of the finance report.

Every NOK figure is per year in NOK of the parameter set's price year; intervals of money
figures come from the probabilistic sensitivity analysis (effect bootstrap x parameter draws).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from analytics.stays import (
    BudgetImpact,
    DesignCheck,
    DesignDiagnostics,
    EffectEstimate,
    Estimate,
    ParameterSet,
    SavingsEstimate,
    budget_impact,
    scenarios,
    tornado,
)
from analytics.stays._common import percentile_interval
from stayactive.reports.cells import format_figure, format_interval
from stayactive.reports.format_no import Language, confidence_label, format_number
from stayactive.reports.labels import check_label, design_label, parameter_label, text
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
    n_used = sum(g.n_stays for g in effect.groups)
    n_res = sum(g.n_residents for g in effect.groups)
    h = f"{effect.horizon_days:g}"
    note = (
        f"Sammenligning: {design_label(effect.design.value, language)}. Liggedøgn telles til "
        f"dag {h} av hvert opphold. Sammenligningsgruppene er vektet til programoppholdenes "
        f"sammensetning (tilbøyelighetsskårer); {n_used} opphold, {n_res} beboere. 95 % KI: "
        f"bootstrap av beboere, {effect.n_resamples} trekninger. E-verdi: hvor sterk en ukjent "
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


def check_detail(check: DesignCheck, design: str, language: Language) -> str:
    """What a check shows, in the report's language (the core's words are English)."""
    if language == "en":
        return check.detail
    est = check.estimate
    figure = format_number(est.value, 2, language=language) if est is not None else ""
    if check.status == "not estimable" and check.name not in ("comparison wards",):
        if check.name == "permutation across wards" and check.count:
            return (
                f"{check.count} fordelinger av utstyret på avdelingene: for få til en test på "
                "5 %-nivå"
            )
        if check.name == "permutation across wards":
            return (
                "én sammenligningsavdeling: effekten kan ikke skilles fra den avdelingens særpreg"
            )
        if check.name == "placebo go-live" and design == "historical":
            return "ingen avdelinger uten utstyr: en trend over tid kan ikke skilles fra effekten"
        return "kan ikke vurderes med disse dataene (mangler datoer, avdelinger eller opphold)"
    if check.name == "pre-trend":
        what = (
            "trend i liggedøgn per opphold på avdelinger med utstyr før oppstart"
            if design == "historical"
            else "forskjell mellom avdelingsgruppenes trend før oppstart"
        )
        return f"{what}: {figure} døgn per opphold per år"
    if check.name == "placebo go-live":
        what = (
            "endring før/etter på avdelinger uten utstyr"
            if design == "historical"
            else "forskjell-i-forskjeller ved en tenkt oppstart midt i førperioden"
        )
        return f"{what}: {figure} døgn per opphold"
    if check.name == "comparison wards":
        n = check.count or 0
        return f"{n} sammenligningsavdeling(er)" + ("" if n >= 2 else ": kan ikke vurderes med én")
    if check.name == "permutation across wards":
        return f"{check.count} fordelinger av utstyret på avdelingene"
    return "Cochrans Q mellom avdelinger i samme gruppe"


def design_checks_table(diagnostics: DesignDiagnostics, language: Language) -> Table:
    """Each check of the comparison with its result and what it shows."""
    design = diagnostics.design.value
    rows = tuple(
        Row(
            check_label(c.name, language),
            (
                text(f"s.{c.status}", language),
                check_detail(c, design, language)
                + (
                    f" (p = {format_number(c.p_value, 3, language=language)})"
                    if c.p_value is not None
                    else ""
                ),
            ),
        )
        for c in diagnostics.checks
    )
    return Table(
        "design_checks",
        text("t.checks", language),
        (text("c.result", language), text("c.detail", language)),
        rows,
        note=(
            "Kontrollene kan vise at en sammenligning er svak, aldri at den er riktig. Et varsel "
            "eller en kontroll som ikke kan vurderes gjør rapporten til et utkast."
            if language == "nb"
            else "The checks can show a comparison to be weak, never that it is right. A flag, "
            "or a check that cannot be made, makes the report a draft."
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
                p.as_of.isoformat(),
                status[p.needs_confirmation][0 if language == "nb" else 1],
                p.source,
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
                range_source=b.input.range_source,
                outcome_at_low=b.outcome_at_low,
                outcome_at_high=b.outcome_at_high,
            )
            for b in t.bars
        ),
    )


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
    h = f"{effect.horizon_days:g}"
    out.append(text("capacity_not_cash", language))
    out.append(
        f"Liggedøgn etter dag {h} av et opphold telles ikke, verken som bruk eller gevinst."
        if language == "nb"
        else f"Bed-days after day {h} of a stay are not counted, neither as use nor as saving."
    )
    return tuple(out)


#: CHEERS 2022 items (Husereau et al. 2022) and ISPOR budget impact elements (Sullivan et al.
#: 2014), with where the report answers each (bokmål, English).
CHECKLIST: Final[tuple[tuple[str, str, str], ...]] = (
    ("CHEERS 1 Tittel", "CHEERS 1 Title", "report.title"),
    ("CHEERS 3 Bakgrunn og mål", "CHEERS 3 Background and objectives", "headline"),
    ("CHEERS 4 Analyseplan", "CHEERS 4 Analysis plan", "design"),
    ("CHEERS 5 Populasjon", "CHEERS 5 Study population", "t.flow"),
    ("CHEERS 6 Setting og sted", "CHEERS 6 Setting and location", "t.groups"),
    ("CHEERS 7 Sammenligning", "CHEERS 7 Comparators", "design"),
    ("CHEERS 8 Perspektiv", "CHEERS 8 Perspective", "t.money"),
    ("CHEERS 9 Tidshorisont", "CHEERS 9 Time horizon", "t.budget"),
    ("CHEERS 10 Diskontering", "CHEERS 10 Discount rate", "t.budget"),
    ("CHEERS 11-12 Utfall og måling", "CHEERS 11-12 Outcomes and measurement", "t.effect"),
    ("CHEERS 13 Verdsetting av utfall", "CHEERS 13 Valuation of outcomes", "t.money"),
    ("CHEERS 14 Ressurser og kostnader", "CHEERS 14 Resources and costs", "t.parameters"),
    ("CHEERS 15 Valuta og prisår", "CHEERS 15 Currency and price date", "t.budget"),
    ("CHEERS 16-17 Modell og forutsetninger", "CHEERS 16-17 Model and assumptions", "assumptions"),
    ("CHEERS 18 Heterogenitet", "CHEERS 18 Heterogeneity", "t.balance"),
    ("CHEERS 19 Fordelingsvirkninger", "CHEERS 19 Distributional effects", "none"),
    ("CHEERS 20 Usikkerhet", "CHEERS 20 Uncertainty", "t.scenarios"),
    ("CHEERS 21, 25 Brukermedvirkning", "CHEERS 21, 25 Engagement of patients", "none"),
    ("CHEERS 22 Parametre", "CHEERS 22 Study parameters", "t.parameters"),
    ("CHEERS 23-24 Resultater og usikkerhet", "CHEERS 23-24 Results and uncertainty", "headline"),
    ("CHEERS 26 Begrensninger", "CHEERS 26 Limitations", "notes"),
    (
        "CHEERS 27-28 Finansiering og interessekonflikter",
        "CHEERS 27-28 Funding and conflicts",
        "none",
    ),
    ("ISPOR BIA: populasjon og antall", "ISPOR BIA: population size", "t.money"),
    ("ISPOR BIA: opptrapping av bruk", "ISPOR BIA: uptake over time", "t.budget"),
    ("ISPOR BIA: budsjettholders perspektiv", "ISPOR BIA: budget holder's perspective", "t.money"),
    ("ISPOR BIA: år 1-5 hver for seg", "ISPOR BIA: each of years 1-5", "t.budget"),
    ("ISPOR BIA: scenarier og følsomhet", "ISPOR BIA: scenarios and sensitivity", "tornado.title"),
    ("ISPOR BIA: validering", "ISPOR BIA: validation", "method"),
)


def checklist_table(language: Language) -> Table:
    """CHEERS 2022 and ISPOR BIA items with the section of the report that answers each."""
    missing = {
        "CHEERS 19": (
            "ikke vurdert: ingen fordelingsanalyse",
            "not assessed: no distributional analysis",
        ),
        "CHEERS 21": ("ikke gjort i denne analysen", "not done in this analysis"),
        "CHEERS 27": (
            "oppgis av kommunen i saksframlegget",
            "stated by the municipality in the case",
        ),
    }
    rows = []
    for nb, en, where in CHECKLIST:
        item = nb if language == "nb" else en
        if where == "none":
            key = next(k for k in missing if item.startswith(k))
            answer = missing[key][0 if language == "nb" else 1]
        else:
            answer = text(where, language)
        rows.append(Row(item, (answer,)))
    return Table(
        "checklist",
        text("checklist", language),
        (text("c.where", language),),
        tuple(rows),
        note="Husereau D et al. CHEERS 2022. Value Health 2022;25(1):3-9; Sullivan SD et al. "
        "ISPOR BIA Good Practice II. Value Health 2014;17(1):5-14.",
    )


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
