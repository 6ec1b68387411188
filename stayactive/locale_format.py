"""Numbers, kroner, percentages and times as a Norwegian (bokmål) or English reader expects them.

The one formatter of the project: the savings report (PDF, CSV, JSON), the API's text fields
(ward overview, alerts) and the dashboard all format through these functions, so a figure reads
the same everywhere. It sits at the bottom of the hub (it imports nothing of ours) so that
every layer and the dashboard may use it.

Bokmål (``"nb"``, the default; Språkrådet's rules): decimal comma, a no-break space between
thousands, the minus sign U+2212, "mill. kr" with one decimal, a space before the per cent sign
("15 %"), intervals with an en dash ("1,2–3,4"). English (``"en"``): decimal point, comma
between thousands, "NOK 1.2 million", "15%"; the minus sign is U+2212 in both. A missing
figure (None or NaN) is an en dash.

>>> format_number(-1234.5, 1)
'−1\\xa0234,5'
>>> format_nok(12_345_678)
'12,3\\xa0mill.\\xa0kr'
>>> format_nok(12_345_678, language="en")
'NOK\\xa012.3\\xa0million'
>>> format_percent(0.153)
'15\\xa0%'
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

Language = Literal["nb", "en"]
LANGUAGES: Final = ("nb", "en")

MINUS: Final = "\u2212"
NBSP: Final = "\u00a0"
EN_DASH: Final = "\u2013"
#: Shown for a missing figure.
MISSING: Final = EN_DASH


def check_language(language: str) -> Language:
    """``language`` if it is ``"nb"`` or ``"en"``; ValueError otherwise."""
    if language == "nb":
        return "nb"
    if language == "en":
        return "en"
    raise ValueError(f"language must be 'nb' (bokmål) or 'en' (English), got {language!r}")


def format_number(x: float | None, decimals: int = 0, *, language: Language = "nb") -> str:
    """A number with grouped thousands and a proper minus sign (infinite: "∞"; None or NaN:
    an en dash)."""
    if x is None or math.isnan(x):
        return MISSING
    if math.isinf(x):
        return ("" if x > 0 else MINUS) + "∞"
    text = f"{abs(x):,.{decimals}f}"
    if language == "nb":
        text = text.replace(",", NBSP).replace(".", ",")
    # -0.0 and values that round to zero carry no sign
    negative = x < 0 and any(ch not in "0,.\u00a0" for ch in text)
    return (MINUS if negative else "") + text


def format_day(x: float, *, language: Language = "nb") -> str:
    """A day of a stay: a whole day without decimals ("60"), else with one ("39,1")."""
    return format_number(x, 0 if round(x, 1).is_integer() else 1, language=language)


def format_nok(x: float | None, *, language: Language = "nb", millions: bool | None = None) -> str:
    """An amount in NOK: "12,3 mill. kr" / "NOK 12.3 million" from a million up (or when
    ``millions`` is True), otherwise whole kroner ("45 600 kr" / "NOK 45,600")."""
    if x is None or math.isnan(x):
        return MISSING
    use_millions = abs(x) >= 1e6 if millions is None else millions
    if use_millions:
        figure = format_number(x / 1e6, 1, language=language)
        if language == "nb":
            return f"{figure}{NBSP}mill.{NBSP}kr"
        return f"NOK{NBSP}{figure}{NBSP}million"
    figure = format_number(x, 0, language=language)
    return f"{figure}{NBSP}kr" if language == "nb" else f"NOK{NBSP}{figure}"


def format_percent(
    share: float | None, decimals: int = 0, *, language: Language = "nb", signed: bool = False
) -> str:
    """A share (0.153) as a percentage ("15 %" / "15%"); ``signed`` puts a "+" before a
    positive change."""
    if share is None or math.isnan(share):
        return MISSING
    figure = format_number(100.0 * share, decimals, language=language)
    if signed and share > 0 and any(ch not in "0,.\u00a0" for ch in figure):
        figure = "+" + figure
    return f"{figure}{NBSP}%" if language == "nb" else f"{figure}%"


def format_unit(x: float | None, decimals: int, symbol: str, *, language: Language = "nb") -> str:
    """A number with its unit: "0,82 m/s", "12 min" (an en dash alone if missing)."""
    if x is None or math.isnan(x):
        return MISSING
    return f"{format_number(x, decimals, language=language)}{NBSP}{symbol}"


def format_clock(at: datetime | None, time_zone: str) -> str:
    """Local time of day in ``time_zone``, "09:12" (24-hour in both languages)."""
    if at is None:
        return MISSING
    return at.astimezone(ZoneInfo(time_zone)).strftime("%H:%M")


def format_date(day: date | None, *, language: Language = "nb") -> str:
    """A calendar day in running text: "02.12.2026" in bokmål (Språkrådet's numeric form, as
    the dashboard writes days), ISO 8601 "2026-12-02" in English (unambiguous to every
    English reader); None: an en dash."""
    if day is None:
        return MISSING
    return f"{day.day:02d}.{day.month:02d}.{day.year}" if language == "nb" else day.isoformat()


def format_datetime(at: datetime, time_zone: str, *, language: Language = "nb") -> str:
    """An instant as a local date and time of day in ``time_zone``: "03.12.2026 kl. 15.48" in
    bokmål (Språkrådet: "kl." and a full stop between hours and minutes), "2026-12-03 15:48" in
    English."""
    local = at.astimezone(ZoneInfo(time_zone))
    day = format_date(local.date(), language=language)
    if language == "nb":
        return f"{day} kl.{NBSP}{local:%H.%M}"
    return f"{day} {local:%H:%M}"


def format_range(low: str, high: str, *, language: Language = "nb") -> str:
    """Two formatted ends joined by an en dash ("1,2–3,4"); by "til"/"to" when an end is
    negative (a dash beside a minus sign misreads); spaced when an end has spaces inside."""
    if low.startswith(MINUS) or high.startswith(MINUS):
        return f"{low} {'til' if language == 'nb' else 'to'} {high}"
    spaced = NBSP in low or NBSP in high or " " in low or " " in high
    return f"{low} {EN_DASH} {high}" if spaced else f"{low}{EN_DASH}{high}"


def confidence_label(level: float = 0.95, *, language: Language = "nb") -> str:
    """ "95 % KI" / "95% CI"."""
    pct = format_percent(level, 0, language=language)
    return f"{pct} KI" if language == "nb" else f"{pct} CI"
