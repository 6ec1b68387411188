"""Messages and rejects per device in the last hour and the last 24 hours, for ``/fleet``.

A message is what a device sent once: a telemetry message (its first frame, ``frame_no`` 0), a
robot event or a status (the last will included). They are counted by the time the device gave
them, so a backlog replayed after an outage counts in the hours it was recorded, not in the
hour it arrived. Rejects (messages that failed validation, kept in ``ingest_rejects``) are
counted by the time they arrived: a rejected message has no trustworthy time of its own.
Rejects beyond a device's reject rate limit are not kept but counted per hour
(``ingest_reject_overflow``); they count in full in each range their hour's last suppressed
reject falls in, so a flood is never missing from the rate, at worst up to an hour early.

Each count is one index range per device and table (migration 0017): the query does not grow
with the tables' history, only with each device's last 24 hours (a walker uploading every 5 s
all day has 17,280 messages; counting them took 5 ms with the day's chunk vacuumed and 15 ms
before, on the shared test machine: ``tests/api/test_fleet_traffic.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

_AConn = psycopg.AsyncConnection[TupleRow]

# One row per device id given; the LATERAL counts use the (device_id, time) indexes.
_TRAFFIC = """
WITH d AS (SELECT unnest(%(ids)s::text[]) AS device_id)
SELECT d.device_id,
       w.h1 + e.h1 + s.h1, w.h24 + e.h24 + s.h24, r.h1 + o.h1, r.h24 + o.h24
FROM d
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE f.time > %(now)s - interval '1 hour') AS h1, count(*) AS h24
    FROM walker_frames f
    WHERE f.device_id = d.device_id AND f.frame_no = 0 AND f.time > %(now)s - interval '24 hours'
) w
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE x.time > %(now)s - interval '1 hour') AS h1, count(*) AS h24
    FROM robot_events x
    WHERE x.device_id = d.device_id AND x.time > %(now)s - interval '24 hours'
) e
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE x.time > %(now)s - interval '1 hour') AS h1, count(*) AS h24
    FROM device_status x
    WHERE x.device_id = d.device_id AND x.time > %(now)s - interval '24 hours'
) s
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE j.received_at > %(now)s - interval '1 hour') AS h1,
           count(*) AS h24
    FROM ingest_rejects j
    WHERE j.device_id = d.device_id AND j.received_at > %(now)s - interval '24 hours'
) r
CROSS JOIN LATERAL (
    SELECT coalesce(sum(o.suppressed_n)
                    FILTER (WHERE o.last_received_at > %(now)s - interval '1 hour'), 0) AS h1,
           coalesce(sum(o.suppressed_n), 0) AS h24
    FROM ingest_reject_overflow o
    WHERE o.device_id = d.device_id AND o.last_received_at > %(now)s - interval '24 hours'
) o
"""


@dataclass(frozen=True)
class Traffic:
    """One device's counts; ``reject_share_24h`` is rejects / (messages + rejects), None
    when nothing came at all."""

    messages_1h: int
    messages_24h: int
    rejects_1h: int
    rejects_24h: int

    @property
    def reject_share_24h(self) -> float | None:
        total = self.messages_24h + self.rejects_24h
        return self.rejects_24h / total if total else None


async def traffic(conn: _AConn, device_ids: Sequence[str], now: datetime) -> dict[str, Traffic]:
    """Counts of the devices ``device_ids`` (of the caller's tenant) up to ``now``."""
    if not device_ids:
        return {}
    cur = await conn.execute(_TRAFFIC, {"ids": list(device_ids), "now": now})
    return {
        str(r[0]): Traffic(int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in await cur.fetchall()
    }
