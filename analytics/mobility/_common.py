"""Shared definitions of the mobility metrics: version, time zones, local days, intervals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_TZ",
    "METRIC_VERSION",
    "as_zone",
    "clip_intervals",
    "local_date_of",
    "local_day_window",
    "total_length",
]

METRIC_VERSION = "mobility-1.0.0"
"""Version of the metric definitions, stored with every result.

Bump the minor version when a threshold or algorithm changes values, the major version when
a metric's meaning changes; results of different versions must not be compared.
"""

DEFAULT_TZ = "Europe/Oslo"

FloatArray = npt.NDArray[np.float64]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def as_zone(tz: ZoneInfo | str) -> ZoneInfo:
    """A ``ZoneInfo`` from a zone or its IANA name."""
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def local_day_window(day: date, tz: ZoneInfo | str = DEFAULT_TZ) -> tuple[float, float]:
    """``[start_s, end_s)`` of a local calendar day in epoch seconds (23, 24 or 25 h long).

    Examples
    --------
    >>> from datetime import date
    >>> a, b = local_day_window(date(2026, 3, 29))  # spring forward in Oslo
    >>> (b - a) / 3600
    23.0
    """
    zone = as_zone(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return (start - _EPOCH).total_seconds(), (end - _EPOCH).total_seconds()


def local_date_of(t_s: float, tz: ZoneInfo | str = DEFAULT_TZ) -> date:
    """Local calendar date of an instant (epoch seconds)."""
    return (_EPOCH + timedelta(seconds=float(t_s))).astimezone(as_zone(tz)).date()


def clip_intervals(iv: FloatArray, start_s: float, end_s: float) -> FloatArray:
    """Intervals ``(k, 2)`` cut to ``[start_s, end_s)``, empty ones dropped, then merged."""
    if len(iv) == 0:
        return np.zeros((0, 2))
    a = np.clip(iv[:, 0], start_s, end_s)
    b = np.clip(iv[:, 1], start_s, end_s)
    keep = b > a
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return np.zeros((0, 2))
    order = np.argsort(a, kind="stable")
    a, b = a[order], b[order]
    reach = np.maximum.accumulate(b)
    new = np.concatenate(([True], a[1:] > reach[:-1]))
    starts = a[new]
    ends = np.maximum.reduceat(b, np.flatnonzero(new))
    out: FloatArray = np.column_stack([starts, ends])
    return out


def total_length(iv: FloatArray) -> float:
    """Summed length of merged intervals."""
    return float(np.sum(iv[:, 1] - iv[:, 0])) if len(iv) else 0.0
