"""Numbers, percentages, times and kroner as people read them: Norwegian bokmål or English.

Bokmål (Språkrådet's rules): decimal comma, a (non-breaking) space between thousands, a space
before ``%``, the minus sign U+2212, "mill. kr" for millions of kroner. English: decimal point,
comma between thousands. The API formats on the server side so that every client shows the
same text; the raw numbers are always next to it.

NOTE: the savings report may bring its own ``format_no`` helper (branch ``savings``); when both
are on main, keep one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Lang = Literal["nb", "en"]

_NBSP = "\u00a0"
_MINUS = "\u2212"
#: Shown for a missing figure (an en dash).
MISSING = "\u2013"


def number(value: float | None, decimals: int = 0, lang: Lang = "nb") -> str:
    """``1 234,5`` (nb) or ``1,234.5`` (en); an en dash for None."""
    if value is None:
        return MISSING
    text = f"{abs(value):,.{decimals}f}"
    if lang == "nb":
        text = text.replace(",", _NBSP).replace(".", ",")
    negative = value < 0 and text.strip("0,.\u00a0") != ""
    return (_MINUS if lang == "nb" else "-") + text if negative else text


def percent(
    fraction: float | None, decimals: int = 0, lang: Lang = "nb", *, signed: bool = False
) -> str:
    """A fraction as a percentage: ``-35 %`` (nb, with the minus sign U+2212) or ``-35%`` (en)."""
    if fraction is None:
        return MISSING
    text = number(fraction * 100, decimals, lang)
    if signed and fraction > 0 and text.strip("0,.") != "":
        text = "+" + text
    return f"{text}{_NBSP}%" if lang == "nb" else f"{text}%"


def unit(value: float | None, decimals: int, symbol: str, lang: Lang = "nb") -> str:
    """A number with its unit: ``0,82 m/s``, ``12 min``."""
    if value is None:
        return MISSING
    return f"{number(value, decimals, lang)}{_NBSP}{symbol}"


def clock(at: datetime | None, time_zone: str, lang: Lang = "nb") -> str:
    """Local time of day, ``09:12`` (24-hour in both languages)."""
    if at is None:
        return MISSING
    return at.astimezone(ZoneInfo(time_zone)).strftime("%H:%M")


def nok(amount: float | None, lang: Lang = "nb") -> str:
    """Kroner: ``1,2 mill. kr`` from a million up, else ``45 300 kr`` (nb); ``NOK 1.2 million``."""
    if amount is None:
        return MISSING
    if abs(amount) >= 1_000_000:
        millions = number(amount / 1_000_000, 1, lang)
        return f"{millions}{_NBSP}mill.{_NBSP}kr" if lang == "nb" else f"NOK {millions} million"
    whole = number(amount, 0, lang)
    return f"{whole}{_NBSP}kr" if lang == "nb" else f"NOK {whole}"
