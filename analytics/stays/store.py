"""Loading a tenant's stays from the database into :class:`StayRecords` (the core's one DB module).

The rest of :mod:`analytics.stays` is pure numpy/scipy; this module turns registry rows into
stay records and says which stays it left out and why. Definitions (docs/savings-method.md,
section "From the database"):

* **Evaluation population**: stays admitted by the analysis instant whose resident had a
  consent for *evaluation* valid at admission and not withdrawn; other stays are only counted.
  Residents need a birth year and an age of 67 or more in the year of admission (age = year
  of admission - birth year, as KPR and SSB count age by year of birth).
* **Arm and period** (ward level): a ward with ``go_live_on`` is a device ward, a ward without
  is a comparison ward. A stay is *after* if its local admission date is on or after its
  ward's go-live date; on comparison wards, on or after the tenant's first go-live.
* **Exposure** (stay level): a stay on a device ward after go-live counts as an intervention
  stay only if the resident had a device assigned at some time in the first 72 hours of the
  stay; if the tenant has any walker telemetry at all, a walker assignment must also have
  frames in those 72 hours (a walker that never left the charger is no exposure). Other
  device-ward stays after go-live are left out ("not exposed"). Stays used as comparison
  (before go-live, or on comparison wards) that had a device at any time are left out too
  ("comparison stay with a device").
* **Censoring**: a stay not discharged by the analysis instant is censored there.
* **Readmission within 30 days** of a discharge home: the resident's next admission after the
  discharge, among (a) a new short-term stay on any ward of the tenant and (b) a hospital
  admission *recorded* in ``hospital_admissions`` (from the care record); hospital stays the
  care record does not know of are not seen. Window completeness and the rules follow
  :func:`~analytics.stays.readmission.readmitted_within_30_days`.
* **Admission mobility**: ``stay_admission_mobility.gait_speed_mps`` where recorded, else
  "unknown".
* A discharge destination ``other`` has no place among the competing outcomes; such stays are
  left out and counted.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from analytics.stays.readmission import readmitted_within_30_days
from analytics.stays.records import COLUMNS, StayRecords, age_band, los_days, mobility_band
from stayactive import registry
from stayactive.errors import ConfigurationError

logger = logging.getLogger(__name__)

_Conn = psycopg.Connection[TupleRow]

#: A device assigned within this many hours of admission makes a stay an intervention stay.
EXPOSURE_WINDOW_H: Final = 72
#: Records must span this many days before their stays are counted per year.
MIN_COUNT_SPAN_DAYS: Final = 330
#: Youngest age (in the year of admission) in the evaluation.
MIN_AGE_YEARS: Final = 67

#: Reasons a stay is left out, in the order they are checked.
EXCLUSION_REASONS: Final = (
    "no consent to evaluation",
    "birth year unknown",
    "under 67 at admission",
    "discharge destination 'other'",
    "device ward after go-live: no device in the first 72 hours",
    "comparison stay with a device",
)

#: Whether stay ``st`` is an intervention stay by its devices: one assigned within the exposure
#: window of admission, and for a walker a frame from it in that window (unless the tenant has
#: no walker data at all). Needs the CTE ``walker_data`` and the parameter ``window_h``; the
#: API's report version digests it too, as late telemetry can turn a stay into one.
EXPOSED_SQL: Final = """EXISTS (
    SELECT 1 FROM device_assignments a JOIN devices d ON d.device_id = a.device_id
    WHERE a.tenant_id = st.tenant_id AND a.resident_id = st.resident_id
      AND a.valid && tstzrange(st.admitted_at,
                               st.admitted_at + make_interval(hours => %(window_h)s))
      AND (d.kind <> 'walker' OR NOT (SELECT present FROM walker_data) OR EXISTS (
           SELECT 1 FROM walker_frames f
           WHERE f.device_id = a.device_id
             AND f.time >= greatest(lower(a.valid), st.admitted_at)
             AND f.time < least(coalesce(upper(a.valid), 'infinity'),
                                st.admitted_at + make_interval(hours => %(window_h)s))))
)"""
#: The CTE :data:`EXPOSED_SQL` needs: whether the tenant has walker data at all, asked of its
#: walkers one by one through the frames' device index (``walker_frames`` has no tenant index:
#: asked by tenant, a tenant without frames would read every tenant's).
WALKER_DATA_CTE: Final = """walker_data AS (
    SELECT EXISTS (
        SELECT 1 FROM devices d
        WHERE d.tenant_id = %(tenant)s AND d.kind = 'walker'
          AND EXISTS (SELECT 1 FROM walker_frames f WHERE f.device_id = d.device_id)
    ) AS present
)"""

_STAYS_SQL: Final = f"""
WITH {WALKER_DATA_CTE},
first_go_live AS (
    SELECT min(go_live_on) AS on_date FROM wards WHERE tenant_id = %(tenant)s
)
SELECT st.stay_id, st.resident_id, st.ward_id, st.admitted_at,
       CASE WHEN st.discharged_at <= %(at)s THEN st.discharged_at END AS discharged_at,
       CASE WHEN st.discharged_at <= %(at)s THEN st.discharge_destination END AS destination,
       st.stay_type, w.go_live_on, r.birth_year, m.gait_speed_mps,
       (SELECT on_date FROM first_go_live) AS first_go_live,
       {EXPOSED_SQL} AS exposed,
       EXISTS (
           SELECT 1 FROM device_assignments a
           WHERE a.tenant_id = st.tenant_id AND a.resident_id = st.resident_id
             AND a.valid && tstzrange(st.admitted_at, least(st.discharged_at, %(at)s))
       ) AS had_device,
       (SELECT min(x.at) FROM (
            SELECT n.admitted_at AS at FROM stays n
            WHERE n.tenant_id = st.tenant_id AND n.resident_id = st.resident_id
              AND n.admitted_at > st.discharged_at AND n.admitted_at <= %(at)s
            UNION ALL
            SELECT h.admitted_at FROM hospital_admissions h
            WHERE h.tenant_id = st.tenant_id AND h.resident_id = st.resident_id
              AND h.admitted_at > st.discharged_at AND h.admitted_at <= %(at)s
        ) x) AS next_admission_at
FROM stays st
JOIN wards w ON w.tenant_id = st.tenant_id AND w.ward_id = st.ward_id
JOIN residents r ON r.tenant_id = st.tenant_id AND r.resident_id = st.resident_id
LEFT JOIN stay_admission_mobility m ON m.stay_id = st.stay_id
WHERE st.tenant_id = %(tenant)s AND st.admitted_at <= %(at)s
  AND EXISTS (
      SELECT 1 FROM consents c
      WHERE c.tenant_id = st.tenant_id AND c.resident_id = st.resident_id
        AND c.purpose = %(purpose)s AND c.withdrawn_at IS NULL AND c.valid @> st.admitted_at)
ORDER BY st.admitted_at, st.stay_id
"""

_COUNT_SQL: Final = """
SELECT count(*),
       count(*) FILTER (WHERE admitted_at > %(at)s - interval '365 days'),
       min(admitted_at)
FROM stays WHERE tenant_id = %(tenant)s AND admitted_at <= %(at)s
"""


@dataclass(frozen=True, eq=False)
class LoadedStays:
    """A tenant's evaluation stays and the account of what was left out.

    Attributes
    ----------
    tenant, time_zone
        Whose stays, and the tenant's time zone (local days and go-live dates).
    analysis_at
        The instant the data are taken as known (UTC); later events are not seen.
    records
        The stays of the evaluation.
    n_stays
        Stays of the tenant admitted by ``analysis_at``, before any exclusion.
    excluded
        Stays left out, by reason (:data:`EXCLUSION_REASONS`, zero counts included).
    wards_per_group
        Number of distinct wards contributing stays to each arm/period group.
    first_go_live
        The tenant's earliest ward go-live date (None: no device wards).
    walker_data_required
        Whether exposure required walker frames (the tenant has walker telemetry).
    admitted_on
        Local admission date of each record (same order as ``records``).
    stays_last_year
        Stays of the tenant (all, consented or not: a count, as KPR counts them) admitted in
        the 365 days before ``analysis_at`` (scaled to a year when the records span 330-365
        days); None when the records span less than :data:`MIN_COUNT_SPAN_DAYS`.
    """

    tenant: str
    time_zone: str
    analysis_at: datetime
    records: StayRecords
    n_stays: int
    excluded: dict[str, int]
    wards_per_group: dict[str, int]
    first_go_live: date | None
    walker_data_required: bool
    admitted_on: tuple[date, ...]
    stays_last_year: int | None = None


def _empty_records() -> StayRecords:
    return StayRecords.from_columns(
        stay_id=[],
        los_days=[],
        discharged=[],
        destination=[],
        readmitted_30d=[],
        arm=[],
        period=[],
        age_band=[],
        stay_type=[],
        mobility_band=[],
    )


def load_stays(conn: _Conn, tenant: str, *, analysis_at: datetime | None = None) -> LoadedStays:
    """The tenant's consented stays as :class:`StayRecords`, with exclusions counted.

    Parameters
    ----------
    conn
        A connection with the application schema on the search path.
    tenant
        Tenant id.
    analysis_at
        Timezone-aware instant the analysis is "as of" (default: now). Stays admitted later
        are ignored; discharges and readmissions after it are not seen.

    Raises
    ------
    ConfigurationError
        Unknown tenant, or a naive ``analysis_at``.
    """
    at = datetime.now(UTC) if analysis_at is None else analysis_at
    if at.tzinfo is None or at.utcoffset() is None:
        raise ConfigurationError("analysis_at must be timezone-aware")
    at = at.astimezone(UTC)
    tz = registry.tenant_time_zone(conn, tenant)
    tz_name = tz.key
    params = {"tenant": tenant, "at": at, "window_h": EXPOSURE_WINDOW_H, "purpose": "evaluation"}
    count_row = conn.execute(_COUNT_SQL, params).fetchone()
    n_stays = int(count_row[0]) if count_row else 0
    stays_last_year: int | None = None
    if count_row and count_row[2] is not None:
        # records of at least 11 months: the last 365 days' count, scaled up if shorter
        span_days = min(365.0, (at - count_row[2]).total_seconds() / 86_400.0)
        if span_days >= MIN_COUNT_SPAN_DAYS:
            stays_last_year = round(int(count_row[1]) * 365.0 / span_days)
    walker_row = conn.execute(
        f"WITH {WALKER_DATA_CTE} SELECT present FROM walker_data", params
    ).fetchone()
    walker_data = bool(walker_row and walker_row[0])
    rows = conn.execute(_STAYS_SQL, params).fetchall()
    excluded: Counter[str] = Counter({reason: 0 for reason in EXCLUSION_REASONS})
    excluded["no consent to evaluation"] = n_stays - len(rows)
    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    wards: dict[str, set[int]] = {}
    admitted_on: list[date] = []
    first_go_live: date | None = None
    for (
        stay_id,
        _resident_id,
        ward_id,
        admitted_at,
        discharged_at,
        destination,
        stay_type,
        go_live_on,
        birth_year,
        gait_speed,
        first_live,
        exposed,
        had_device,
        next_admission_at,
    ) in rows:
        first_go_live = first_live
        local_day = admitted_at.astimezone(tz).date()
        reason = _exclusion(
            local_day, birth_year, destination, go_live_on, first_live, exposed, had_device
        )
        if reason:
            excluded[reason] += 1
            continue
        device_ward = go_live_on is not None
        after = _is_after(local_day, go_live_on, first_live)
        arm = "intervention" if device_ward else "comparison"
        period = "after" if after else "before"
        discharged = discharged_at is not None
        readmitted: bool | None = None
        if discharged:
            seen = [next_admission_at] if next_admission_at is not None else []
            readmitted = readmitted_within_30_days(discharged_at, destination, seen, at)
        cols["stay_id"].append(str(stay_id))
        cols["los_days"].append(los_days(admitted_at, discharged_at if discharged else at))
        cols["discharged"].append(discharged)
        cols["destination"].append(destination)
        cols["readmitted_30d"].append(readmitted)
        cols["arm"].append(arm)
        cols["period"].append(period)
        cols["age_band"].append(age_band(local_day.year - int(birth_year)))
        cols["stay_type"].append(str(stay_type))
        cols["mobility_band"].append(mobility_band(gait_speed))
        cols["resident_id"].append(str(_resident_id))
        cols["ward"].append(str(ward_id))
        cols["admission_day"].append(_days_from(first_live, admitted_at, tz))
        cols["follow_up_days"].append(los_days(admitted_at, at))
        wards.setdefault(f"{arm}/{period}", set()).add(int(ward_id))
        admitted_on.append(local_day)
    if first_go_live is None:
        live = conn.execute(
            "SELECT min(go_live_on) FROM wards WHERE tenant_id = %s", (tenant,)
        ).fetchone()
        first_go_live = live[0] if live else None
    records = StayRecords.from_columns(**cols) if cols["stay_id"] else _empty_records()
    logger.info(
        "loaded %d of %d stays of %s as of %s (%s)",
        len(records),
        n_stays,
        tenant,
        at.isoformat(),
        ", ".join(f"{k}: {v}" for k, v in excluded.items() if v),
    )
    return LoadedStays(
        tenant=tenant,
        time_zone=tz_name,
        analysis_at=at,
        records=records,
        n_stays=n_stays,
        excluded=dict(excluded),
        wards_per_group={k: len(v) for k, v in sorted(wards.items())},
        first_go_live=first_go_live,
        walker_data_required=walker_data,
        admitted_on=tuple(admitted_on),
        stays_last_year=stays_last_year,
    )


def _days_from(first_go_live: date | None, admitted_at: datetime, tz: ZoneInfo) -> float:
    """Admission in days after the tenant's first go-live (local midnight); NaN without one."""
    if first_go_live is None:
        return math.nan
    start = datetime.combine(first_go_live, datetime.min.time(), tzinfo=tz)
    return (admitted_at - start).total_seconds() / 86_400.0


def _is_after(local_day: date, go_live_on: date | None, first_go_live: date | None) -> bool:
    """Whether a stay admitted on ``local_day`` falls in the period after go-live."""
    if go_live_on is not None:
        return local_day >= go_live_on
    return first_go_live is not None and local_day >= first_go_live


def _exclusion(
    local_day: date,
    birth_year: int | None,
    destination: str | None,
    go_live_on: date | None,
    first_go_live: date | None,
    exposed: bool,
    had_device: bool,
) -> str:
    """The first reason (of :data:`EXCLUSION_REASONS`) to leave a consented stay out, or ""."""
    if birth_year is None:
        return "birth year unknown"
    if local_day.year - birth_year < MIN_AGE_YEARS:
        return "under 67 at admission"
    if destination == "other":
        return "discharge destination 'other'"
    intervention = go_live_on is not None and _is_after(local_day, go_live_on, first_go_live)
    if intervention and not exposed:
        return "device ward after go-live: no device in the first 72 hours"
    if not intervention and had_device:
        return "comparison stay with a device"
    return ""


@dataclass(frozen=True)
class OpenDataStay:
    """One stay for the open-data aggregates (consent for open data), as the database has it."""

    admitted_at: datetime
    discharged_at: datetime | None
    destination: str | None
    readmitted_30d: bool | None


_OPEN_DATA_SQL: Final = """
SELECT st.admitted_at,
       CASE WHEN st.discharged_at <= %(at)s THEN st.discharged_at END,
       CASE WHEN st.discharged_at <= %(at)s THEN st.discharge_destination END,
       (SELECT min(x.at) FROM (
            SELECT n.admitted_at AS at FROM stays n
            WHERE n.tenant_id = st.tenant_id AND n.resident_id = st.resident_id
              AND n.admitted_at > st.discharged_at AND n.admitted_at <= %(at)s
            UNION ALL
            SELECT h.admitted_at FROM hospital_admissions h
            WHERE h.tenant_id = st.tenant_id AND h.resident_id = st.resident_id
              AND h.admitted_at > st.discharged_at AND h.admitted_at <= %(at)s
        ) x)
FROM stays st
WHERE st.tenant_id = %(tenant)s AND st.admitted_at <= %(at)s
  AND EXISTS (
      SELECT 1 FROM consents c
      WHERE c.tenant_id = st.tenant_id AND c.resident_id = st.resident_id
        AND c.purpose = 'open_data' AND c.withdrawn_at IS NULL AND c.valid @> st.admitted_at)
ORDER BY st.admitted_at
"""


def load_open_data_stays(conn: _Conn, tenant: str, analysis_at: datetime) -> list[OpenDataStay]:
    """Stays of residents who consented to open-data use, with their 30-day readmission flag."""
    at = analysis_at.astimezone(UTC)
    out: list[OpenDataStay] = []
    for admitted_at, discharged_at, destination, next_at in conn.execute(
        _OPEN_DATA_SQL, {"tenant": tenant, "at": at}
    ):
        readmitted: bool | None = None
        if discharged_at is not None:
            seen = [next_at] if next_at is not None else []
            readmitted = readmitted_within_30_days(discharged_at, destination, seen, at)
        out.append(OpenDataStay(admitted_at, discharged_at, destination, readmitted))
    return out


def resident_day_steps(
    conn: _Conn, tenant: str, until: date
) -> list[tuple[date, int, float]] | None:
    """(local date, resident id, steps) of open-data-consented residents' days, if any.

    Read from a ``resident_days`` table if one exists, for local days up to ``until``.

    The derived table is written by the analytics runner; its columns are looked up rather
    than assumed (a date column ``day``/``local_date``/``date``, a step count ``steps_n``/
    ``steps``/``step_count``/``n_steps``), so the export works with whichever version of the
    runner's table is installed. Days without walker data have no step count and are skipped.
    None when there is no such table or no such columns: the open-data export then leaves the
    steps column empty and says why.
    """
    found = conn.execute("SELECT to_regclass('resident_days') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return None
    columns = {
        str(r[0])
        for r in conn.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_name = 'resident_days' AND table_schema = current_schema()"""
        )
    }
    day_col = next((c for c in ("local_date", "day", "date") if c in columns), None)
    steps_col = next(
        (c for c in ("steps_n", "steps", "step_count", "n_steps") if c in columns), None
    )
    if day_col is None or steps_col is None or not {"tenant_id", "resident_id"} <= columns:
        logger.info("resident_days has no recognisable date/steps columns: %s", sorted(columns))
        return None
    query = sql.SQL(
        """SELECT d.{day}, d.resident_id, d.{steps}::double precision FROM resident_days d
           WHERE d.tenant_id = %s AND d.{steps} IS NOT NULL AND d.{day} <= %s::date
             AND EXISTS (SELECT 1 FROM consents c WHERE c.tenant_id = d.tenant_id
                         AND c.resident_id = d.resident_id AND c.purpose = 'open_data'
                         AND c.withdrawn_at IS NULL)"""
    ).format(day=sql.Identifier(day_col), steps=sql.Identifier(steps_col))
    rows = conn.execute(query, (tenant, until)).fetchall()
    return [(r[0], int(r[1]), float(r[2])) for r in rows]
