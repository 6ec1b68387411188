"""The ward overview: a snapshot of the ward turned into one row per resident.

Processing steps of :func:`ward_overview`:

1. Load the ward's snapshot for the date (residents with a stay that day, 8 days of
   resident-days, trajectory, devices assigned at the time).
2. If the date is today, evaluate the alert conditions and bring the alert rows in line.
3. Per resident: the date's figures against the median of the previous 7 days with data, the
   last complete day (yesterday while the date is today) against the 7 days before it, the
   7-day series, gait speed (latest day with walking) and its trend (the stay's slope and its
   95 % interval), the newest walker frame, mean coverage, devices, open alerts, and the same
   figures as text in the requested language.
4. Most urgent first: by the resident's most urgent open alert, then by pseudonym.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Literal, cast

import psycopg
from psycopg.rows import TupleRow

from stayactive.api import alerts as alert_rows
from stayactive.api.models.overview import (
    AlertPublic,
    DayPoint,
    DeviceBrief,
    Display,
    FullDayVsLevel,
    Gait,
    Level,
    ResidentRow,
    StayBrief,
    WardOverviewPublic,
)
from stayactive.api.ward_snapshot import (
    LEVEL_DAYS,
    SERIES_DAYS,
    DayRow,
    ResidentSnapshot,
    WardSnapshot,
    load_ward_snapshot,
    local_today,
)
from stayactive.locale_format import (
    Language,
    format_clock,
    format_number,
    format_percent,
    format_unit,
)

_AConn = psycopg.AsyncConnection[TupleRow]


def _ratio(value: float | None, level: float | None) -> float | None:
    if value is None or level is None or level <= 0:
        return None
    return value / level - 1.0


def _trend(r: ResidentSnapshot) -> Literal["improving", "stable", "declining", "unknown"]:
    if r.gait_slope is None:
        return "unknown"
    if r.gait_slope_low is not None and r.gait_slope_low > 0:
        return "improving"
    if r.gait_slope_high is not None and r.gait_slope_high < 0:
        return "declining"
    return "stable"


def _point(r: ResidentSnapshot, day: date) -> DayPoint:
    row = r.days.get(day)
    if row is None:
        return DayPoint(date=day, has_data=False, steps=None, walking_min=None, coverage=0.0)
    return DayPoint(
        date=day,
        has_data=row.has_data,
        steps=row.steps if row.has_data else None,
        walking_min=row.walking_min if row.has_data else None,
        coverage=row.coverage,
    )


def _days_before(r: ResidentSnapshot, day: date) -> list[DayRow]:
    """The days with data among the :data:`LEVEL_DAYS` days before ``day``, oldest first."""
    rows = [*r.days.values(), *([r.day_before_days] if r.day_before_days else [])]
    first = day - timedelta(days=LEVEL_DAYS)
    return sorted((p for p in rows if first <= p.day < day and p.has_data), key=lambda p: p.day)


def _median(values: list[int | None] | list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(statistics.median(known)) if known else None


def _against_level(r: ResidentSnapshot, day: date) -> FullDayVsLevel:
    """``day`` against the resident's level: the medians of the 7 days before it with data."""
    point = _point(r, day)
    previous = _days_before(r, day)
    steps_level = _median([p.steps for p in previous])
    walk_level = _median([p.walking_min for p in previous])
    return FullDayVsLevel(
        date=day,
        has_data=point.has_data,
        steps=point.steps,
        walking_min=point.walking_min,
        steps_median=steps_level,
        walking_min_median=walk_level,
        days_with_data=len(previous),
        steps_vs_level=_ratio(point.steps, steps_level),
        walking_vs_level=_ratio(point.walking_min, walk_level),
    )


def _row(
    r: ResidentSnapshot,
    snap: WardSnapshot,
    alerts: list[AlertPublic],
    lang: Language,
    show_identity: bool,
    day_complete: bool,
) -> ResidentRow:
    day = snap.day
    today = _point(r, day)
    at_day = _against_level(r, day)
    level = Level(
        steps_median=at_day.steps_median,
        walking_min_median=at_day.walking_min_median,
        days_with_data=at_day.days_with_data,
        steps_vs_level=at_day.steps_vs_level,
        walking_vs_level=at_day.walking_vs_level,
        day_complete=day_complete,
    )
    # A day in progress against whole days reads "-100 %" at 07:00: compare the last
    # complete day instead (per-hour steps are not stored; docs/dashboard.md says why).
    full = at_day if day_complete else _against_level(r, day - timedelta(days=1))
    series = [_point(r, day - timedelta(days=i)) for i in range(SERIES_DAYS - 1, -1, -1)]
    with_speed = [r.days[d] for d in sorted(r.days) if r.days[d].gait_speed_mps is not None]
    speed = with_speed[-1].gait_speed_mps if with_speed else r.gait_latest_mps
    speed_date = with_speed[-1].day if with_speed else None
    frames = [d.last_frame_at for d in r.devices if d.last_frame_at is not None]
    last_activity = max(frames) if frames else None
    coverage_7d = sum(p.coverage for p in series) / len(series)
    tz = snap.day_start(day).tzinfo
    local_admitted = r.admitted_at.astimezone(tz).date()
    return ResidentRow(
        resident_id=r.resident_id,
        pseudonym=r.pseudonym,
        display_name=r.display_name if show_identity else None,
        room=r.room if show_identity else None,
        stay=StayBrief(
            stay_id=r.stay_id,
            admitted_at=r.admitted_at,
            day_of_stay=(day - local_admitted).days + 1,
            stay_type=r.stay_type,
        ),
        today=today,
        level=level,
        last_full_day=full,
        series=series,
        gait=Gait(
            speed_mps=speed,
            speed_date=speed_date,
            baseline_mps=r.gait_baseline_mps,
            change_mps=r.gait_change_mps,
            slope_mps_per_day=r.gait_slope,
            trend=_trend(r),
            change_class=r.gait_change_class,
        ),
        last_activity_at=last_activity,
        coverage_7d=coverage_7d,
        devices=[
            DeviceBrief(
                device_id=d.device_id,
                kind=cast(Literal["walker", "robot"], d.kind),
                state=d.state,
                battery_pct=d.battery_pct,
                charging=d.charging,
                last_seen_at=d.last_seen_at,
            )
            for d in r.devices
        ],
        alerts=alerts,
        display=Display(
            steps=format_number(today.steps, 0, language=lang),
            walking=format_unit(today.walking_min, 0, "min", language=lang),
            level=format_percent(level.steps_vs_level, 0, language=lang, signed=True),
            last_full_day_steps=format_number(full.steps, 0, language=lang),
            last_full_day_level=format_percent(full.steps_vs_level, 0, language=lang, signed=True),
            gait_speed=format_unit(speed, 2, "m/s", language=lang),
            last_activity=format_clock(last_activity, snap.time_zone),
            coverage=format_percent(today.coverage, 0, language=lang),
        ),
    )


async def ward_overview(
    conn: _AConn,
    *,
    tenant_id: str,
    time_zone: str,
    ward_id: int,
    ward: str,
    site: str,
    day: date | None,
    lang: Language,
    show_identity: bool,
    now: datetime | None = None,
) -> WardOverviewPublic:
    """The overview of a ward on ``day`` (default today); see the module docstring."""
    now = now or datetime.now(UTC)
    today = local_today(time_zone, now)
    day = day or today
    # 1. SNAPSHOT
    snap = await load_ward_snapshot(conn, tenant_id, time_zone, ward_id, day, now)
    # 2. ALERTS (only "now" can be evaluated; a past day shows what was open then)
    if day == today:
        await alert_rows.sync_alerts(conn, snap, alert_rows.conditions(snap, now), now)
    open_by_resident = await alert_rows.open_alerts(conn, snap, lang)
    # 3. ONE ROW PER RESIDENT
    rows = [
        _row(r, snap, open_by_resident.get(r.resident_id, []), lang, show_identity, day < today)
        for r in snap.residents
    ]
    # 4. MOST URGENT FIRST
    rows.sort(key=lambda row: (min((a.urgency for a in row.alerts), default=99), row.pseudonym))
    counts: dict[str, int] = {}
    for row in rows:
        for a in row.alerts:
            counts[a.kind] = counts.get(a.kind, 0) + 1
    return WardOverviewPublic(
        ward_id=ward_id,
        ward=ward,
        site=site,
        date=day,
        time_zone=time_zone,
        generated_at=now,
        not_up_by=snap.settings.not_up_by.strftime("%H:%M"),
        lang=lang,
        residents=rows,
        alert_counts=counts,
        residents_without_care_consent=snap.without_care_consent,
    )
