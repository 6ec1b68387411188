"""A stay's course: change in gait speed and daily steps since admission, with flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import stats

from analytics.mobility._common import METRIC_VERSION
from analytics.mobility._resident_day import ResidentDayMetrics

__all__ = [
    "COMMUNITY_SPEED_MPS",
    "SMALL_CHANGE_MPS",
    "SUBSTANTIAL_CHANGE_MPS",
    "Slope",
    "StayTrajectory",
    "stay_trajectory",
]

SMALL_CHANGE_MPS = 0.05
"""Small meaningful change in gait speed (Perera et al. 2006)."""
SUBSTANTIAL_CHANGE_MPS = 0.10
"""Substantial meaningful change in gait speed (Perera et al. 2006)."""
COMMUNITY_SPEED_MPS = 0.8
"""Gait speed above which older adults are likely community ambulators (Perry et al. 1995)."""
STEPS_DECLINE_FRACTION = 0.2
"""A fall in daily steps by this fraction over three days is flagged (our assumption)."""
BASELINE_DAYS = 3
"""Days with data averaged (median) for the baseline at admission and the latest level."""


@dataclass(frozen=True)
class Slope:
    """Theil-Sen slope per day with its 95 % confidence interval, and the points it used."""

    per_day: float
    low: float
    high: float
    n_days: int


@dataclass(frozen=True)
class StayTrajectory:
    """Course of one stay (one row per stay).

    Attributes
    ----------
    first_day, last_day : date or None
        First and last day with walker data.
    n_days, n_days_with_data : int
    gait_speed_baseline_mps, gait_speed_latest_mps : float or None
        Median of the daily gait speeds of the first / last three days with data.
    gait_speed_change_mps : float or None
        Latest minus baseline.
    gait_speed_slope : Slope or None
        Theil-Sen slope of the daily median gait speed (m/s per day); needs 3 days.
    gait_speed_change_class : str or None
        ``substantial_improvement`` (>= +0.10 m/s), ``small_improvement`` (>= +0.05),
        ``no_meaningful_change``, ``small_decline`` (<= -0.05), ``substantial_decline``
        (<= -0.10), after Perera et al. (2006).
    steps_baseline, steps_latest, steps_change : float or None
    steps_slope : Slope or None
    days_to_community_speed : int or None
        Days from admission to the first day whose median gait speed reached 0.8 m/s.
    declining_3d : bool
        Gait speed fell on each of the last three consecutive days with data, by at least
        0.05 m/s in all.
    steps_declining_3d : bool
        Daily steps fell on each of the last three consecutive days, by at least 20 %.
    flags : tuple of str
    metric_version : str
    """

    first_day: date | None
    last_day: date | None
    n_days: int
    n_days_with_data: int
    gait_speed_baseline_mps: float | None
    gait_speed_latest_mps: float | None
    gait_speed_change_mps: float | None
    gait_speed_slope: Slope | None
    gait_speed_change_class: str | None
    steps_baseline: float | None
    steps_latest: float | None
    steps_change: float | None
    steps_slope: Slope | None
    days_to_community_speed: int | None
    declining_3d: bool
    steps_declining_3d: bool
    flags: tuple[str, ...]
    metric_version: str = METRIC_VERSION


def _slope(x: np.ndarray, y: np.ndarray) -> Slope | None:
    if len(x) < 3 or np.ptp(x) == 0:
        return None
    res = stats.theilslopes(y, x, alpha=0.95)
    return Slope(float(res.slope), float(res.low_slope), float(res.high_slope), len(x))


def _change_class(change: float | None) -> str | None:
    if change is None:
        return None
    eps = 1e-9  # a change of exactly 0.05 m/s counts as meaningful
    if change >= SUBSTANTIAL_CHANGE_MPS - eps:
        return "substantial_improvement"
    if change >= SMALL_CHANGE_MPS - eps:
        return "small_improvement"
    if change <= -SUBSTANTIAL_CHANGE_MPS + eps:
        return "substantial_decline"
    if change <= -SMALL_CHANGE_MPS + eps:
        return "small_decline"
    return "no_meaningful_change"


def _falling_3d(days: np.ndarray, y: np.ndarray, min_drop: float, relative: bool) -> bool:
    """The last three points are consecutive days, each lower than the one before."""
    if len(y) < 3 or days[-1] - days[-3] != 2:
        return False
    a, b, c = y[-3:]
    if not (b < a and c < b):
        return False
    drop = (a - c) / a if relative else a - c
    return bool(drop >= min_drop - 1e-9) if (not relative or a > 0) else False


def stay_trajectory(
    days: Sequence[tuple[date, ResidentDayMetrics]], *, admission_date: date | None = None
) -> StayTrajectory:
    """Summarise a stay's mobility course from its resident-days.

    1. Order the days; keep those with walker data (days without data are gaps, never
       zeros).
    2. Baseline and latest level: medians of the first and last three days with a value;
       change = latest - baseline; class by the meaningful-change thresholds.
    3. Theil-Sen slopes (``scipy.stats.theilslopes``, 95 % interval) of daily gait speed and
       steps against days since admission.
    4. Days from admission to the first day at or above 0.8 m/s.
    5. Three-day decline flags.

    Parameters
    ----------
    days : sequence of (date, ResidentDayMetrics)
        The stay's resident-days, any order.
    admission_date : date, optional
        Day 0; the first day given if omitted.

    References
    ----------
    .. [1] Perera S, Mody SH, Woodman RC, Studenski SA. Meaningful change and responsiveness
       in common physical performance measures in older adults. J Am Geriatr Soc
       2006;54(5):743-749. doi:10.1111/j.1532-5415.2006.00701.x
    .. [2] Sen PK. Estimates of the regression coefficient based on Kendall's tau. J Am Stat
       Assoc 1968;63(324):1379-1389. doi:10.1080/01621459.1968.10480934
    """
    # 1.
    ordered = sorted(days, key=lambda d: d[0])
    day0 = admission_date if admission_date is not None else (ordered[0][0] if ordered else None)
    with_data = [(d, m) for d, m in ordered if m.walker_data]

    def series(attr: str) -> tuple[np.ndarray, np.ndarray]:
        pts = [(d, getattr(m, attr)) for d, m in with_data if getattr(m, attr) is not None]
        if day0 is None or not pts:
            return np.zeros(0), np.zeros(0)
        x = np.array([(d - day0).days for d, _ in pts], dtype=np.float64)
        y = np.array([v for _, v in pts], dtype=np.float64)
        return x, y

    xs, vs = series("gait_speed_median_mps")
    xn, sn = series("steps_n")

    # 2.
    def level(y: np.ndarray, first: bool) -> float | None:
        if len(y) == 0:
            return None
        part = y[:BASELINE_DAYS] if first else y[-BASELINE_DAYS:]
        return float(np.median(part))

    v0, v1 = level(vs, True), level(vs, False)
    s0, s1 = level(sn, True), level(sn, False)
    # Change needs two distinct periods: at least two days with a value.
    v_change = v1 - v0 if (v0 is not None and v1 is not None and len(vs) >= 2) else None
    s_change = s1 - s0 if (s0 is not None and s1 is not None and len(sn) >= 2) else None
    cls = _change_class(v_change)
    # 3.
    v_slope, s_slope = _slope(xs, vs), _slope(xn, sn)
    # 4.
    reached = np.flatnonzero(vs >= COMMUNITY_SPEED_MPS - 1e-9)
    to_community = int(xs[reached[0]]) if len(reached) else None
    # 5.
    declining = _falling_3d(xs, vs, SMALL_CHANGE_MPS, relative=False)
    steps_declining = _falling_3d(xn, sn, STEPS_DECLINE_FRACTION, relative=True)
    flags: list[str] = []
    if cls is not None and cls != "no_meaningful_change":
        flags.append(f"gait_speed_{cls}")
    if declining:
        flags.append("gait_speed_declining_3d")
    if steps_declining:
        flags.append("steps_declining_3d")
    if to_community is not None:
        flags.append("reached_community_speed")
    return StayTrajectory(
        first_day=with_data[0][0] if with_data else None,
        last_day=with_data[-1][0] if with_data else None,
        n_days=len(ordered),
        n_days_with_data=len(with_data),
        gait_speed_baseline_mps=v0,
        gait_speed_latest_mps=v1,
        gait_speed_change_mps=v_change,
        gait_speed_slope=v_slope,
        gait_speed_change_class=cls,
        steps_baseline=s0,
        steps_latest=s1,
        steps_change=s_change,
        steps_slope=s_slope,
        days_to_community_speed=to_community,
        declining_3d=declining,
        steps_declining_3d=steps_declining,
        flags=tuple(flags),
    )
