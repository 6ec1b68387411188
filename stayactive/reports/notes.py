"""The effect estimate's notes (what happened in these data) in the report's language.

The core (:mod:`analytics.stays.effect`) writes its notes in English, naming groups by their
code names ("intervention/after"). A bokmål report gives each note in bokmål with the groups
in plain words; an English report has the core's words. A note this module does not know is
shown as the core wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from stayactive.locale_format import Language, format_day, format_number
from stayactive.reports.labels import group_label


def _groups(names: str) -> str:
    return ", ".join(f"«{group_label(g.strip(), 'nb')}»" for g in names.split(","))


def _n(figure: str, decimals: int | None = None) -> str:
    """A figure of the core's text in bokmål (whole numbers without decimals by default)."""
    if decimals is None:
        return format_day(float(figure), language="nb")
    return format_number(float(figure), decimals, language="nb")


_NB: Final[tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]] = (
    (
        re.compile(
            r"Horizon shortened from day (\S+) to day (\S+): group (\S+) is not followed further "
            r"with at least (\d+) stays under observation\."
        ),
        lambda m: (
            f"Horisonten er forkortet fra dag {_n(m[1])} til dag {_n(m[2])}: gruppen "
            f"{_groups(m[3])} er ikke fulgt lenger med minst {m[4]} opphold under observasjon. "
            "Liggedøgn etter den dagen telles ikke (verken som bruk eller gevinst)."
        ),
    ),
    (
        re.compile(r"(\d+) stays are not part of this design and were not used\."),
        lambda m: f"{_n(m[1])} opphold hører ikke til denne sammenligningen og er ikke brukt.",
    ),
    (
        re.compile(r"(\d+) of (\d+) intervention stays are in strata where a comparison group"),
        lambda m: (
            f"{_n(m[1])} av {_n(m[2])} programopphold er i grupper av beboere der en "
            "sammenligningsgruppe ikke har opphold, og er utelatt; anslaget gjelder de øvrige "
            "programoppholdene."
        ),
    ),
    (
        re.compile(r"In (\d+) resampled curves \(of (\d+) replicates\) the longest stay"),
        lambda m: (
            f"I {_n(m[1])} av {_n(m[2])} bootstrap-kurver pågikk det lengste oppholdet "
            "ennå før horisonten; disse kurvene er holdt flate (ingen flere utskrivninger antatt)."
        ),
    ),
    (
        re.compile(r"(\d+) resampled cells drew no stay and took the point value\."),
        lambda m: (
            f"{_n(m[1])} celler i bootstrap-trekningene fikk ingen opphold og tok punktanslaget."
        ),
    ),
    (
        re.compile(r"After weighting, (\S+) still differs .*\(largest \|SMD\| ([0-9.]+) > 0\.1\)"),
        lambda m: (
            f"Etter vekting skiller {_groups(m[1])} seg fortsatt fra programoppholdene på "
            f"minst ett kjennetegn (største standardiserte forskjell {_n(m[2], 2)} > 0,1)."
        ),
    ),
    (
        re.compile(r"The weights of (\S+) are uneven: (\d+) stays count as (\d+)"),
        lambda m: (
            f"Vektene for {_groups(m[1])} er ujevne: {_n(m[2])} opphold teller som "
            f"{_n(m[3])} (sammensetningen av beboere overlapper dårlig)."
        ),
    ),
    (
        re.compile(
            r"Readmission effect not estimable: fewer than (\d+) stays with complete 30-day "
            r"follow-up in (.+?) \(stays still going on"
        ),
        lambda m: (
            f"Effekten på reinnleggelser kan ikke anslås ennå: færre enn {m[1]} opphold "
            f"med full oppfølging i 30 dager i {_groups(m[2])} (opphold som pågår eller endte for "
            "under 30 dager siden, eller ukjent oppfølging)."
        ),
    ),
    (
        re.compile(r"In (\d+) resampled cells no readmission outcome was known"),
        lambda m: (
            f"I {_n(m[1])} celler i bootstrap-trekningene var ingen reinnleggelse kjent; "
            "de cellene brukte gruppens samlede risiko."
        ),
    ),
)


def effect_note(note: str, language: Language) -> str:
    """One of the core's notes on the effect estimate, in ``language``."""
    if language == "nb":
        for pattern, nb in _NB:
            if m := pattern.match(note):
                return nb(m)
    return note
