"""Reviewing the audit trail: a resident's own access log, and access that looks unusual.

Normen asks that access to health data be logged and that the logs be reviewed; a resident may
ask who has read their data. :func:`resident_access_log` and :func:`access_log_csv` answer the
resident (CSV with Norwegian headers, English on request); :func:`unusual_access` helps the
reviewer by flagging three patterns in the reads of resident-level data:

1. ``outside_usual_wards`` -- a read of a resident none of whose stays was on a ward the user
   usually works on: the wards in the user's scope and those of the residents they read in the
   ``baseline_days`` before the period;
2. ``many_residents`` -- more than ``burst_residents`` different residents read by one user
   within ``burst_minutes``;
3. ``night`` -- reads between ``night_from`` and ``night_to`` o'clock, tenant's local time;
4. ``denied`` -- attempts the API refused: a resident or a ward outside the user's scope
   (audit action ``denied``, :mod:`stayactive.api.denied`); nothing was read.

A flag is a question for the reviewer, not a verdict: night shifts read at night.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import psycopg
from psycopg.rows import TupleRow

_Conn = psycopg.Connection[TupleRow]

FlagKind = Literal["outside_usual_wards", "many_residents", "night", "denied"]


@dataclass(frozen=True)
class ReviewThresholds:
    """When access is flagged (see the module docstring)."""

    burst_residents: int = 30
    burst_minutes: int = 10
    night_from: int = 23
    night_to: int = 6
    baseline_days: int = 30


@dataclass(frozen=True)
class AccessFlag:
    """One unusual pattern: who, what kind, from when to when, how many reads and residents."""

    kind: FlagKind
    actor: str
    first_at: datetime
    last_at: datetime
    reads: int
    residents: tuple[str, ...]
    #: What is unusual, in bokmål (for the reviewer).
    detail: str
    #: The same in English.
    detail_en: str


@dataclass(frozen=True)
class AccessEntry:
    """One row of a resident's access log."""

    at: datetime
    actor: str
    actor_role: str | None
    action: str
    endpoint: str | None
    purpose: str | None


_READS = """
    SELECT a.audit_id, a.at, a.actor, a.subject_id
    FROM audit_log a
    WHERE a.tenant_id = %(t)s AND a.subject_kind = 'resident' AND a.action = 'read'
      AND a.at >= %(start)s AND a.at < %(end)s
"""

_OUTSIDE_WARDS = f"""
WITH reads AS ({_READS}),
usual AS (
    SELECT u.username AS actor, s.ward_id FROM users u
    JOIN user_ward_scope s ON s.user_id = u.user_id WHERE u.tenant_id = %(t)s
    UNION
    SELECT b.actor, st.ward_id FROM audit_log b
    JOIN stays st ON st.tenant_id = b.tenant_id AND st.resident_id::text = b.subject_id
    WHERE b.tenant_id = %(t)s AND b.subject_kind = 'resident' AND b.action = 'read'
      AND b.at >= %(start)s - make_interval(days => %(baseline)s) AND b.at < %(start)s
)
SELECT r.actor, min(r.at), max(r.at), count(*), array_agg(DISTINCT r.subject_id),
       (SELECT string_agg(DISTINCT w.name, ', ') FROM stays st JOIN wards w USING (ward_id)
        WHERE st.resident_id::text = ANY(array_agg(r.subject_id)))
FROM reads r
WHERE NOT EXISTS (
    SELECT 1 FROM stays st JOIN usual u ON u.ward_id = st.ward_id AND u.actor = r.actor
    WHERE st.tenant_id = %(t)s AND st.resident_id::text = r.subject_id)
GROUP BY r.actor ORDER BY r.actor
"""

_MANY = f"""
WITH reads AS ({_READS}),
windows AS (
    SELECT r.actor, r.at,
           (SELECT count(DISTINCT x.subject_id) FROM reads x
            WHERE x.actor = r.actor AND x.at >= r.at
              AND x.at < r.at + make_interval(mins => %(minutes)s)) AS residents
    FROM reads r
),
bursts AS (
    -- one flag per user and hour: the window that started first in it
    SELECT DISTINCT ON (actor, date_trunc('hour', at)) actor, at, residents FROM windows
    WHERE residents > %(limit)s ORDER BY actor, date_trunc('hour', at), at
)
SELECT b.actor, b.at, max(x.at), count(*), array_agg(DISTINCT x.subject_id), b.residents
FROM bursts b JOIN reads x ON x.actor = b.actor AND x.at >= b.at
     AND x.at < b.at + make_interval(mins => %(minutes)s)
GROUP BY b.actor, b.at, b.residents ORDER BY b.actor, b.at
"""

_NIGHT = f"""
WITH reads AS ({_READS}), tz AS (SELECT time_zone FROM tenants WHERE tenant_id = %(t)s)
SELECT r.actor, min(r.at), max(r.at), count(*), array_agg(DISTINCT r.subject_id),
       ((r.at AT TIME ZONE (SELECT time_zone FROM tz)) - interval '12 hours')::date AS night
FROM reads r
WHERE extract(hour FROM r.at AT TIME ZONE (SELECT time_zone FROM tz)) >= %(night_from)s
   OR extract(hour FROM r.at AT TIME ZONE (SELECT time_zone FROM tz)) < %(night_to)s
GROUP BY r.actor, night ORDER BY r.actor, night
"""


_DENIED = """
SELECT actor, min(at), max(at), count(*),
       coalesce(array_agg(DISTINCT subject_id) FILTER (WHERE subject_kind = 'resident'), '{}'),
       string_agg(DISTINCT subject_id, ', ') FILTER (WHERE subject_kind = 'ward')
FROM audit_log
WHERE tenant_id = %(t)s AND action = 'denied' AND subject_kind IN ('resident', 'ward')
  AND at >= %(start)s AND at < %(end)s
GROUP BY actor ORDER BY actor
"""


def _sorted_ids(ids: list[Any]) -> tuple[str, ...]:
    return tuple(sorted((str(i) for i in ids), key=lambda s: (len(s), s)))


def unusual_access(
    conn: _Conn,
    tenant: str,
    start: datetime,
    end: datetime,
    thresholds: ReviewThresholds | None = None,
) -> list[AccessFlag]:
    """The flags of ``[start, end)`` for the tenant, by kind and user (module docstring)."""
    th = thresholds or ReviewThresholds()
    params: dict[str, Any] = {
        "t": tenant,
        "start": start,
        "end": end,
        "baseline": th.baseline_days,
        "minutes": th.burst_minutes,
        "limit": th.burst_residents,
        "night_from": th.night_from,
        "night_to": th.night_to,
    }
    flags: list[AccessFlag] = []
    for actor, first, last, n, ids, wards in conn.execute(_OUTSIDE_WARDS, params):
        flags.append(
            AccessFlag(
                "outside_usual_wards", str(actor), first, last, int(n), _sorted_ids(ids),
                f"beboere på avdelinger utenfor brukerens vanlige ({wards or 'uten opphold'})",
                f"residents of wards outside the user's usual ones ({wards or 'no stay'})",
            )
        )  # fmt: skip
    for actor, first, last, n, ids, residents in conn.execute(_MANY, params):
        flags.append(
            AccessFlag(
                "many_residents", str(actor), first, last, int(n), _sorted_ids(ids),
                f"{residents} beboere innen {th.burst_minutes} minutter",
                f"{residents} residents within {th.burst_minutes} minutes",
            )
        )  # fmt: skip
    for actor, first, last, n, ids, night in conn.execute(_NIGHT, params):
        flags.append(
            AccessFlag(
                "night", str(actor), first, last, int(n), _sorted_ids(ids),
                f"oppslag natten til {night + timedelta(days=1):%d.%m.%Y} (mellom "
                f"{th.night_from:02d}:00 og {th.night_to:02d}:00 lokal tid)",
                f"reads in the night of {night} (between {th.night_from:02d}:00 and "
                f"{th.night_to:02d}:00 local time)",
            )
        )  # fmt: skip
    for actor, first, last, n, ids, wards in conn.execute(_DENIED, params):
        on_wards = f"; avdeling {wards}" if wards else ""
        on_wards_en = f"; ward {wards}" if wards else ""
        flags.append(
            AccessFlag(
                "denied", str(actor), first, last, int(n), _sorted_ids(ids),
                f"{n} avviste forsøk utenfor brukerens tilgang{on_wards}",
                f"{n} refused attempts outside the user's scope{on_wards_en}",
            )
        )  # fmt: skip
    return flags


def resident_access_log(
    conn: _Conn, tenant: str, resident_id: int, start: datetime, end: datetime
) -> list[AccessEntry]:
    """Who read or changed the resident's data in ``[start, end)``, oldest first."""
    rows = conn.execute(
        """SELECT at, actor, actor_role, action, endpoint, purpose FROM audit_log
           WHERE tenant_id = %s AND subject_kind = 'resident' AND subject_id = %s
             AND at >= %s AND at < %s
           ORDER BY at, audit_id""",
        (tenant, str(resident_id), start, end),
    ).fetchall()
    return [AccessEntry(*row) for row in rows]


#: Column headings of the resident's access log, in bokmål first.
HEADERS: Final = {
    "nb": ("Tidspunkt", "Bruker", "Rolle", "Handling", "Hva ble brukt", "Formål"),
    "en": ("Time", "User", "Role", "Action", "What was used", "Purpose"),
}
_ACTIONS_NB: Final = {
    "read": "lest",
    "denied": "avvist (ingenting lest)",
    "create": "opprettet",
    "update": "endret",
    "delete": "slettet",
    "consent.record": "samtykke registrert",
    "consent.withdraw": "samtykke trukket tilbake",
    "access_log.export": "innsynslogg eksportert",
    "access_log.read": "tilgangslogg lest",
    "handle-alert": "varsel håndtert",
    "import": "importert",
}
_PURPOSES_NB: Final = {
    "care": "helsehjelp",
    "evaluation": "evaluering",
    "open_data": "åpne data",
    "administration": "administrasjon",
    "integration": "integrasjon",
}


def access_log_csv(
    entries: list[AccessEntry], time_zone: str, lang: Literal["nb", "en"] = "nb"
) -> str:
    """The access log as CSV (``;``-separated in bokmål, as Norwegian spreadsheets expect;
    times in the tenant's zone)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(time_zone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if lang == "nb" else ",", lineterminator="\r\n")
    writer.writerow(HEADERS[lang])
    for e in entries:
        action, purpose = e.action, e.purpose or ""
        if lang == "nb":
            action = _ACTIONS_NB.get(action, action)
            purpose = _PURPOSES_NB.get(purpose, purpose)
        writer.writerow(
            (
                e.at.astimezone(tz).strftime("%d.%m.%Y %H:%M:%S"),
                e.actor,
                e.actor_role or "",
                action,
                e.endpoint or "",
                purpose,
            )
        )
    return out.getvalue()
