"""A report figure as text: the number in the reader's format and its unit (PDF, headline).

:func:`format_figure` picks the form by unit (NOK in "mill. kr" from a million up, shares as
per cent, days with one decimal, counts whole); :func:`format_cell` adds the interval and the
note of a :class:`~stayactive.reports.model.Value`. The numbers go through
:mod:`stayactive.locale_format`, the units through :mod:`stayactive.reports.labels`.
"""

from __future__ import annotations

from typing import Final

from stayactive.locale_format import (
    NBSP,
    Language,
    format_nok,
    format_number,
    format_percent,
    format_range,
)
from stayactive.reports.labels import unit_label
from stayactive.reports.model import Cell, Value

_COUNTS: Final = frozenset(
    {"stays", "wards", "discharges home", "devices", "beds", "stays/year", "bed-days/year"}
)
_NOK: Final = frozenset({"NOK/year", "NOK", "NOK/bed-day", "NOK/device/year", "NOK/hour"})
#: Units shown as a percentage: shares, and a risk (readmissions per discharge home reads
#: "11 %", not "0,1").
_PERCENT: Final = frozenset({"share", "share/year", "share of budget",
                             "readmissions per discharge home"})  # fmt: skip


def _number(x: float, unit: str, language: Language, *, millions: bool) -> str:
    if unit in _NOK:
        return format_nok(x, language=language, millions=millions)
    if unit in _PERCENT:
        return format_percent(x, 1 if abs(x) < 0.1 else 0, language=language)
    if unit == "probability":
        return format_number(x, 2, language=language)
    if unit == "year":
        return f"{x:.0f}"
    if unit in _COUNTS or unit == "readmissions/year":
        return format_number(x, 0 if unit != "readmissions/year" else 1, language=language)
    if unit in ("readmissions per stay", "readmissions avoided per stay"):
        return format_number(x, 3, language=language)
    if unit in ("SMD", "E-value", "NOK cash per NOK spent"):
        return format_number(x, 2, language=language)
    return format_number(x, 1, language=language)


#: NOK figures from this size up are shown in millions with one decimal.
MILLIONS_FROM: Final = 1e5


def format_figure(x: float | None, unit: str, language: Language = "nb") -> str:
    """One number with its unit, e.g. ``"12,3 mill. kr/år"``, ``"1,9 døgn per opphold"``."""
    if x is None:
        return "–"
    if unit == "NOK/year":
        text = format_nok(x, language=language, millions=abs(x) >= MILLIONS_FROM)
        return text + ("/år" if language == "nb" else "/year")
    text = _number(x, unit, language, millions=abs(x) >= MILLIONS_FROM)
    if unit in _NOK or unit in _PERCENT or unit in ("probability", "SMD", "year", "E-value"):
        return text
    label = unit_label(unit, language)
    return f"{text}{NBSP}{label}" if label else text


def format_interval(low: float | None, high: float | None, unit: str, language: Language) -> str:
    """The interval ends in the unit of the figure: "8,1–16,5 mill. kr", "10–20 %", "−3,6 til
    −1,4 mill. kr"; an end the data cannot bound is "ikke nådd" / "not reached"."""
    if low is None and high is None:
        return "–"
    if low is None or high is None:
        unbounded = "ikke nådd" if language == "nb" else "not reached"
        end = low if high is None else high
        assert end is not None
        known = _number(end, unit, language, millions=False)
        return f"{known} {'til' if language == 'nb' else 'to'} {unbounded}"
    if unit in _NOK:
        if max(abs(low), abs(high)) >= MILLIONS_FROM:
            a, b = (format_number(x / 1e6, 1, language=language) for x in (low, high))
            span = format_range(a, b, language=language)
            if language == "nb":
                return f"{span}{NBSP}mill.{NBSP}kr"
            return f"NOK{NBSP}{span}{NBSP}million"
        a, b = (format_number(x, 0, language=language) for x in (low, high))
        span = format_range(a, b, language=language)
        return f"{span}{NBSP}kr" if language == "nb" else f"NOK{NBSP}{span}"
    if unit in _PERCENT:
        digits = 1 if max(abs(low), abs(high)) < 0.1 else 0
        a, b = (format_number(100 * x, digits, language=language) for x in (low, high))
        span = format_range(a, b, language=language)
        return f"{span}{NBSP}%" if language == "nb" else f"{span}%"
    a, b = (_number(x, unit, language, millions=False) for x in (low, high))
    return format_range(a, b, language=language)


def note_text(note: str, language: Language) -> str:
    """A cell's note as the reader reads it: why a figure is withheld or missing, in the
    report's language (the notes the tables write in words are already in it)."""
    if note.startswith(("suppressed", "withheld")):
        return "skjult, < 5" if language == "nb" else "suppressed, < 5"
    if note == "not reached":
        return "ikke nådd" if language == "nb" else "not reached"
    if note == "interval end not reached" and language == "nb":
        return "intervallgrensen er ikke nådd"
    return note


def format_cell(cell: Cell, language: Language = "nb", *, bare_millions: bool = False) -> str:
    """A table cell as text: figure, unit and bracketed interval; a note where no figure.

    ``bare_millions``: NOK as a bare number of millions with one decimal (the table's heading
    says "mill. kr"), for narrow columns.
    """
    if isinstance(cell, str):
        return cell
    if not isinstance(cell, Value):
        return str(cell)
    if bare_millions and cell.unit in _NOK and cell.value is not None:
        figure = format_number(cell.value / 1e6, 1, language=language)
        if cell.low is None or cell.high is None:
            return figure
        a, b = (format_number(x / 1e6, 1, language=language) for x in (cell.low, cell.high))
        return f"{figure} [{format_range(a, b, language=language)}]"
    if cell.value is None:
        note = note_text(cell.note, language)
        return f"– ({note})" if note else "–"
    text = format_figure(cell.value, cell.unit, language)
    if cell.unit == "E-value" and cell.note:
        return f"{text} ({cell.note})"
    if cell.low is not None or cell.high is not None or "interval end" in cell.note:
        text += f" [{format_interval(cell.low, cell.high, cell.unit, language)}]"
    return text


def format_estimate(cell: Value, language: Language = "nb") -> str:
    """A figure with its interval as a sentence has it: "19,9 mill. kr/år (95 % KI 0,4–44,2
    mill. kr)"."""
    text = format_figure(cell.value, cell.unit, language)
    if cell.low is None and cell.high is None:
        return text
    label = "95\u00a0% KI" if language == "nb" else "95% CI"
    return f"{text} ({label} {format_interval(cell.low, cell.high, cell.unit, language)})"
