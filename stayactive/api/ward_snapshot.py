"""What the API knows of a ward's residents on one local day, in four queries.

Shared by the ward overview and the alert evaluation, so that an alert and the row it is shown
on are computed from the same facts. Residents are those with a stay on the ward that overlaps
the day; their device figures are of the devices assigned to them at ``at`` (now, or the end of
a past day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow

_AConn = psycopg.AsyncConnection[TupleRow]

#: Days before the overview's date whose data count towards the resident's own level.
LEVEL_DAYS = 7
#: Days shown in the series (the date and the days before it).
SERIES_DAYS = 7


@dataclass(frozen=True)
class AlertSettings:
    """A ward's alert settings (``ward_alert_settings``, or the defaults)."""

    not_up_by: time = time(11, 0)
    battery_low_pct: float = 20.0
    offline_after_min: int = 60


@dataclass(frozen=True)
class DayRow:
    day: date
    has_data: bool
    steps: int | None
    walking_min: float | None
    coverage: float
    gait_speed_mps: float | None


@dataclass(frozen=True)
class DeviceNow:
    device_id: str
    kind: str
    assigned_since: datetime
    state: str | None
    battery_pct: float | None
    charging: bool | None
    last_seen_at: datetime | None
    last_frame_at: datetime | None
    status_at: datetime | None  # `at` of the newest status, by the device's clock
    buffered_n: int | None  # the backlog that status reported


@dataclass
class ResidentSnapshot:
    resident_id: int
    pseudonym: str
    display_name: str | None
    room: str | None
    stay_id: int
    admitted_at: datetime
    stay_type: int
    gait_baseline_mps: float | None
    gait_latest_mps: float | None
    gait_change_mps: float | None
    gait_slope: float | None
    gait_slope_low: float | None
    gait_slope_high: float | None
    gait_change_class: str | None
    declining_3d: bool
    #: The date and the :data:`LEVEL_DAYS` days before it.
    days: dict[date, DayRow] = field(default_factory=dict)
    #: The day before the first of ``days``: only for the level of the last full day (yesterday
    #: against the 7 days before it), so nothing else reads further back than it did.
    day_before_days: DayRow | None = None
    devices: list[DeviceNow] = field(default_factory=list)


@dataclass
class WardSnapshot:
    tenant_id: str
    ward_id: int
    time_zone: str
    day: date
    at: datetime
    settings: AlertSettings
    residents: list[ResidentSnapshot]
    #: Residents of the ward that day left out: no care consent covers the day.
    without_care_consent: int = 0

    def day_start(self, day: date) -> datetime:
        """The local midnight that starts ``day``."""
        return datetime.combine(day, time(0), ZoneInfo(self.time_zone))


def local_today(time_zone: str, now: datetime) -> date:
    """Today's date in ``time_zone``."""
    return now.astimezone(ZoneInfo(time_zone)).date()


async def alert_settings(conn: _AConn, ward_id: int) -> AlertSettings:
    """The ward's alert settings, or the defaults."""
    cur = await conn.execute(
        """SELECT not_up_by, battery_low_pct, offline_after_min FROM ward_alert_settings
           WHERE ward_id = %s""",
        (ward_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return AlertSettings()
    return AlertSettings(row[0], float(row[1]), int(row[2]))


_RESIDENTS = """
SELECT DISTINCT ON (s.resident_id)
       s.resident_id, r.pseudonym, d.display_name, d.room, s.stay_id, s.admitted_at, s.stay_type,
       t.gait_speed_baseline_mps, t.gait_speed_latest_mps, t.gait_speed_change_mps,
       t.gait_speed_slope_per_day, t.gait_speed_slope_low, t.gait_speed_slope_high,
       t.gait_speed_change_class, coalesce(t.declining_3d OR t.steps_declining_3d, false),
       care_consent_covers(s.resident_id, %(day)s)
FROM stays s
JOIN residents r ON r.resident_id = s.resident_id
LEFT JOIN resident_details d ON d.resident_id = s.resident_id
LEFT JOIN stay_trajectories t ON t.stay_id = s.stay_id
WHERE s.tenant_id = %(t)s AND s.ward_id = %(w)s AND s.admitted_at < %(end)s
  AND (s.discharged_at IS NULL OR s.discharged_at > %(start)s)
ORDER BY s.resident_id, s.admitted_at DESC
"""

_DAYS = """
SELECT resident_id, day, walker_data OR robot_data, steps_n, walking_min, coverage,
       gait_speed_median_mps
FROM resident_days
WHERE tenant_id = %(t)s AND resident_id = ANY(%(r)s) AND day BETWEEN %(first)s AND %(last)s
"""

_DEVICES = """
SELECT a.resident_id, a.device_id, d.kind, lower(a.valid), l.state, l.battery_pct, l.charging,
       l.last_seen_at,
       (SELECT max(f.time) FROM walker_frames f
        WHERE f.device_id = a.device_id AND f.time >= greatest(lower(a.valid), %(since)s)
          AND f.time < %(at)s) AS last_frame,
       l.status_time, l.buffered_n
FROM device_assignments a
JOIN devices d ON d.device_id = a.device_id
LEFT JOIN device_latest_status l ON l.device_id = a.device_id
WHERE a.tenant_id = %(t)s AND a.resident_id = ANY(%(r)s) AND a.valid @> %(at)s::timestamptz
ORDER BY a.resident_id, d.kind DESC, a.device_id
"""


def _f(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


async def load_ward_snapshot(
    conn: _AConn, tenant_id: str, time_zone: str, ward_id: int, day: date, now: datetime
) -> WardSnapshot:
    """The ward's residents on ``day`` with their days, trajectory and devices."""
    tz = ZoneInfo(time_zone)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    at = min(now, end - timedelta(microseconds=1))
    settings = await alert_settings(conn, ward_id)
    cur = await conn.execute(
        _RESIDENTS, {"t": tenant_id, "w": ward_id, "start": start, "end": end, "day": day}
    )
    rows = await cur.fetchall()
    # Care staff see a resident's day only under care consent (docs/privacy.md); the others
    # are counted, not shown.
    consented = [r for r in rows if r[15]]
    residents = [
        ResidentSnapshot(
            resident_id=int(r[0]),
            pseudonym=str(r[1]),
            display_name=r[2],
            room=r[3],
            stay_id=int(r[4]),
            admitted_at=r[5],
            stay_type=int(r[6]),
            gait_baseline_mps=_f(r[7]),
            gait_latest_mps=_f(r[8]),
            gait_change_mps=_f(r[9]),
            gait_slope=_f(r[10]),
            gait_slope_low=_f(r[11]),
            gait_slope_high=_f(r[12]),
            gait_change_class=r[13],
            declining_3d=bool(r[14]),
        )
        for r in consented
    ]
    by_id = {r.resident_id: r for r in residents}
    ids = list(by_id)
    if ids:
        cur = await conn.execute(
            _DAYS,
            {"t": tenant_id, "r": ids, "first": day - timedelta(days=LEVEL_DAYS + 1), "last": day},
        )
        first = day - timedelta(days=LEVEL_DAYS)
        for rid, d, has, steps, walk, cov, speed in await cur.fetchall():
            row = DayRow(
                d, bool(has), None if steps is None else int(steps), _f(walk), float(cov), _f(speed)
            )
            if d < first:
                by_id[int(rid)].day_before_days = row
            else:
                by_id[int(rid)].days[d] = row
        cur = await conn.execute(
            _DEVICES,
            {"t": tenant_id, "r": ids, "at": at, "since": start - timedelta(days=LEVEL_DAYS)},
        )
        for found in await cur.fetchall():
            rid, dev, kind, since, state, battery, charging, seen, frame, status_at, n = found
            device = DeviceNow(
                str(dev), str(kind), since, state, _f(battery), charging, seen, frame, status_at, n
            )
            by_id[int(rid)].devices.append(device)
    residents.sort(key=lambda r: r.pseudonym)
    return WardSnapshot(
        tenant_id, ward_id, time_zone, day, at, settings, residents, len(rows) - len(consented)
    )
