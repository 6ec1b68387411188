"""The estimate's assumptions ("Alle forutsetninger") in the report's language.

The core writes them in English (:data:`analytics.stays.cohorts.COMMON_ASSUMPTIONS`, the
design's, and the money layer's, with the parameters' values in them). A bokmål report gives
each in bokmål, with Norwegian number formats and plain words for code names; an English
report has the core's words. One the module does not know is shown as the core wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from analytics.stays.cohorts import COMMON_ASSUMPTIONS, DESIGN_ASSUMPTIONS, Design
from stayactive.locale_format import Language, format_day, format_number
from stayactive.reports.labels import design_label, parameter_label

#: The core's :data:`COMMON_ASSUMPTIONS` in bokmål, in their order.
_COMMON_NB: Final = (
    "Ingen uobservert konfundering innen gruppene: innen samme aldersgruppe, type opphold og "
    "mobilitet ved innleggelse skiller gruppene seg bare ved programmet.",
    "Uavhengig sensurering: et opphold som fortsatt pågår på analysedatoen, er ikke mer eller "
    "mindre tilbøyelig til å ende snart enn et avsluttet opphold av samme lengde var.",
    "Oppholdene regnes som uavhengige: avdelingene er ikke modellert som klynger, så hvis "
    "avdelingene skiller seg systematisk, er intervallene for smale, mer jo færre avdelingene "
    "er.",
    "Utvalg ved samtykke: bare opphold med samtykke til evaluering analyseres; svarer de som "
    "samtykker annerledes, gjelder effekten kanskje ikke alle opphold.",
    "Liggedøgn etter horisonten telles ikke: en effekt på de lengste oppholdene utover "
    "horisonten kommer ikke med.",
)
#: The core's :data:`DESIGN_ASSUMPTIONS` in bokmål, in their order.
_DESIGN_NB: Final[dict[Design, tuple[str, ...]]] = {
    Design.HISTORICAL: (
        "Ingen trend over tid: uten programmet ville oppholdene på disse avdelingene etter "
        "oppstart vært like lange som før (samme utskrivningspraksis, press fra sykehuset, "
        "kapasitet i hjemmetjenesten, bemanning og sesong).",
        "Stabil sammensetning utover gruppene: beboerne som legges inn etter oppstart, er "
        "sammenlignbare med dem før, innen hver gruppe.",
    ),
    Design.CONCURRENT: (
        "Sammenlignbare avdelinger: avdelingene uten utstyr tar inn lignende beboere og skriver "
        "dem ut etter de samme reglene, innen hver gruppe.",
        "Ingen smitteeffekt: personale, utstyr og aktiveringsrutiner flyttes ikke mellom "
        "avdelingene med og uten utstyr.",
    ),
    Design.DIFFERENCE_IN_DIFFERENCES: (
        "Parallelle trender: uten programmet ville liggetiden på avdelingene med utstyr ha "
        "endret seg like mye fra før til etter oppstart som på sammenligningsavdelingene.",
        "Ingen smitteeffekt: programmet endrer ikke praksis på sammenligningsavdelingene.",
        "Stabil sammensetning: innen hver gruppe av avdelinger endrer ikke beboerblandingen seg "
        "fra før til etter oppstart (utover det gruppene standardiserer for).",
        "Ingen foregripelse: oppholdene før oppstart ble ikke påvirket av at programmet kom.",
    ),
}
_FIXED_NB: Final[dict[str, str]] = {
    **dict(zip(COMMON_ASSUMPTIONS, _COMMON_NB, strict=True)),
    **{
        en: nb
        for design, texts in DESIGN_ASSUMPTIONS.items()
        for en, nb in zip(texts, _DESIGN_NB[design], strict=True)
    },
    "ROI and payback are computed on the cash effect only.": (
        "Avkastning (ROI) og tilbakebetalingstid regnes bare på kontanteffekten."
    ),
    "Not valued: changes in discharge destination (e.g. fewer transfers to long-term "
    "care), staff time saved, residents' health and quality of life.": (
        "Ikke verdsatt: endringer i hvor beboerne skrives ut til (f.eks. færre til "
        "langtidsplass), spart personaltid, beboernes helse og livskvalitet."
    ),
    "Readmissions are not valued: the readmission effect is not estimable yet.": (
        "Reinnleggelser er ikke verdsatt: effekten på reinnleggelser kan ikke anslås ennå."
    ),
}


def _pct(figure: str) -> str:
    """An English whole percent ("4%") the bokmål way ("4 %")."""
    return f"{figure}\u00a0%"


def _count(figure: str) -> str:
    """An English count ("1,200") the bokmål way ("1 200")."""
    return format_number(float(figure.replace(",", "")), 0, language="nb")


_PATTERNS_NB: Final[tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]] = (
    (
        re.compile(
            r"Perspective: the municipality's budget \(ISPOR budget impact analysis\); NOK of "
            r"(\d+); 1-5 years, discounted at (\d+)% real a year \(Ministry of Finance, "
            r"R-109/2021\)\."
        ),
        lambda m: (
            "Perspektiv: kommunens budsjett (ISPOR, budsjettvirkningsanalyse); kroner i "
            f"{m[1]}-priser; 1–5 år, diskontert med {_pct(m[2])} reelt i året "
            "(Finansdepartementet, R-109/2021)."
        ),
    ),
    (
        re.compile(
            r"Stays in the programme: ([\d,]+) stays a year x uptake (\d+)% = ([\d,]+); uptake "
            r"reached after (\S+) years; devices and licences scale with uptake\."
        ),
        lambda m: (
            f"Opphold i programmet: {_count(m[1])} opphold i året × andel i programmet "
            f"{_pct(m[2])} = {_count(m[3])}; full andel etter {m[4].replace('.', ',')} år; "
            "utstyr og lisenser følger andelen."
        ),
    ),
    (
        re.compile(
            r"The per-stay effect of the (\S+) comparison \(bed-days to day (\S+) of each "
            r"stay\) applies to every stay in the programme; bed-days after that day are not "
            r"counted\."
        ),
        lambda m: (
            f"Effekten per opphold fra sammenligningen «{design_label(m[1], 'nb')}» (liggedøgn "
            f"til dag {format_day(float(m[2]), language='nb')} av hvert opphold) gjelder hvert "
            "opphold i programmet; liggedøgn etter den dagen telles ikke."
        ),
    ),
    (
        re.compile(
            r"Readmissions: only new municipal short-term stays are valued \((\d+)% of "
            r"readmissions\), at the comparison's bed-days per stay; hospital readmissions are "
            r"paid by the health trust\."
        ),
        lambda m: (
            "Reinnleggelser: bare nye kommunale korttidsopphold verdsettes "
            f"({_pct(m[1])} av reinnleggelsene), med sammenligningsgruppens liggedøgn per "
            "opphold; sykehusinnleggelser betales av helseforetaket."
        ),
    ),
    (
        re.compile(
            r"Value of freed capacity: bed-days at the average cost per bed-day\. It is not "
            r"cash: only (\d+)% of that cost \(variable costs\) falls away unless beds are "
            r"closed\."
        ),
        lambda m: (
            "Verdi av frigjort kapasitet: liggedøgn til gjennomsnittlig kostnad per liggedøgn. "
            f"Det er ikke penger i kassen: bare {_pct(m[1])} av den kostnaden (de variable "
            "kostnadene) faller bort hvis ikke senger legges ned."
        ),
    ),
    (
        re.compile(
            r"One-off cost as an annuity over (\S+) years at the discount rate in the one-year "
            r"view, paid in year 1 in the budget impact\."
        ),
        lambda m: (
            f"Engangskostnaden som annuitet over {m[1].replace('.', ',')} år med "
            "kalkulasjonsrenten i ettårsbildet, betalt i år 1 i budsjettvirkningen."
        ),
    ),
    (
        re.compile(r"Beds closed: (\S+) \((.*)\); each saves (\d+)% of its cost per bed-day\."),
        lambda m: (
            f"Senger lagt ned: {m[1].replace('.', ',')} ({m[2]}); hver sparer {_pct(m[3])} av "
            "kostnaden per liggedøgn."
        ),
    ),
    (
        re.compile(
            r"UNCONFIRMED parameters \(placeholders or unverified figures; replace before a "
            r"decision\): (.*)\."
        ),
        lambda m: (
            "UBEKREFTEDE parametre (plassholdere eller ukontrollerte tall; erstatt dem før en "
            "beslutning): "
            + ", ".join(parameter_label(name.strip(), "nb") for name in m[1].split(","))
            + "."
        ),
    ),
)


def assumption_text(text: str, language: Language) -> str:
    """One of the core's assumptions as the reader reads it (see the module docstring)."""
    if language != "nb":
        return text
    if text in _FIXED_NB:
        return _FIXED_NB[text]
    for pattern, make in _PATTERNS_NB:
        match = pattern.fullmatch(text)
        if match:
            return make(match)
    return text
