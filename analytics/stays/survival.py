"""Length of stay as time-to-discharge: Kaplan-Meier, median, restricted mean, destinations.

The "event" is the end of the stay, whatever the destination; a stay still going on at the
analysis date is right-censored at its elapsed length. The Kaplan-Meier curve is the share of
stays **still in the stay** after t days. Because ongoing stays are the long ones, a plain mean
of observed lengths would be biased low; the restricted mean (RMST) to a horizon τ is the
censoring-aware summary: the expected number of bed-days a stay uses within its first τ days
(Royston & Parmar 2013).

Where a stay ends is a set of competing outcomes (home, long-term care, hospital, death). The
share discharged to one destination by day t is the Aalen-Johansen cumulative incidence, not
``1 - KM`` of that destination with the others treated as censored, which overstates it
(Putter, Fiocco & Geskus 2007).

References
----------
.. [1] Kaplan EL, Meier P. Nonparametric estimation from incomplete observations.
   J Am Stat Assoc 1958;53(282):457-481. doi:10.1080/01621459.1958.10501452
.. [2] Brookmeyer R, Crowley J. A confidence interval for the median survival time.
   Biometrics 1982;38(1):29-41. doi:10.2307/2530286
.. [3] Royston P, Parmar MKB. Restricted mean survival time: an alternative to the hazard ratio
   for the design and analysis of randomized trials with a time-to-event outcome.
   BMC Med Res Methodol 2013;13:152. doi:10.1186/1471-2288-13-152
.. [4] Aalen OO, Johansen S. An empirical transition matrix for non-homogeneous Markov chains
   based on censored observations. Scand J Stat 1978;5(3):141-150.
.. [5] Putter H, Fiocco M, Geskus RB. Tutorial in biostatistics: competing risks and
   multi-state models. Stat Med 2007;26(11):2389-2430. doi:10.1002/sim.2712
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from analytics.stays._common import (
    BoolArray,
    Estimate,
    FloatArray,
    IntArray,
    StrArray,
    check_confidence_level,
    check_horizon,
)
from analytics.stays.errors import InsufficientData
from analytics.stays.records import DESTINATIONS

#: Default horizon of the restricted mean, in days.
DEFAULT_HORIZON_DAYS: Final = 60.0


@dataclass(frozen=True, eq=False)
class KaplanMeier:
    """The Kaplan-Meier estimate of the share of stays still going on.

    Attributes
    ----------
    time_days
        Every distinct LOS in the sample (discharges and censorings), ascending.
    survival
        S(t) at and after each time (right-continuous step function).
    ci_low, ci_high
        Pointwise confidence band (Greenwood variance, log-log transform); NaN where the
        variance is undefined (after S reaches 0), see :func:`median_los`.
    n_at_risk, n_discharged
        Stays with LOS >= t, and discharges at exactly t.
    confidence_level
        Nominal level of the band.
    """

    time_days: FloatArray
    survival: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    n_at_risk: IntArray
    n_discharged: IntArray
    confidence_level: float

    def evaluate(self, t_days: npt.ArrayLike) -> FloatArray:
        """S(t) at the given times (1 before the first time)."""
        t = np.asarray(t_days, dtype=np.float64)
        idx = np.searchsorted(self.time_days, t, side="right") - 1
        padded = np.concatenate(([1.0], self.survival))
        out: FloatArray = padded[idx + 1]
        return out


def _checked_sample(
    los_days: npt.ArrayLike, discharged: npt.ArrayLike
) -> tuple[FloatArray, BoolArray]:
    los = np.asarray(los_days, dtype=np.float64)
    event = np.asarray(discharged, dtype=np.bool_)
    if los.ndim != 1 or event.shape != los.shape:
        raise ValueError(
            "los_days and discharged must be 1-D of equal length, "
            f"got {los.shape} and {event.shape}"
        )
    if np.any(~np.isfinite(los) | (los < 0)):
        raise ValueError("los_days must be finite and >= 0")
    if los.size == 0:
        raise InsufficientData("Kaplan-Meier estimate", n_available=0, n_required=1)
    return los, event


def _ecdf_sf(los: FloatArray, event: BoolArray) -> Any:
    """The survival function from :func:`scipy.stats.ecdf` (an EmpiricalDistributionFunction)."""
    data = stats.CensoredData(uncensored=los[event], right=los[~event])
    return stats.ecdf(data).sf


def kaplan_meier(
    los_days: npt.ArrayLike, discharged: npt.ArrayLike, *, confidence_level: float = 0.95
) -> KaplanMeier:
    """Kaplan-Meier estimate of the share of stays still going on after t days.

    Parameters
    ----------
    los_days
        Elapsed length of each stay, days (to the analysis date for ongoing stays).
    discharged
        True where the stay ended, False where it is censored.
    confidence_level
        Level of the pointwise band.

    Returns
    -------
    KaplanMeier

    Raises
    ------
    InsufficientData
        If there are no stays.

    Notes
    -----
    Computed by :func:`scipy.stats.ecdf` on :class:`scipy.stats.CensoredData`; a censored stay
    counts as at risk at its own time (discharges happen first at tied times).
    """
    level = check_confidence_level(confidence_level)
    los, event = _checked_sample(los_days, discharged)
    sf = _ecdf_sf(los, event)
    with warnings.catch_warnings():
        # scipy warns where the log-log band is undefined (S = 0); those points become NaN.
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        band = sf.confidence_interval(level, method="log-log")
    times = np.asarray(sf.quantiles, dtype=np.float64)
    sorted_los = np.sort(los)
    at_risk = sorted_los.size - np.searchsorted(sorted_los, times, side="left")
    events_sorted = np.sort(los[event])
    n_events = np.searchsorted(events_sorted, times, side="right") - np.searchsorted(
        events_sorted, times, side="left"
    )
    return KaplanMeier(
        time_days=times,
        survival=np.asarray(sf.probabilities, dtype=np.float64),
        ci_low=np.asarray(band.low.probabilities, dtype=np.float64),
        ci_high=np.asarray(band.high.probabilities, dtype=np.float64),
        n_at_risk=at_risk.astype(np.int64),
        n_discharged=n_events.astype(np.int64),
        confidence_level=level,
    )


def median_los(km: KaplanMeier) -> Estimate:
    """Median length of stay with a confidence interval, from a Kaplan-Meier estimate.

    The median is the first time the curve is at or below 0.5. The interval inverts the
    pointwise band (Brookmeyer & Crowley 1982): its lower end is the first time the lower band
    is at or below 0.5, its upper end the first time the upper band is. Where the band is
    undefined because S has reached 0, the lower band is taken as 0 and the upper band as
    unknown; where it is undefined because S is still 1 (stays censored before the first
    discharge), both are taken as 1.

    Returns
    -------
    Estimate
        In days. ``math.inf`` for the median or an interval end that the follow-up does not
        reach (e.g. fewer than half the stays have ended).
    """

    def first_at_or_below_half(curve: FloatArray) -> float:
        hit = np.flatnonzero(curve <= 0.5)
        return float(km.time_days[hit[0]]) if hit.size else math.inf

    # The log-log band is undefined (NaN) where S is 1 (a censoring before the first discharge)
    # or 0. Where S = 1 both band ends are 1: nothing has been discharged, so the median cannot
    # lie there. Where S = 0 the lower band is 0 and the upper unknown.
    at_one = km.survival >= 1.0
    low_band = np.where(np.isnan(km.ci_low), np.where(at_one, 1.0, 0.0), km.ci_low)
    high_band = np.where(np.isnan(km.ci_high), np.where(at_one, 1.0, np.inf), km.ci_high)
    return Estimate(
        value=first_at_or_below_half(km.survival),
        low=first_at_or_below_half(low_band),
        high=first_at_or_below_half(high_band),
        confidence_level=km.confidence_level,
        unit="days",
    )


def restricted_mean_los(
    los_days: npt.ArrayLike,
    discharged: npt.ArrayLike,
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    beyond_follow_up: Literal["raise", "extend"] = "raise",
) -> float:
    """Restricted mean length of stay (RMST) to ``horizon_days``: the area under Kaplan-Meier.

    It is the expected number of days a stay lasts within its first ``horizon_days`` days,
    i.e. bed-days per stay counting at most ``horizon_days``; with no censoring and every stay
    shorter than the horizon it equals the plain mean LOS.

    Parameters
    ----------
    los_days, discharged
        As for :func:`kaplan_meier`.
    horizon_days
        The restriction τ, days (default 60).
    beyond_follow_up
        What to do when the longest stay is censored before τ (the curve is undefined from
        there on): ``"raise"`` (default) or ``"extend"`` the last value flat to τ, which
        assumes no further discharges and so overstates the mean.

    Returns
    -------
    float
        Days. Exact integral of the step function (no grid).

    Raises
    ------
    InsufficientData
        If there are no stays, or the curve ends before τ with stays still going on and
        ``beyond_follow_up="raise"``.
    """
    horizon = check_horizon(horizon_days)
    if beyond_follow_up not in ("raise", "extend"):
        raise ValueError(f"beyond_follow_up must be 'raise' or 'extend', got {beyond_follow_up!r}")
    los, event = _checked_sample(los_days, discharged)
    sf = _ecdf_sf(los, event)
    times = np.asarray(sf.quantiles, dtype=np.float64)
    surv = np.asarray(sf.probabilities, dtype=np.float64)
    if beyond_follow_up == "raise" and times[-1] < horizon and surv[-1] > 0.0:
        raise InsufficientData(
            f"restricted mean LOS at {horizon:g} days",
            n_available=int(np.sum(los >= horizon)),
            n_required=1,
            detail=(
                f"the longest stay ({times[-1]:.1f} days) is still going on, so the curve is "
                "unknown up to the horizon; choose a shorter horizon or wait"
            ),
        )
    keep = times < horizon
    knots = np.concatenate(([0.0], times[keep], [horizon]))
    heights = np.concatenate(([1.0], surv[keep]))
    return float(np.sum(heights * np.diff(knots)))


@dataclass(frozen=True, eq=False)
class CumulativeIncidence:
    """Aalen-Johansen cumulative incidence of each discharge destination.

    Attributes
    ----------
    time_days
        Distinct discharge times, ascending.
    destinations
        The competing destinations, in the row order of ``cif``.
    cif
        Shape ``(len(destinations), len(time_days))``: share of stays discharged to each
        destination by t. ``cif.sum(axis=0) + survival == 1``.
    survival
        Kaplan-Meier share still in the stay (all destinations as events).
    """

    time_days: FloatArray
    destinations: tuple[str, ...]
    cif: FloatArray
    survival: FloatArray

    def evaluate(self, t_days: float) -> dict[str, float]:
        """Cumulative incidence of each destination at ``t_days``."""
        idx = int(np.searchsorted(self.time_days, t_days, side="right")) - 1
        if idx < 0:
            return dict.fromkeys(self.destinations, 0.0)
        return {d: float(self.cif[k, idx]) for k, d in enumerate(self.destinations)}


def cumulative_incidence(
    los_days: npt.ArrayLike,
    destination: Sequence[str | None] | npt.NDArray[Any],
    *,
    destinations: tuple[str, ...] = DESTINATIONS,
) -> CumulativeIncidence:
    """Aalen-Johansen cumulative incidence of competing discharge destinations.

    Processing steps:

    1. Take the distinct discharge times u_j; count the stays at risk n_j (LOS >= u_j) and the
       discharges to each destination d_kj at u_j.
    2. Kaplan-Meier of "still in stay" just before u_j: S(u_j-) = prod_{i<j} (1 - d_i / n_i).
    3. CIF_k(t) = sum over u_j <= t of S(u_j-) * d_kj / n_j.

    Parameters
    ----------
    los_days
        Elapsed length of each stay, days.
    destination
        Destination of each stay; ``""`` or ``None`` for a stay still going on (censored).
    destinations
        The competing destinations to report (default: home, long-term care, hospital, death).

    Returns
    -------
    CumulativeIncidence

    Raises
    ------
    InsufficientData
        If there are no stays.
    ValueError
        If a destination is not one of ``destinations``.
    """
    los = np.asarray(los_days, dtype=np.float64)
    raw = np.asarray(destination, dtype=object)
    if los.ndim != 1 or raw.shape != los.shape:
        raise ValueError("los_days and destination must be 1-D of equal length")
    if los.size == 0:
        raise InsufficientData("cumulative incidence of destinations", n_available=0, n_required=1)
    dest: StrArray = np.array(["" if d is None else str(d) for d in raw.tolist()], dtype=np.str_)
    unknown = (dest != "") & ~np.isin(dest, destinations)
    if np.any(unknown):
        raise ValueError(
            f"destination {str(dest[np.argmax(unknown)])!r} is not one of {destinations}"
        )
    event = dest != ""
    # 1. distinct discharge times, numbers at risk and discharges per destination
    times = np.unique(los[event])
    sorted_los = np.sort(los)
    at_risk = (sorted_los.size - np.searchsorted(sorted_los, times, side="left")).astype(np.float64)
    pos = np.searchsorted(times, los[event])
    by_dest = np.zeros((len(destinations), times.size))
    for k, d in enumerate(destinations):
        np.add.at(by_dest[k], pos[dest[event] == d], 1.0)
    # 2. overall Kaplan-Meier just before each time
    hazard = by_dest.sum(axis=0) / at_risk
    survival = np.cumprod(1.0 - hazard)
    before = np.concatenate(([1.0], survival[:-1]))
    # 3. cumulative incidence per destination
    cif = np.cumsum(before * by_dest / at_risk, axis=1)
    return CumulativeIncidence(
        time_days=times, destinations=tuple(destinations), cif=cif, survival=survival
    )
