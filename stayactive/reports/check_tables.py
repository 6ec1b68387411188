"""The design-check table and the CHEERS 2022 / ISPOR budget-impact checklist of the report."""

from __future__ import annotations

from typing import Final

from analytics.stays import DesignCheck, DesignDiagnostics
from stayactive.locale_format import Language, format_number
from stayactive.reports.labels import check_label, text
from stayactive.reports.model import Row, Table


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
            "trend i liggedøgn per opphold før oppstart og på avdelinger uten utstyr"
            if design == "historical"
            else "forskjell mellom avdelingsgruppenes trend før oppstart"
        )
        return f"{what}: {figure} døgn per opphold per år"
    if check.name == "placebo go-live":
        what = {
            "historical": "endring før/etter på avdelinger uten utstyr",
            "concurrent": "avdelinger med mot uten utstyr før oppstart",
        }.get(design, "forskjell-i-forskjeller ved en tenkt oppstart midt i førperioden")
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
