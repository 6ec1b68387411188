"""Numbers, dates and times as the reader expects them, on the (Streamlit) server side.

Numbers, kroner, percentages and clock times come from :mod:`stayactive.locale_format`, the one
formatter of the project (the API's text fields and the reports use it too), so a figure reads
the same everywhere; the pages call it directly. This module adds what only the dashboard
needs: dates, "since" times and parsing the API's ISO 8601.
Times are shown in the tenant's time zone (``/me``), never the browser's or the server's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dashboard._i18n import Lang
from stayactive.locale_format import MISSING, format_clock

__all__ = [
    "day_label",
    "long_date",
    "parse_date",
    "parse_datetime",
    "short_date",
    "since",
]

_MONTHS: dict[Lang, tuple[str, ...]] = {
    "nb": ("jan.", "feb.", "mars", "apr.", "mai", "juni", "juli", "aug.", "sep.", "okt.",
           "nov.", "des."),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}  # fmt: skip
_WEEKDAYS: dict[Lang, tuple[str, ...]] = {
    "nb": ("man.", "tir.", "ons.", "tor.", "fre.", "lør.", "søn."),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def parse_datetime(text: str | None) -> datetime | None:
    """An ISO 8601 instant from the API (``Z`` or an offset), or None."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_date(text: str | None) -> date | None:
    """An ISO 8601 date from the API, or None."""
    return date.fromisoformat(text) if text else None


def short_date(day: date, lang: Lang) -> str:
    """``12.03.`` (nb) or ``12 Mar`` (en)."""
    return (
        f"{day.day:02d}.{day.month:02d}."
        if lang == "nb"
        else f"{day.day} {_MONTHS[lang][day.month - 1]}"
    )


def long_date(day: date, lang: Lang) -> str:
    """``tir. 12. mars 2026`` (nb) or ``Tue 12 Mar 2026`` (en)."""
    weekday = _WEEKDAYS[lang][day.weekday()]
    month = _MONTHS[lang][day.month - 1]
    if lang == "nb":
        return f"{weekday} {day.day}. {month} {day.year}"
    return f"{weekday} {day.day} {month} {day.year}"


def day_label(day: date, lang: Lang) -> str:
    """``tir. 12.03.`` (nb) or ``Tue 12 Mar`` (en): a day in a picker or a chart tooltip."""
    return f"{_WEEKDAYS[lang][day.weekday()]} {short_date(day, lang)}"


def since(at: datetime | None, time_zone: str, lang: Lang, *, now: datetime) -> str:
    """When something last happened: ``09:12`` today, ``i går 17:40``, ``12.03. 17:40``."""
    if at is None:
        return MISSING
    zone = ZoneInfo(time_zone)
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    time_text = format_clock(at, time_zone)
    if local.date() == today:
        return time_text
    if local.date() == today - timedelta(days=1):
        return f"{'i går' if lang == 'nb' else 'yesterday'} {time_text}"
    return f"{short_date(local.date(), lang)} {time_text}"
