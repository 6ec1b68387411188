"""Writing a batch of validated messages and rejects in one transaction.

Rows go through binary COPY into temporary staging tables and from there into the hypertables
with ``ON CONFLICT DO NOTHING``: a redelivered or replayed message (same device, boot, seq and
time) stores nothing twice, and the difference between staged and inserted rows counts the
duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from ingest import copy_binary
from ingest.messages import Accepted, Reject, RobotEvent, Status, WalkerTelemetry

log = logging.getLogger(__name__)

_Conn = psycopg.Connection[TupleRow]

FRAME_COLUMNS = (
    "time", "device_id", "tenant_id", "boot", "seq", "frame_no", "rate_hz",
    "samples", "brake_mask", "received_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "time",
    "device_id",
    "tenant_id",
    "boot",
    "seq",
    "event",
    "session_id",
    "body",
    "received_at",
)
EVENT_TYPES = (
    "timestamptz",
    "text",
    "text",
    "int4",
    "int8",
    "text",
    "text",
    "jsonb",
    "timestamptz",
)
STATUS_COLUMNS = (
    "time", "device_id", "tenant_id", "boot", "seq", "state", "battery_pct", "charging",
    "firmware", "rssi_dbm", "buffered_n", "clock_offset_ms", "config_id", "received_at",
)  # fmt: skip
STATUS_TYPES = (
    "timestamptz", "text", "text", "int4", "int8", "text", "float4", "bool",
    "text", "float4", "int4", "float4", "int4", "timestamptz",
)  # fmt: skip
REJECT_COLUMNS = ("received_at", "topic", "device_id", "reason", "detail", "payload")
REJECT_TYPES = ("timestamptz", "text", "text", "text", "text", "bytea")


@dataclass
class StoreResult:
    """Rows one committed batch wrote, and how many were already there."""

    frames: int = 0
    events: int = 0
    statuses: int = 0
    duplicate_rows: int = 0
    rejects: int = 0


def prepare(conn: _Conn) -> None:
    """Create this connection's staging tables (temporary, emptied at every commit)."""
    with conn.transaction():
        for table in ("walker_frames", "robot_events", "device_status"):
            conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) "
                    "ON COMMIT DELETE ROWS"
                ).format(sql.Identifier("stage_" + table), sql.Identifier(table))
            )


def write_batch(
    conn: _Conn, accepted: Sequence[Accepted], rejects: Sequence[Reject]
) -> StoreResult:
    """Store ``accepted`` and ``rejects`` in one transaction; return the counts once committed."""
    frames: list[bytes] = []
    events: list[tuple[Any, ...]] = []
    statuses: list[tuple[Any, ...]] = []
    for item in accepted:
        env = item.envelope
        if isinstance(item, WalkerTelemetry):
            for no, frame in enumerate(item.frames):
                frames.append(
                    copy_binary.frame_row(
                        frame, env.device_id, env.tenant_id, env.boot, env.seq, no, env.received_at
                    )
                )
        elif isinstance(item, RobotEvent):
            events.append(
                (item.at, env.device_id, env.tenant_id, env.boot, env.seq, item.event,
                 item.session_id, Jsonb(item.body), env.received_at)
            )  # fmt: skip
        else:
            statuses.append(
                (item.at, env.device_id, env.tenant_id, env.boot, env.seq, item.state,
                 item.battery_pct, item.charging, item.firmware, item.rssi_dbm, item.buffered_n,
                 item.clock_offset_ms, item.config_id, env.received_at)
            )  # fmt: skip
    result = StoreResult()
    with conn.transaction():
        new_frames, dup_frames = _copy_upsert(conn, "walker_frames", FRAME_COLUMNS, None, frames)
        new_events, dup_events = _copy_upsert(
            conn, "robot_events", EVENT_COLUMNS, EVENT_TYPES, events
        )
        new_status, dup_status = _copy_upsert(
            conn, "device_status", STATUS_COLUMNS, STATUS_TYPES, statuses
        )
        if rejects:
            rows = [
                (r.received_at, r.topic, r.device_id, r.reason, r.detail, r.payload)
                for r in rejects
            ]
            _copy(conn, "ingest_rejects", REJECT_COLUMNS, REJECT_TYPES, rows)
        _update_latest(conn, accepted)
    result.frames, result.events, result.statuses = new_frames, new_events, new_status
    result.duplicate_rows = dup_frames + dup_events + dup_status
    result.rejects = len(rejects)
    return result


def _copy(
    conn: _Conn,
    table: str,
    columns: Sequence[str],
    types: Sequence[str] | None,
    rows: Sequence[tuple[Any, ...]] | Sequence[bytes],
) -> None:
    """Binary COPY of ``rows``: tuples dumped by psycopg with ``types``, or, with ``types`` None,
    rows already in binary COPY format (walker frames, see ingest.copy_binary)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(statement) as copy:
        if types is None:
            copy.write(copy_binary.stream(row for row in rows if isinstance(row, bytes)))
            return
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def _copy_upsert(
    conn: _Conn,
    table: str,
    columns: Sequence[str],
    types: Sequence[str] | None,
    rows: Sequence[tuple[Any, ...]] | Sequence[bytes],
) -> tuple[int, int]:
    """COPY into the staging table, then insert what is new; return (inserted, duplicates)."""
    if not rows:
        return 0, 0
    stage = "stage_" + table
    _copy(conn, stage, columns, types, rows)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    cur = conn.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
            sql.Identifier(table), cols, cols, sql.Identifier(stage)
        )
    )
    inserted = max(cur.rowcount, 0)
    return inserted, len(rows) - inserted


def _update_latest(conn: _Conn, accepted: Sequence[Accepted]) -> None:
    seen: dict[str, tuple[str, datetime]] = {}
    latest: dict[str, Status] = {}
    for item in accepted:
        env = item.envelope
        if env.device_id not in seen or env.received_at > seen[env.device_id][1]:
            seen[env.device_id] = (env.tenant_id, env.received_at)
        if isinstance(item, Status):
            current = latest.get(env.device_id)
            if current is None or env.received_at >= current.envelope.received_at:
                latest[env.device_id] = item
    if not seen:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO device_latest_status (device_id, tenant_id, last_seen_at)
               VALUES (%s, %s, %s)
               ON CONFLICT (device_id) DO UPDATE
               SET last_seen_at =
                   greatest(device_latest_status.last_seen_at, excluded.last_seen_at)""",
            [(device, tenant, at) for device, (tenant, at) in seen.items()],
        )
        cur.executemany(
            """UPDATE device_latest_status SET
                   status_time = %(at)s, status_received_at = %(received_at)s, state = %(state)s,
                   battery_pct = coalesce(%(battery_pct)s, battery_pct),
                   charging = coalesce(%(charging)s, charging),
                   firmware = coalesce(%(firmware)s, firmware),
                   rssi_dbm = coalesce(%(rssi_dbm)s, rssi_dbm),
                   buffered_n = coalesce(%(buffered_n)s, buffered_n),
                   clock_offset_ms = coalesce(%(clock_offset_ms)s, clock_offset_ms),
                   config_id = coalesce(%(config_id)s, config_id),
                   clock_skew_ms = coalesce(%(skew_ms)s, clock_skew_ms)
               WHERE device_id = %(device_id)s
                 AND (status_received_at IS NULL OR status_received_at <= %(received_at)s)""",
            [_latest_params(s) for s in latest.values()],
        )


def _latest_params(status: Status) -> dict[str, Any]:
    env = status.envelope
    # Only a status sent live (nothing buffered) tells the device clock's error.
    live = env.sent_at is not None and status.buffered_n == 0
    skew_ms = (
        (env.received_at - env.sent_at).total_seconds() * 1000 if live and env.sent_at else None
    )
    return {
        "device_id": env.device_id,
        "at": status.at,
        "received_at": env.received_at,
        "state": status.state,
        "battery_pct": status.battery_pct,
        "charging": status.charging,
        "firmware": status.firmware,
        "rssi_dbm": status.rssi_dbm,
        "buffered_n": status.buffered_n,
        "clock_offset_ms": status.clock_offset_ms,
        "config_id": status.config_id,
        "skew_ms": skew_ms,
    }
