"""Time helpers: UTC instants as float seconds since the Unix epoch, local days via zoneinfo.

Signals and truth use ``float`` seconds since :data:`EPOCH` (1970-01-01T00:00:00Z) so that
arrays stay plain ``float64``; stay-level records use timezone-aware UTC datetimes. A
"day" is a local calendar day in the ward's time zone and can last 23, 24 or 25 hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TZ",
    "EPOCH",
    "from_epoch_s",
    "local_date_of",
    "local_day_bounds_s",
    "local_wall_time_s",
    "to_epoch_s",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The explicit epoch of every ``*_s`` timestamp in this package."""

DEFAULT_TZ = "Europe/Oslo"
"""Default ward time zone."""


def to_epoch_s(instant: datetime) -> float:
    """Return seconds since :data:`EPOCH` for a timezone-aware datetime.

    Raises
    ------
    ValueError
        If ``instant`` is naive: a naive time cannot be placed on the time line.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: pass a timezone-aware datetime")
    return (instant - EPOCH).total_seconds()


def from_epoch_s(t_s: float) -> datetime:
    """Return the timezone-aware UTC datetime for seconds since :data:`EPOCH`."""
    return EPOCH + timedelta(seconds=float(t_s))


def local_day_bounds_s(day: date, tz: ZoneInfo) -> tuple[float, float]:
    """Return ``(start_s, end_s)`` of a local calendar day: local midnight to next midnight.

    On DST days in Europe/Oslo the span is 23 h (last Sunday of March) or 25 h
    (last Sunday of October).
    """
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return to_epoch_s(start), to_epoch_s(end)


def local_wall_time_s(day: date, hours: float, tz: ZoneInfo) -> float:
    """Return the UTC instant of a wall-clock time ``hours`` after local midnight.

    Intended for daytime anchors (meals, therapy); for wall times that do not exist or
    occur twice on DST nights zoneinfo's ``fold=0`` rule applies, so night events are
    placed in elapsed time instead (see :mod:`firmware_sim.world.routine`).
    """
    hours = min(max(hours, 0.0), 24.0 - 1e-6)
    whole = int(hours * 3600.0)
    wall = datetime.combine(day, time(0), tzinfo=tz) + timedelta(seconds=whole)
    # Adding a timedelta to an aware datetime is wall-clock arithmetic in zoneinfo;
    # re-attach the zone so the offset is the one valid at that wall time.
    wall = wall.replace(tzinfo=tz)
    return to_epoch_s(wall) + (hours * 3600.0 - whole)


def local_date_of(t_s: float, tz: ZoneInfo) -> date:
    """Return the local calendar date of an instant."""
    return from_epoch_s(t_s).astimezone(tz).date()
