"""The stay table the estimators work on, and how a stay's length is measured.

A stay is one short-term stay in a nursing home (KPR services 18, 19 or 20). The table holds
one row per stay as parallel numpy arrays in :class:`StayRecords`, validated on construction so
that every estimator can trust it.

Length of stay is **elapsed time**: ``(discharged_at - admitted_at)`` between two
timezone-aware instants, in days of 86,400 seconds (see :func:`los_days`). KOSTRA and the
KPR/IPLOS statistics count *oppholdsdøgn* from calendar dates instead (for hospitals SSB defines
*liggedager* as discharge date minus admission date, a same-day stay counting 0). The two differ
by less than one day per stay (plus the one-hour daylight-saving shift), the same way in both
arms, so differences between arms — the bed-days avoided — do not depend on the convention,
while survival estimates get fewer artificial ties from elapsed time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from analytics.stays._common import BoolArray, FloatArray, StrArray

#: Age bands of the evaluation population (years). The national readmission indicator covers
#: ages 67 and over; residents under 67 are outside the evaluation and must be filtered out first.
AGE_BANDS: Final = ("67-79", "80-89", "90+")
#: KPR service codes: 18 time-limited stay for assessment/treatment, 19 for habilitation/
#: rehabilitation, 20 other time-limited stay (respite stays, code 8, are not included).
STAY_TYPES: Final = ("18", "19", "20")
#: Gait speed on admission, m/s: < 0.4, 0.4 to < 0.6, >= 0.6, or not measured.
MOBILITY_BANDS: Final = ("<0.4", "0.4-0.6", ">=0.6", "unknown")
#: Where a stay ended. A stay still going on at the analysis date has no destination ("").
DESTINATIONS: Final = ("home", "long_term_care", "hospital", "death")
#: ``arm`` is a property of the **ward**: wards that got devices vs wards that did not.
ARMS: Final = ("intervention", "comparison")
#: ``period`` is a property of the **admission date**: before or after the ward's go-live.
PERIODS: Final = ("before", "after")
#: The covariates the stays can be stratified by.
COVARIATES: Final = ("age_band", "stay_type", "mobility_band")

NO_DESTINATION: Final = ""
#: A column given to :meth:`StayRecords.from_columns`: a list (``None`` allowed) or an array.
Column = Sequence[Any] | npt.NDArray[Any]
_SECONDS_PER_DAY: Final = 86_400.0


def los_days(admitted_at: datetime, discharged_at: datetime) -> float:
    """Length of stay as elapsed days between two timezone-aware instants.

    Both instants are converted to UTC before subtracting: Python subtracts two datetimes that
    share a ``ZoneInfo`` by wall clock, which would hide the hour gained or lost at a
    daylight-saving change.

    Parameters
    ----------
    admitted_at, discharged_at
        Timezone-aware datetimes. For a stay still going on, pass the analysis instant as
        ``discharged_at`` and mark the stay as not discharged (censored).

    Returns
    -------
    float
        Elapsed time in days of 86,400 s. A stay from 2026-10-20 10:00 to 2027-01-05 10:00
        Europe/Oslo is 77 calendar days but 77 days and one hour elapsed, because the clocks
        went back on 2026-10-25.

    Raises
    ------
    ValueError
        If either datetime is naive, or the discharge is before the admission.
    """
    for name, value in (("admitted_at", admitted_at), ("discharged_at", discharged_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    elapsed_s = (discharged_at.astimezone(UTC) - admitted_at.astimezone(UTC)).total_seconds()
    if elapsed_s < 0:
        raise ValueError(
            f"discharged_at {discharged_at.isoformat()} is before "
            f"admitted_at {admitted_at.isoformat()}"
        )
    return elapsed_s / _SECONDS_PER_DAY


def age_band(age_years: float) -> str:
    """Age band label for an age in whole or fractional years (67 and over)."""
    if not math.isfinite(age_years) or age_years < 67:
        raise ValueError(f"age_years must be 67 or over for the evaluation, got {age_years}")
    if age_years < 80:
        return "67-79"
    return "80-89" if age_years < 90 else "90+"


def mobility_band(gait_speed_m_s: float | None) -> str:
    """Admission mobility band from gait speed in m/s (``None`` or NaN: ``"unknown"``)."""
    if gait_speed_m_s is None or math.isnan(gait_speed_m_s):
        return "unknown"
    if gait_speed_m_s < 0:
        raise ValueError(f"gait_speed_m_s must be >= 0, got {gait_speed_m_s}")
    if gait_speed_m_s < 0.4:
        return "<0.4"
    return "0.4-0.6" if gait_speed_m_s < 0.6 else ">=0.6"


#: The per-stay columns of :class:`StayRecords`, in order (``from_columns`` takes these).
#: The last four (:data:`OPTIONAL_COLUMNS`) may be left out; see the class docstring.
COLUMNS = (
    "stay_id",
    "los_days",
    "discharged",
    "destination",
    "readmitted_30d",
    "arm",
    "period",
    "age_band",
    "stay_type",
    "mobility_band",
    "resident_id",
    "ward",
    "admission_day",
    "follow_up_days",
)
#: Columns that have a default: each stay its own resident, ward and dates unknown.
OPTIONAL_COLUMNS = ("resident_id", "ward", "admission_day", "follow_up_days")


@dataclass(frozen=True, eq=False)
class StayRecords:
    """One row per short-term stay, as parallel numpy arrays.

    Build it with :meth:`from_columns` from lists or arrays (``None`` where a value is
    missing); the constructor does the same at run time but is typed for arrays. Columns are
    converted to the dtypes below, made read-only and validated row by row; an invalid row
    raises ``ValueError`` naming the stay.

    Attributes
    ----------
    stay_id : ndarray of str
        Unique pseudonymous stay identifier.
    los_days : ndarray of float64
        Elapsed length of stay in days (:func:`los_days`); for a stay still going on, the time
        from admission to the analysis instant.
    discharged : ndarray of bool
        True if the stay has ended (an event); False if censored at the analysis instant.
    destination : ndarray of str
        One of :data:`DESTINATIONS` for a discharged stay, ``""`` for a censored one
        (``None`` is accepted on input).
    readmitted_30d : ndarray of float64
        1.0 or 0.0 for a discharge home whose 30-day window is complete; NaN when not
        observable (not discharged home, or discharged home less than 30 days before the
        analysis instant). ``None``/``True``/``False`` are accepted on input. See
        :mod:`analytics.stays.readmission` for the definition.
    arm : ndarray of str
        ``"intervention"`` (ward with devices) or ``"comparison"`` (ward without).
    period : ndarray of str
        ``"before"`` or ``"after"`` the go-live of the stay's ward, by admission date.
    age_band, stay_type, mobility_band : ndarray of str
        Stratification covariates, see :data:`AGE_BANDS`, :data:`STAY_TYPES`,
        :data:`MOBILITY_BANDS`. ``stay_type`` accepts the integers 18, 19, 20.
    resident_id : ndarray of str, optional
        Pseudonym of the resident; the bootstrap resamples residents, so that several stays
        of one resident move together. Default: each stay is its own resident.
    ward : ndarray of str, optional
        The stay's ward, for the design checks across wards (permutation inference, ward
        differences). Default ``""`` (unknown: those checks are not estimable).
    admission_day : ndarray of float64, optional
        Admission instant in days relative to the tenant's first go-live (negative before),
        for the pre-trend and placebo checks. Default NaN (unknown).
    follow_up_days : ndarray of float64, optional
        Days from admission to the analysis instant, for every stay (ongoing or not): the
        readmission outcome is weighted by the inverse probability of complete follow-up
        (:func:`~analytics.stays.readmission.complete_follow_up_weights`). Default NaN
        (unknown: the readmission effect is then reported as not estimable).
    """

    stay_id: StrArray
    los_days: FloatArray
    discharged: BoolArray
    destination: StrArray
    readmitted_30d: FloatArray
    arm: StrArray
    period: StrArray
    age_band: StrArray
    stay_type: StrArray
    mobility_band: StrArray
    # None on input means "use the default"; after __post_init__ each is an array.
    resident_id: StrArray = None  # type: ignore[assignment]
    ward: StrArray = None  # type: ignore[assignment]
    admission_day: FloatArray = None  # type: ignore[assignment]
    follow_up_days: FloatArray = None  # type: ignore[assignment]
    _n: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = _length(self.stay_id, "stay_id")
        ids = _as_str(self.stay_id, "stay_id", n)
        if np.any(ids == ""):
            raise ValueError("stay_id must not be empty")
        unique, counts = np.unique(ids, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(f"stay_id must be unique; repeated: {unique[counts > 1][:5].tolist()}")
        los = _as_float(self.los_days, "los_days", n)
        _reject_rows(~np.isfinite(los) | (los < 0), ids, "los_days must be finite and >= 0", los)
        discharged = _as_bool(self.discharged, "discharged", n, ids)
        destination = _as_str(self.destination, "destination", n)
        _reject_rows(
            discharged & ~np.isin(destination, DESTINATIONS),
            ids,
            f"discharged, so destination must be one of {', '.join(DESTINATIONS)}",
            destination,
        )
        _reject_rows(
            ~discharged & (destination != NO_DESTINATION),
            ids,
            "not discharged (censored), so destination must be None",
            destination,
        )
        readmitted = _as_optional_flag(self.readmitted_30d, "readmitted_30d", n, ids)
        observable = discharged & (destination == "home")
        _reject_rows(
            ~np.isnan(readmitted) & ~observable,
            ids,
            "readmitted_30d applies only to discharges home; it must be None for other stays",
        )
        values: dict[str, Any] = {
            "stay_id": ids,
            "los_days": los,
            "discharged": discharged,
            "destination": destination,
            "readmitted_30d": readmitted,
        }
        for name, allowed in (
            ("arm", ARMS),
            ("period", PERIODS),
            ("age_band", AGE_BANDS),
            ("stay_type", STAY_TYPES),
            ("mobility_band", MOBILITY_BANDS),
        ):
            column = _as_str(getattr(self, name), name, n)
            _reject_rows(
                ~np.isin(column, allowed),
                ids,
                f"{name} must be one of {', '.join(allowed)}",
                column,
            )
            values[name] = column
        values["resident_id"] = (
            ids.copy() if self.resident_id is None else _as_str(self.resident_id, "resident_id", n)
        )
        _reject_rows(values["resident_id"] == "", ids, "resident_id must not be empty")
        values["ward"] = (
            np.full(n, "", dtype=np.str_) if self.ward is None else _as_str(self.ward, "ward", n)
        )
        for name in ("admission_day", "follow_up_days"):
            raw = getattr(self, name)
            values[name] = np.full(n, np.nan) if raw is None else _as_float(raw, name, n)
        _reject_rows(
            np.isinf(values["admission_day"]) | np.isinf(values["follow_up_days"]),
            ids,
            "admission_day and follow_up_days must be finite (or NaN for unknown)",
        )
        follow = values["follow_up_days"]
        _reject_rows(
            ~np.isnan(follow) & (follow + 1e-9 < los),
            ids,
            "follow_up_days (admission to analysis) must be at least los_days",
            follow,
        )
        for name, value in values.items():
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_n", n)

    @classmethod
    def from_columns(
        cls,
        *,
        stay_id: Column,
        los_days: Column,
        discharged: Column,
        destination: Column,
        readmitted_30d: Column,
        arm: Column,
        period: Column,
        age_band: Column,
        stay_type: Column,
        mobility_band: Column,
        resident_id: Column | None = None,
        ward: Column | None = None,
        admission_day: Column | None = None,
        follow_up_days: Column | None = None,
    ) -> StayRecords:
        """Build from lists or arrays, with ``None`` for a missing destination or flag.

        The same as the constructor, typed for plain Python columns (database rows, CSV).
        """
        columns: dict[str, Any] = {
            "stay_id": stay_id,
            "los_days": los_days,
            "discharged": discharged,
            "destination": destination,
            "readmitted_30d": readmitted_30d,
            "arm": arm,
            "period": period,
            "age_band": age_band,
            "stay_type": stay_type,
            "mobility_band": mobility_band,
            "resident_id": resident_id,
            "ward": ward,
            "admission_day": admission_day,
            "follow_up_days": follow_up_days,
        }
        return cls(**columns)

    def __len__(self) -> int:
        return self._n

    def subset(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> StayRecords:
        """The stays selected by a boolean mask or an index array, as new records."""
        return StayRecords(**{name: getattr(self, name)[mask] for name in COLUMNS})

    def column(self, name: str) -> npt.NDArray[Any]:
        """The column ``name`` (one of :data:`COLUMNS`), never None after construction."""
        if name not in COLUMNS:
            raise ValueError(f"unknown column {name!r}")
        value: npt.NDArray[Any] = getattr(self, name)
        return value

    def covariate(self, name: str) -> StrArray:
        """The covariate column ``name`` (one of :data:`COVARIATES`)."""
        if name not in COVARIATES:
            raise ValueError(f"unknown covariate {name!r}; expected one of {', '.join(COVARIATES)}")
        column: StrArray = getattr(self, name)
        return column


def _reject_rows(
    bad: BoolArray, ids: StrArray, message: str, got: npt.NDArray[Any] | None = None
) -> None:
    """Raise ValueError naming the first stay where ``bad`` holds (and its value)."""
    if np.any(bad):
        i = int(np.argmax(bad))
        value = "" if got is None else f"; got {got[i].item()!r}"
        raise ValueError(f"stay {str(ids[i])!r}: {message}{value}")


def _length(values: object, name: str) -> int:
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return int(arr.shape[0])


def _check_shape(arr: npt.NDArray[Any], name: str, n: int) -> None:
    if arr.shape != (n,):
        raise ValueError(f"{name} must have one value per stay ({n}), got shape {arr.shape}")


def _as_str(values: object, name: str, n: int) -> StrArray:
    raw = np.asarray(values, dtype=object)
    _check_shape(raw, name, n)
    out = np.array([NO_DESTINATION if v is None else str(v) for v in raw.tolist()], dtype=np.str_)
    return out.reshape(n)


def _as_float(values: object, name: str, n: int) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    _check_shape(arr, name, n)
    return arr.copy()


def _as_bool(values: object, name: str, n: int, ids: StrArray) -> BoolArray:
    raw = np.asarray(values, dtype=object)
    _check_shape(raw, name, n)
    out = np.zeros(n, dtype=np.bool_)
    for i, v in enumerate(raw.tolist()):
        if isinstance(v, bool | np.bool_) or v in (0, 1):
            out[i] = bool(v)
        else:
            raise ValueError(f"stay {str(ids[i])!r}: {name} must be True or False, got {v!r}")
    return out


def _as_optional_flag(values: object, name: str, n: int, ids: StrArray) -> FloatArray:
    raw = np.asarray(values, dtype=object)
    _check_shape(raw, name, n)
    out = np.full(n, np.nan)
    for i, v in enumerate(raw.tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, bool | np.bool_) or v in (0, 1):
            out[i] = float(v)
        else:
            raise ValueError(f"stay {str(ids[i])!r}: {name} must be True, False or None, got {v!r}")
    return out


def concatenate(parts: Sequence[StayRecords]) -> StayRecords:
    """Join several stay tables into one (stay ids must stay unique)."""
    if not parts:
        raise ValueError("concatenate needs at least one StayRecords")
    names = COLUMNS
    joined = {name: np.concatenate([getattr(p, name) for p in parts]) for name in names}
    return StayRecords(**joined)
