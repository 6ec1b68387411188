"""Care alerts: the conditions, and their persistent rows (open, resolved, handled).

Conditions, evaluated for "now" on a :class:`~stayactive.api.ward_snapshot.WardSnapshot`:

1. ``not_up_by_hour`` -- past the ward's hour (default 11:00), a resident whose walker is
   monitoring today has not walked today: no frame and no step. Monitoring means it has been
   heard from since midnight, and its newest status was made today by the device's clock and
   reports an empty buffer. A device still uploading a backlog (yesterday's data arriving now,
   or today's frames queued behind it) has not told us about today yet, so its silence is not
   read as inactivity: no alert opens, and one already open (perhaps handled) stays open until
   the walker has caught up and tells either way. A walker whose clock runs behind never
   counts as monitoring (its status seems older than today); the fleet view flags its clock.
2. ``declining_3_days`` -- the stay's trajectory has declined three days running (gait speed or
   daily steps; computed by the analytics runner).
3. ``no_data`` -- no resident-day with data for yesterday and today, and nothing from the
   resident's devices (no frame, no status) in the last 24 h, for a stay that began over a day
   ago: we cannot tell how active the resident is. Never read as inactivity: a device that
   reports while the resident does not walk is ``not_up_by_hour``.
4. ``device_offline`` -- an assigned device is offline or silent for longer than the ward's
   limit (default 60 min).
5. ``battery_low`` -- an assigned device below the ward's battery limit (default 20 %) and not
   charging.

:func:`sync_alerts` opens a row for each new condition, keeps open rows whose condition holds,
and resolves the rest; a condition that comes back later opens a new row. Handling
(:func:`mark_handled`) records who, when and a note and does not close the alert: it closes when
its condition clears. Conditions are evaluated when today's ward overview is read, and every
``STAYACTIVE_API_ALERTS_INTERVAL_S`` for every ward with current stays
(:mod:`stayactive.api.background`), so alerts open when they arise, not when someone looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from stayactive.api.models.overview import URGENCY, AlertKind, AlertPublic, Handled
from stayactive.api.ward_snapshot import (
    AlertSettings,
    DeviceNow,
    ResidentSnapshot,
    WardSnapshot,
    load_ward_snapshot,
    local_today,
)
from stayactive.locale_format import Language, format_clock, format_percent

_AConn = psycopg.AsyncConnection[TupleRow]


@dataclass(frozen=True)
class Condition:
    """An alert condition that holds now; ``opens`` False: it may hold but cannot be told yet
    (a walker catching up), so an open alert stays open (and handled) and none is opened."""

    resident_id: int
    kind: AlertKind
    device_id: str
    since: datetime
    detail: dict[str, Any]
    opens: bool = True


def _walkers(r: ResidentSnapshot) -> list[DeviceNow]:
    return [d for d in r.devices if d.kind == "walker"]


def _heard_today(device: DeviceNow, today_start: datetime) -> bool:
    return device.last_seen_at is not None and device.last_seen_at >= today_start


def _caught_up_today(device: DeviceNow, today_start: datetime) -> bool:
    """The device has reported today with nothing left to upload (see condition 1)."""
    made_today = device.status_at is not None and device.status_at >= today_start
    return _heard_today(device, today_start) and made_today and not device.buffered_n


def conditions(snap: WardSnapshot, now: datetime) -> list[Condition]:
    """Every condition that holds at ``now`` on the snapshot's day (see the module docstring)."""
    out: list[Condition] = []
    today_start = snap.day_start(snap.day)
    not_up_at = datetime.combine(snap.day, snap.settings.not_up_by, today_start.tzinfo)
    yesterday = snap.day - timedelta(days=1)
    for r in snap.residents:
        today = r.days.get(snap.day)
        walkers = _walkers(r)
        # 1. NOT UP BY THE WARD'S HOUR
        monitoring = [w for w in walkers if _caught_up_today(w, today_start)]
        heard_today = [w for w in walkers if _heard_today(w, today_start)]
        walked = any(w.last_frame_at and w.last_frame_at >= today_start for w in walkers) or bool(
            today and today.steps
        )
        if now >= not_up_at and heard_today and not walked:
            out.append(
                Condition(r.resident_id, "not_up_by_hour", "", not_up_at, {}, bool(monitoring))
            )
        # 2. DECLINING THREE DAYS
        if r.declining_3d:
            with_data = sorted(d for d, row in r.days.items() if row.has_data)
            since_day = (with_data[-1] if with_data else snap.day) - timedelta(days=2)
            out.append(
                Condition(r.resident_id, "declining_3_days", "", snap.day_start(since_day), {})
            )
        # 3. NO DATA
        day_ago = now - timedelta(days=1)
        recent = any(r.days.get(d) and r.days[d].has_data for d in (yesterday, snap.day))
        frames = any(w.last_frame_at and w.last_frame_at >= day_ago for w in walkers)
        # A device that reports is monitoring: then silence is inactivity (1), not missing data.
        heard = any(d.last_seen_at and d.last_seen_at >= day_ago for d in r.devices)
        if not (recent or frames or heard) and r.admitted_at <= day_ago:
            with_data = sorted(d for d, row in r.days.items() if row.has_data)
            since = (
                snap.day_start(with_data[-1] + timedelta(days=1))
                if with_data
                else max(r.admitted_at, snap.day_start(snap.day - timedelta(days=7)))
            )
            reason = "no_device" if not r.devices else "no_data"
            out.append(Condition(r.resident_id, "no_data", "", since, {"reason": reason}))
        # 4-5. DEVICES
        limit = timedelta(minutes=snap.settings.offline_after_min)
        for d in r.devices:
            silent = d.last_seen_at is None or d.last_seen_at < now - limit
            if d.state == "offline" or silent:
                since = d.last_seen_at or d.assigned_since
                out.append(
                    Condition(
                        r.resident_id, "device_offline", d.device_id, since, {"state": d.state}
                    )
                )
            elif (
                d.battery_pct is not None
                and d.battery_pct < snap.settings.battery_low_pct
                and not d.charging
            ):
                out.append(
                    Condition(
                        r.resident_id,
                        "battery_low",
                        d.device_id,
                        d.last_seen_at or now,
                        {"battery_pct": d.battery_pct},
                    )
                )
    return out


_UPSERT = """
INSERT INTO alerts (tenant_id, ward_id, resident_id, kind, device_id, since, detail)
SELECT %(t)s, %(w)s, r, k, d, s, x
FROM unnest(%(r)s::bigint[], %(k)s::text[], %(d)s::text[], %(s)s::timestamptz[], %(x)s::jsonb[])
     AS c(r, k, d, s, x)
ON CONFLICT (resident_id, kind, device_id) WHERE resolved_at IS NULL
DO UPDATE SET detail = excluded.detail, ward_id = excluded.ward_id
"""

_RESOLVE = """
UPDATE alerts SET resolved_at = %(now)s
WHERE tenant_id = %(t)s AND ward_id = %(w)s AND resolved_at IS NULL
  AND (resident_id, kind, device_id) NOT IN (
      SELECT * FROM unnest(%(r)s::bigint[], %(k)s::text[], %(d)s::text[]))
"""


async def sync_alerts(
    conn: _AConn, snap: WardSnapshot, holding: list[Condition], now: datetime
) -> None:
    """Open rows for new conditions, keep those that hold (or cannot be told yet), resolve the
    others (of this ward)."""

    def params(conds: list[Condition]) -> dict[str, Any]:
        return {
            "t": snap.tenant_id,
            "w": snap.ward_id,
            "now": now,
            "r": [c.resident_id for c in conds],
            "k": [c.kind for c in conds],
            "d": [c.device_id for c in conds],
            "s": [c.since for c in conds],
            "x": [Jsonb(c.detail) for c in conds],
        }

    opening = [c for c in holding if c.opens]
    if opening:
        await conn.execute(_UPSERT, params(opening))
    await conn.execute(_RESOLVE, params(holding))


_SELECT = """
SELECT alert_id, resident_id, ward_id, kind, device_id, since, resolved_at, handled_at,
       handled_by, handled_note, detail
FROM alerts
"""

_MESSAGES: dict[AlertKind, dict[Language, str]] = {
    "not_up_by_hour": {"nb": "Ikke oppe innen {hour}", "en": "Not up by {hour}"},
    "declining_3_days": {
        "nb": "Nedgang tre dager på rad",
        "en": "Declining three days running",
    },
    "no_data": {"nb": "Ingen data siden {since}", "en": "No data since {since}"},
    "device_offline": {
        "nb": "{device} frakoblet siden {since}",
        "en": "{device} offline since {since}",
    },
    "battery_low": {"nb": "Lavt batteri på {device} ({pct})", "en": "{device} battery low ({pct})"},
}


def _public(row: tuple[Any, ...], time_zone: str, lang: Language, not_up_by: str) -> AlertPublic:
    kind = cast(AlertKind, row[3])
    detail = row[10] or {}
    since: datetime = row[5]
    tz = ZoneInfo(time_zone)
    when = format_clock(since, time_zone)
    if since.astimezone(tz).date() != datetime.now(tz).date():
        when = f"{since.astimezone(tz):%d.%m.} {when}"
    message = _MESSAGES[kind][lang].format(
        hour=not_up_by,
        since=when,
        device=row[4],
        pct=format_percent((detail.get("battery_pct") or 0) / 100, 0, language=lang),
    )
    if kind == "no_data" and detail.get("reason") == "no_device":
        message = "Ingen enhet tildelt" if lang == "nb" else "No device assigned"
    handled = Handled(at=row[7], by=str(row[8]), note=str(row[9] or "")) if row[7] else None
    return AlertPublic(
        alert_id=int(row[0]),
        kind=kind,
        urgency=URGENCY[kind],
        resident_id=int(row[1]),
        ward_id=int(row[2]),
        device_id=str(row[4]) or None,
        since=since,
        resolved_at=row[6],
        handled=handled,
        message=message,
    )


async def open_alerts(
    conn: _AConn, snap: WardSnapshot, lang: Language
) -> dict[int, list[AlertPublic]]:
    """The alerts of the snapshot's residents that were open at ``snap.at``, by resident."""
    cur = await conn.execute(
        _SELECT
        + """WHERE tenant_id = %(t)s AND ward_id = %(w)s AND resident_id = ANY(%(r)s)
                     AND since <= %(at)s AND (resolved_at IS NULL OR resolved_at > %(at)s)
                   ORDER BY since""",
        {
            "t": snap.tenant_id,
            "w": snap.ward_id,
            "r": [r.resident_id for r in snap.residents],
            "at": snap.at,
        },
    )
    hour = snap.settings.not_up_by.strftime("%H:%M")
    out: dict[int, list[AlertPublic]] = {}
    for row in await cur.fetchall():
        alert = _public(row, snap.time_zone, lang, hour)
        out.setdefault(alert.resident_id, []).append(alert)
    for alerts in out.values():
        alerts.sort(key=lambda a: (a.urgency, a.since))
    return out


async def resident_alerts(
    conn: _AConn,
    tenant_id: str,
    resident_id: int,
    ward_ids: list[int] | None,
    time_zone: str,
    lang: Language,
    since: datetime,
) -> list[AlertPublic]:
    """The resident's alerts opened since ``since`` or still open, newest first; only those
    raised on ``ward_ids`` when given (care staff see their own wards' alerts)."""
    cur = await conn.execute(
        """SELECT a.alert_id, a.resident_id, a.ward_id, a.kind, a.device_id, a.since,
                  a.resolved_at, a.handled_at, a.handled_by, a.handled_note, a.detail,
                  coalesce(s.not_up_by, %(default_hour)s)
           FROM alerts a LEFT JOIN ward_alert_settings s ON s.ward_id = a.ward_id
           WHERE a.tenant_id = %(t)s AND a.resident_id = %(r)s
             AND (%(w)s::bigint[] IS NULL OR a.ward_id = ANY(%(w)s))
             AND (a.since >= %(since)s OR a.resolved_at IS NULL)
           ORDER BY a.since DESC""",
        {
            "t": tenant_id,
            "r": resident_id,
            "w": ward_ids,
            "since": since,
            "default_hour": AlertSettings().not_up_by,
        },
    )
    return [
        _public(row[:11], time_zone, lang, row[11].strftime("%H:%M"))
        for row in await cur.fetchall()
    ]


async def alert_by_id(conn: _AConn, tenant_id: str, alert_id: int) -> tuple[int, int] | None:
    """(ward_id, resident_id) of the tenant's alert, or None."""
    cur = await conn.execute(
        "SELECT ward_id, resident_id FROM alerts WHERE tenant_id = %s AND alert_id = %s",
        (tenant_id, alert_id),
    )
    row = await cur.fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


async def mark_handled(
    conn: _AConn, tenant_id: str, alert_id: int, by: str, note: str, time_zone: str, lang: Language
) -> AlertPublic | None:
    """Record who handled the alert, when, and their note (a second call replaces them)."""
    cur = await conn.execute(
        """UPDATE alerts SET handled_at = now(), handled_by = %s, handled_note = %s
           WHERE tenant_id = %s AND alert_id = %s
           RETURNING alert_id, resident_id, ward_id, kind, device_id, since, resolved_at,
                     handled_at, handled_by, handled_note, detail""",
        (by, note, tenant_id, alert_id),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    cur = await conn.execute(
        "SELECT not_up_by FROM ward_alert_settings WHERE ward_id = %s", (row[2],)
    )
    setting = await cur.fetchone()
    hour = (setting[0] if setting else AlertSettings().not_up_by).strftime("%H:%M")
    return _public(row, time_zone, lang, hour)


async def set_ward_alert_settings(
    conn: _AConn, tenant_id: str, ward_id: int, settings: AlertSettings
) -> None:
    """Store a ward's alert settings (the hour for "not up", battery and offline limits)."""
    await conn.execute(
        """INSERT INTO ward_alert_settings (ward_id, tenant_id, not_up_by, battery_low_pct,
                                           offline_after_min)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (ward_id) DO UPDATE SET not_up_by = excluded.not_up_by,
               battery_low_pct = excluded.battery_low_pct,
               offline_after_min = excluded.offline_after_min""",
        (
            ward_id,
            tenant_id,
            settings.not_up_by,
            settings.battery_low_pct,
            settings.offline_after_min,
        ),
    )


_CURRENT_WARDS = """
SELECT DISTINCT ward_id FROM stays
WHERE tenant_id = %s AND admitted_at <= now()
  AND (discharged_at IS NULL OR discharged_at > now() - interval '1 day')
"""


async def evaluate_tenant(conn: _AConn, tenant_id: str, time_zone: str, now: datetime) -> int:
    """Evaluate today's alerts of every ward of the tenant with current stays (in the caller's
    transaction, scoped to the tenant); return how many conditions hold."""
    cur = await conn.execute(_CURRENT_WARDS, (tenant_id,))
    held = 0
    for (ward_id,) in await cur.fetchall():
        snap = await load_ward_snapshot(
            conn, tenant_id, time_zone, int(ward_id), local_today(time_zone, now), now
        )
        holding = conditions(snap, now)
        await sync_alerts(conn, snap, holding, now)
        held += len(holding)
    return held
