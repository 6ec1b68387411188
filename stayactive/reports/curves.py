"""Kaplan-Meier curves of length of stay per group, for the finance page's chart.

Aggregates only: a curve is a share of stays at each day, published only while at least
:data:`~analytics.stays.suppression.DEFAULT_THRESHOLD` stays are still at risk (a point
resting on fewer would say too much about too few), and a group with fewer stays than that
has no curve at all. The curve stops at the last day every published point can carry; it is
never extended past its last follow-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytics.stays import kaplan_meier
from analytics.stays.store import LoadedStays
from analytics.stays.suppression import DEFAULT_THRESHOLD
from stayactive.reports.tables import group_records

#: Days shown on the chart: the first two months of a stay.
MAX_DAY = 60


@dataclass(frozen=True)
class CurvePoint:
    """S(day) with its pointwise 95 % band (None where the band is undefined)."""

    day: int
    survival: float
    low: float | None
    high: float | None
    at_risk: int


@dataclass(frozen=True)
class Curve:
    """One group's curve; ``group`` is ``arm/period`` (the reader's words are the client's)."""

    group: str
    n_stays: int
    points: tuple[CurvePoint, ...]


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def los_curves(loaded: LoadedStays, *, max_day: int = MAX_DAY) -> list[Curve]:
    """Daily Kaplan-Meier points (day 0 to ``max_day``) of each group with enough stays."""
    out: list[Curve] = []
    for name, records in group_records(loaded.records).items():
        n = len(records.los_days)
        if n < DEFAULT_THRESHOLD:
            continue
        km = kaplan_meier(records.los_days, records.discharged)
        points: list[CurvePoint] = []
        for day in range(max_day + 1):
            at_risk = int(np.sum(records.los_days >= day))
            if at_risk < DEFAULT_THRESHOLD:
                break
            i = int(np.searchsorted(km.time_days, day, side="right")) - 1
            s = float(km.evaluate([day])[0])
            low = _finite(float(km.ci_low[i])) if i >= 0 else 1.0
            high = _finite(float(km.ci_high[i])) if i >= 0 else 1.0
            points.append(CurvePoint(day, s, low, high, at_risk))
        out.append(Curve(name, n, tuple(points)))
    return out
