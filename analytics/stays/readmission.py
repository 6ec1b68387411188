"""30-day readmission after a short-term stay: definition, risk and risk difference.

Definition used here
--------------------
*Index discharge*: a short-term stay that ended with discharge **home**.
*Readmission*: an admission to a hospital or to a new municipal short-term stay later than the
index discharge and at most 30 days (30 x 24 h elapsed) after it, whatever the cause.
*Complete window*: the analysis instant is at least 30 days after the index discharge. Index
discharges whose window is not complete are **excluded**, even if a readmission has already
been seen: counting early readmissions but not yet the stays that will stay home would bias the
risk upwards. A death at home within 30 days without a readmission counts as "not readmitted".

Alignment with the national quality indicator
---------------------------------------------
The Norwegian national quality indicator "30-day readmission of the elderly" (Helsedirektoratet,
computed by FHI from NPR data) is the risk of an *acute* admission to hospital, for any cause and
at any hospital, between 8 hours and 30 days after discharge from a *hospital* stay, for patients
aged 67 and over whose index stay is in one of eleven diagnosis groups, risk-adjusted and
reported per municipality. Our definition keeps its age limit (the evaluation covers ages 67+),
its 30-day window, "any cause" and "any hospital", and differs in that:

* the index event is discharge home from a municipal short-term stay, not from hospital;
* a return to a municipal short-term stay counts as a readmission as well as a hospital stay;
* there is no diagnosis restriction and no risk adjustment (the effect estimate stratifies by
  age band, stay type and admission mobility instead);
* planned admissions count unless the source marks them: pass only unplanned admissions to
  :func:`readmitted_within_30_days` where the care record tells them apart;
* the 8-hour floor is optional (``min_gap_h``, default 0): a new admission a few hours after
  discharge home is a real failure of the discharge here, but may also be a split record.

References
----------
.. [1] Kristoffersen DT, Hansen TM, Tomic O, Helgeland J. Kvalitetsindikatoren 30 dagers
   reinnleggelse etter sykehusopphold. Resultater for helseforetak og kommuner 2016. Oslo:
   Folkehelseinstituttet, 2017. ISBN 978-82-8082-867-5.
.. [2] Wilson EB. Probable inference, the law of succession, and statistical inference.
   J Am Stat Assoc 1927;22(158):209-212. doi:10.1080/01621459.1927.10502953
.. [3] Newcombe RG. Interval estimation for the difference between independent proportions:
   comparison of eleven methods. Stat Med 1998;17(8):873-890.
   doi:10.1002/(SICI)1097-0258(19980430)17:8<873::AID-SIM779>3.0.CO;2-I
.. [4] Robins JM, Rotnitzky A. Recovery of information and adjustment for dependent censoring
   using surrogate markers. In: Jewell N, Dietz K, Farewell V (eds). AIDS Epidemiology:
   Methodological Issues. Boston: Birkhäuser, 1992:297-331.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
from scipy import stats

from analytics.stays._common import BoolArray, Estimate, FloatArray, check_confidence_level
from analytics.stays.errors import InsufficientData
from analytics.stays.records import StayRecords, los_days

#: Length of the readmission window, days.
READMISSION_WINDOW_DAYS: Final = 30.0


def readmitted_within_30_days(
    discharged_at: datetime,
    destination: str,
    admissions_at: Iterable[datetime],
    analysis_at: datetime,
    *,
    min_gap_h: float = 0.0,
) -> bool | None:
    """The ``readmitted_30d`` value of one stay, following the module's definition.

    Parameters
    ----------
    discharged_at
        End of the short-term stay (timezone-aware).
    destination
        Where the stay ended; only ``"home"`` is an index discharge.
    admissions_at
        Admission instants of the resident's later hospital stays and short-term stays
        (timezone-aware; unplanned only, where the source can tell).
    analysis_at
        The instant the data were extracted.
    min_gap_h
        Admissions sooner than this after discharge are ignored (8 in the national indicator).

    Returns
    -------
    bool or None
        None if the stay is not an index discharge or its 30-day window is not complete;
        otherwise whether an admission falls in ``(discharged_at + min_gap_h,
        discharged_at + 30 days]``.
    """
    if min_gap_h < 0 or min_gap_h >= 24 * READMISSION_WINDOW_DAYS:
        raise ValueError(f"min_gap_h must be in [0, 720), got {min_gap_h}")
    for name, instant in (("discharged_at", discharged_at), ("analysis_at", analysis_at)):
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got naive {instant.isoformat()}")
    if analysis_at < discharged_at:
        raise ValueError(
            f"analysis_at {analysis_at.isoformat()} is before discharged_at "
            f"{discharged_at.isoformat()}"
        )
    if destination != "home":
        return None
    if los_days(discharged_at, analysis_at) < READMISSION_WINDOW_DAYS:
        return None
    floor_days = min_gap_h / 24.0
    for admitted_at in admissions_at:
        if admitted_at.tzinfo is None:
            raise ValueError(f"admissions_at must be timezone-aware, got {admitted_at.isoformat()}")
        if admitted_at <= discharged_at:  # earlier admissions (the index stay itself, say)
            continue
        if floor_days < los_days(discharged_at, admitted_at) <= READMISSION_WINDOW_DAYS:
            return True
    return False


def stay_readmission_outcome(records: StayRecords) -> tuple[BoolArray, BoolArray]:
    """Per-stay outcome "discharged home and readmitted within 30 days".

    This is the quantity the savings model needs (readmissions per stay admitted): stays that
    ended elsewhere count as 0, stays still going on and discharges home with an incomplete
    window are unknown.

    Returns
    -------
    known, readmitted
        Boolean arrays; ``readmitted`` is False wherever ``known`` is False.
    """
    home = records.discharged & (records.destination == "home")
    flag_known = ~np.isnan(records.readmitted_30d)
    known = (records.discharged & ~home) | (home & flag_known)
    readmitted = home & flag_known & (records.readmitted_30d == 1.0)
    return known, readmitted


def complete_follow_up_weights(records: StayRecords) -> tuple[BoolArray, BoolArray, FloatArray]:
    """Per-stay readmission outcome with inverse-probability-of-complete-follow-up weights.

    The per-stay outcome "discharged home and readmitted within 30 days" is only known once
    the stay has ended *and* 30 days have passed, whatever the destination. Counting a stay
    that ended in long-term care at once, but a discharge home only 30 days later, would make
    recent stays under-represent discharges home and bias the risk down (the review measured
    -0.0035 readmissions per stay in the simulator). So a stay counts only when its follow-up
    (admission to analysis instant) is at least its LOS + 30 days, and it is weighted by
    1 / G(LOS + 30), where G(t) is the share of the group's stays followed for at least t
    days. Follow-up is administrative (set by the admission date), so G is known for every
    stay, and the weighted mean of the complete stays estimates the mean over all stays
    (Robins & Rotnitzky 1992; Hajek normalisation).

    Returns
    -------
    known, readmitted, weight
        ``known``: complete follow-up; ``readmitted``: known and readmitted; ``weight``:
        1 / G(LOS + 30) where known, 0 elsewhere. All False/0 if follow-up is unknown (NaN)
        for any stay.
    """
    n = len(records)
    follow = records.follow_up_days
    if n == 0 or np.any(np.isnan(follow)):
        zeros = np.zeros(n, dtype=np.bool_)
        return zeros, zeros.copy(), np.zeros(n)
    needed = records.los_days + READMISSION_WINDOW_DAYS
    home = records.discharged & (records.destination == "home")
    flag_known = ~np.isnan(records.readmitted_30d)
    known = records.discharged & (follow >= needed) & (~home | flag_known)
    readmitted = known & home & (records.readmitted_30d == 1.0)
    ordered = np.sort(follow)
    share = (n - np.searchsorted(ordered, needed, side="left")) / n
    weight = np.where(known, 1.0 / np.maximum(share, 1.0 / n), 0.0)
    return known, readmitted, weight


@dataclass(frozen=True)
class ReadmissionRisk:
    """Indicator-style 30-day readmission risk of a group of stays.

    Attributes
    ----------
    n_index_discharges
        Discharges home with a complete 30-day window (the denominator).
    n_readmitted
        Of those, readmitted within 30 days.
    n_window_incomplete
        Discharges home excluded because their window was not complete.
    risk
        n_readmitted / n_index_discharges with a Wilson score interval.
    """

    n_index_discharges: int
    n_readmitted: int
    n_window_incomplete: int
    risk: Estimate


def _wilson(k: int, n: int, level: float) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def readmission_risk(records: StayRecords, *, confidence_level: float = 0.95) -> ReadmissionRisk:
    """30-day readmission risk per index discharge home (crude, unstratified).

    Raises
    ------
    InsufficientData
        If no discharge home has a complete 30-day window yet.
    """
    level = check_confidence_level(confidence_level)
    home = records.discharged & (records.destination == "home")
    complete = home & ~np.isnan(records.readmitted_30d)
    n = int(np.sum(complete))
    if n == 0:
        raise InsufficientData(
            "30-day readmission risk",
            n_available=0,
            n_required=1,
            detail="no discharge home with a complete 30-day window",
        )
    k = int(np.sum(records.readmitted_30d[complete] == 1.0))
    low, high = _wilson(k, n, level)
    return ReadmissionRisk(
        n_index_discharges=n,
        n_readmitted=k,
        n_window_incomplete=int(np.sum(home & ~complete)),
        risk=Estimate(k / n, low, high, level, "readmissions per discharge home"),
    )


def readmission_risk_difference(
    comparison: ReadmissionRisk, intervention: ReadmissionRisk
) -> Estimate:
    """Readmissions avoided per index discharge: risk(comparison) - risk(intervention).

    The interval is Newcombe's hybrid score interval (method 10), built from the two Wilson
    intervals; it stays inside [-1, 1] and behaves well for small counts, unlike the Wald
    interval. Both risks must have the same confidence level.
    """
    if not math.isclose(comparison.risk.confidence_level, intervention.risk.confidence_level):
        raise ValueError("both risks must use the same confidence_level")
    p1, l1, u1 = comparison.risk.value, comparison.risk.low, comparison.risk.high
    p2, l2, u2 = intervention.risk.value, intervention.risk.low, intervention.risk.high
    diff = p1 - p2
    return Estimate(
        value=diff,
        low=diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        high=diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
        confidence_level=comparison.risk.confidence_level,
        unit="readmissions avoided per discharge home",
    )
