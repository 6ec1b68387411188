"""Writing a batch of validated messages and rejects in one transaction.

Two steps, so that the first can run on the validating thread while the database works on the
previous batch:

1. :func:`encode` turns each accepted message into its rows (walker frames in binary COPY format,
   see ingest.copy_binary); a message whose rows cannot be built becomes a reject, never an
   exception that stops the batch.
2. :func:`write` claims each message's key ``(device_id, boot, seq)`` in ``message_keys``
   (hypertable unique keys must hold the time column, so they alone could not tell a replay
   with another ``t0`` from a new message). Messages whose key was free are stored: walker frames
   by binary COPY straight into the hypertable, events and statuses through a staging table with
   ``ON CONFLICT DO NOTHING`` (the last will, seq 0, is keyed by its time). A key already held
   by the same payload is a duplicate and is dropped; by another payload, a ``key_conflict``
   reject with both hashes. Rejects are stored once per (device, reason, boot, seq), with a
   bounded prefix of the payload, within the device's rate limit; beyond it they are counted.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from ingest import copy_binary
from ingest.limits import RejectLimiter
from ingest.messages import Accepted, Reject, RobotEvent, Status, WalkerTelemetry

log = logging.getLogger(__name__)

_Conn = psycopg.Connection[TupleRow]
MessageKey = tuple[str, int, int]  # (device_id, boot, seq)

#: Bytes of a rejected payload that are kept (its size and SHA-256 are kept too).
REJECT_PAYLOAD_PREFIX_BYTES = 4096

FRAME_COLUMNS = (
    "time", "device_id", "tenant_id", "boot", "seq", "frame_no", "rate_hz",
    "samples", "brake_mask", "received_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "time", "device_id", "tenant_id", "boot", "seq", "event", "session_id", "body", "received_at",
)  # fmt: skip
EVENT_TYPES = (
    "timestamptz", "text", "text", "int8", "int8", "text", "text", "jsonb", "timestamptz",
)  # fmt: skip
STATUS_COLUMNS = (
    "time", "device_id", "tenant_id", "boot", "seq", "state", "battery_pct", "charging",
    "firmware", "rssi_dbm", "buffered_n", "clock_offset_ms", "config_id", "received_at",
)  # fmt: skip
STATUS_TYPES = (
    "timestamptz", "text", "text", "int8", "int8", "text", "float4", "bool",
    "text", "float4", "int8", "float4", "int8", "timestamptz",
)  # fmt: skip


@dataclass(frozen=True)
class Encoded:
    """One accepted message with its rows, ready for :func:`write`."""

    item: Accepted
    frame_rows: bytes = b""  # its walker_frames rows in binary COPY format, one after the other
    n_frames: int = 0
    event: tuple[Any, ...] | None = None
    status: tuple[Any, ...] | None = None


@dataclass
class StoreResult:
    """What one committed batch wrote, and what it found already there."""

    frames: int = 0
    events: int = 0
    statuses: int = 0
    duplicate_messages: int = 0  # key already held by the same payload: redelivery or replay
    duplicate_rows: int = 0  # rows already there (the last will, seq 0, by its time)
    rejects: int = 0  # reject rows written
    rejects_repeated: int = 0  # the same reject already stored (redelivered)
    rejects_suppressed: int = 0  # beyond the device's rate limit: counted, not kept
    #: Rejects found while storing (key conflicts), for the caller's metrics and logs.
    found: list[Reject] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    key_seconds: float = 0.0  # time spent claiming message keys


def prepare(conn: _Conn) -> None:
    """Create this connection's staging tables (temporary, emptied at every commit)."""
    with conn.transaction():
        for table in ("robot_events", "device_status"):
            conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) "
                    "ON COMMIT DELETE ROWS"
                ).format(sql.Identifier("stage_" + table), sql.Identifier(table))
            )


def encode(accepted: Sequence[Accepted]) -> tuple[list[Encoded], list[Accepted]]:
    """The rows of each message; the messages whose rows could not be built come second."""
    encoded: list[Encoded] = []
    failed: list[Accepted] = []
    for item in accepted:
        try:
            encoded.append(_encode(item))
        except Exception:  # one message must never stop the batch
            log.exception("could not encode the rows of a message from %s", item.envelope.device_id)
            failed.append(item)
    return encoded, failed


def _encode(item: Accepted) -> Encoded:
    env = item.envelope
    if isinstance(item, WalkerTelemetry):
        rows = copy_binary.message_rows(
            item.frames, env.device_id, env.tenant_id, env.boot, env.seq, env.received_at
        )
        return Encoded(item, frame_rows=rows, n_frames=len(item.frames))
    if isinstance(item, RobotEvent):
        event = (
            item.at, env.device_id, env.tenant_id, env.boot, env.seq, item.event,
            item.session_id, Jsonb(item.body), env.received_at,
        )  # fmt: skip
        return Encoded(item, event=event)
    status = (
        item.at, env.device_id, env.tenant_id, env.boot, env.seq, item.state,
        item.battery_pct, item.charging, item.firmware, item.rssi_dbm, item.buffered_n,
        item.clock_offset_ms, item.config_id, env.received_at,
    )  # fmt: skip
    return Encoded(item, status=status)


def write_batch(
    conn: _Conn,
    accepted: Sequence[Accepted],
    rejects: Sequence[Reject],
    *,
    limiter: RejectLimiter | None = None,
) -> StoreResult:
    """:func:`encode` and :func:`write` in one call (one message at a time, the HTTP path)."""
    encoded, failed = encode(accepted)
    return write(
        conn, encoded, [*rejects, *(_unencodable(item) for item in failed)], limiter=limiter
    )


def write(
    conn: _Conn,
    encoded: Sequence[Encoded],
    rejects: Sequence[Reject],
    *,
    limiter: RejectLimiter | None = None,
) -> StoreResult:
    """Store ``encoded`` and ``rejects`` in one transaction; return the counts once committed."""
    result = StoreResult()
    with conn.transaction():
        started = time.monotonic()
        new, result.duplicate_messages, conflicts = _claim_keys(conn, encoded)
        result.key_seconds = time.monotonic() - started
        frames = [e.frame_rows for e in new if e.n_frames]
        if frames:
            with conn.cursor().copy(_copy_statement("walker_frames", FRAME_COLUMNS)) as copy:
                copy.write(copy_binary.stream(frames))
        result.frames = sum(e.n_frames for e in new)
        events = [e.event for e in new if e.event is not None]
        result.events, dup_events = _copy_upsert(
            conn, "robot_events", EVENT_COLUMNS, EVENT_TYPES, events
        )
        statuses = [e.status for e in new if e.status is not None]
        result.statuses, dup_status = _copy_upsert(
            conn, "device_status", STATUS_COLUMNS, STATUS_TYPES, statuses
        )
        result.duplicate_rows = dup_events + dup_status
        result.found = conflicts
        every = [*rejects, *conflicts]
        result.reasons = Counter(r.reason for r in every)
        admitted = [limiter is None or limiter.admit(r.device_id) for r in every]
        kept = [r for r, ok in zip(every, admitted, strict=True) if ok]
        suppressed = [r for r, ok in zip(every, admitted, strict=True) if not ok]
        result.rejects = _insert_rejects(conn, kept)
        result.rejects_repeated = len(kept) - result.rejects
        result.rejects_suppressed = len(suppressed)
        _count_overflow(conn, suppressed)
        _update_latest(conn, [e.item for e in encoded])
    return result


def _unencodable(item: Accepted) -> Reject:
    env = item.envelope
    return Reject(
        topic=f"stayactive/v1/{env.device_id}/{_channel(item)}",
        device_id=env.device_id,
        reason="internal_error",
        detail="the message passed validation but its rows could not be built (see the log)",
        payload=b"",
        received_at=env.received_at,
        payload_size=0,
        payload_sha256=env.payload_sha256,
        boot=env.boot,
        seq=env.seq,
    )


def _channel(item: Accepted) -> str:
    if isinstance(item, WalkerTelemetry):
        return "telemetry"
    return "events" if isinstance(item, RobotEvent) else "status"


def _claim_keys(conn: _Conn, encoded: Sequence[Encoded]) -> tuple[list[Encoded], int, list[Reject]]:
    """Claim the key of every message; return (messages to store, duplicates, conflicts)."""
    first: dict[MessageKey, Encoded] = {}
    wills: list[Encoded] = []
    later: list[tuple[Encoded, Encoded]] = []  # (message, the batch's first with its key)
    for e in encoded:
        env = e.item.envelope
        if env.seq == 0:
            wills.append(e)  # keyed by (device, boot, 0, at) in device_status itself
            continue
        key = (env.device_id, env.boot, env.seq)
        if key in first:
            later.append((e, first[key]))
        else:
            first[key] = e
    duplicates = 0
    conflicts: list[Reject] = []
    stored: dict[MessageKey, bytes | None] = {}
    new: list[Encoded] = []
    if first:
        keys = sorted(first)
        free = claim_keys(conn, keys, [first[k].item.envelope.payload_sha256 for k in keys])
        held = [k for k in keys if k not in free]
        if held:
            rows = conn.execute(
                """SELECT k.device_id, k.boot, k.seq, k.payload_sha256 FROM message_keys k
                   JOIN unnest(%s::text[], %s::int8[], %s::int8[]) AS h(device_id, boot, seq)
                   USING (device_id, boot, seq)""",
                ([k[0] for k in held], [k[1] for k in held], [k[2] for k in held]),
            ).fetchall()
            stored = {(str(d), int(b), int(s)): sha for d, b, s, sha in rows}
        for key in keys:
            e = first[key]
            if key in free:
                new.append(e)
                continue
            verdict = _compare(e, stored.get(key))
            if verdict is None:
                duplicates += 1
            else:
                conflicts.append(verdict)
    for e, earlier in later:
        verdict = _compare(e, earlier.item.envelope.payload_sha256)
        if verdict is None:
            duplicates += 1
        else:
            conflicts.append(verdict)
    return new + wills, duplicates, conflicts


def claim_keys(
    conn: _Conn,
    keys: Sequence[MessageKey],
    payload_sha256: Sequence[bytes],
    *,
    table: str = "message_keys",
) -> set[MessageKey]:
    """Insert each key that is free with its payload's hash; return the keys claimed now.

    ``keys`` must be sorted: one lock order for every worker, so that two workers claiming
    overlapping keys never deadlock. ``table`` is for the benchmark's ceiling, which does the
    same database work into a table of its own.
    """
    claimed = conn.execute(
        sql.SQL(
            """INSERT INTO {} (device_id, boot, seq, payload_sha256)
               SELECT * FROM unnest(%s::text[], %s::int8[], %s::int8[], %s::bytea[])
               ON CONFLICT DO NOTHING RETURNING device_id, boot, seq"""
        ).format(sql.Identifier(table)),
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], list(payload_sha256)),
    ).fetchall()
    return {(str(d), int(b), int(s)) for d, b, s in claimed}


def _compare(e: Encoded, stored_sha256: bytes | None) -> Reject | None:
    """None when ``e`` repeats what is stored under its key, else its ``key_conflict``."""
    env = e.item.envelope
    mine = env.payload_sha256
    # A key stored before hashes were kept (NULL) counts as the same message.
    if stored_sha256 is None or bytes(stored_sha256) == mine:
        return None
    stored = bytes(stored_sha256)
    return Reject(
        topic=f"stayactive/v1/{env.device_id}/{_channel(e.item)}",
        device_id=env.device_id,
        reason="key_conflict",
        detail=(
            f"(boot {env.boot}, seq {env.seq}) is already stored with payload sha256 "
            f"{stored.hex()}; this copy has sha256 {mine.hex()}: the first copy is kept"
        ),
        payload=b"",  # the payload is not at hand here; its hash and the stored one are
        received_at=env.received_at,
        payload_size=0,
        payload_sha256=mine,
        boot=env.boot,
        seq=env.seq,
        stored_sha256=stored,
    )


def _copy_statement(table: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def _copy_upsert(
    conn: _Conn,
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> tuple[int, int]:
    """COPY into the staging table, then insert what is new; return (inserted, duplicates)."""
    if not rows:
        return 0, 0
    stage = "stage_" + table
    with conn.cursor().copy(_copy_statement(stage, columns)) as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    cur = conn.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
            sql.Identifier(table), cols, cols, sql.Identifier(stage)
        )
    )
    inserted = max(cur.rowcount, 0)
    return inserted, len(rows) - inserted


def _text(value: str) -> str:
    # Rejects hold what devices sent: no NUL (text cannot hold it), no unpaired surrogate.
    return value.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")


def dedupe_key(reject: Reject) -> bytes:
    """One stored reject per (device, reason, boot, seq); per payload when those are unknown."""
    if reject.boot is not None and reject.seq is not None:
        name = f"{reject.device_id or ''}\x1f{reject.reason}\x1f{reject.boot}\x1f{reject.seq}"
        return hashlib.sha256(name.encode("utf-8", "backslashreplace")).digest()
    prefix = f"{reject.device_id or ''}\x1f{reject.reason}\x1f\x1f"
    return hashlib.sha256(prefix.encode("utf-8", "backslashreplace") + reject.sha256).digest()


def _insert_rejects(conn: _Conn, rejects: Sequence[Reject]) -> int:
    if not rejects:
        return 0
    columns = (
        ("received_at", "timestamptz"), ("topic", "text"), ("device_id", "text"),
        ("reason", "text"), ("detail", "text"), ("payload", "bytea"), ("payload_size", "int4"),
        ("payload_sha256", "bytea"), ("boot", "int8"), ("seq", "int8"),
        ("stored_sha256", "bytea"), ("dedupe_key", "bytea"),
    )  # fmt: skip
    values: list[list[Any]] = [[] for _ in columns]
    for r in rejects:
        row = (
            r.received_at, _text(r.topic), None if r.device_id is None else _text(r.device_id),
            r.reason, _text(r.detail), r.payload[:REJECT_PAYLOAD_PREFIX_BYTES], r.size,
            r.sha256, r.boot, r.seq, r.stored_sha256, dedupe_key(r),
        )  # fmt: skip
        for column, value in zip(values, row, strict=True):
            column.append(value)
    names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
    arrays = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(kind)) for _, kind in columns)
    cur = conn.execute(
        sql.SQL(
            "INSERT INTO ingest_rejects ({}) SELECT * FROM unnest({}) "
            "ON CONFLICT (dedupe_key) DO NOTHING"
        ).format(names, arrays),
        values,
    )
    return max(cur.rowcount, 0)


def _count_overflow(conn: _Conn, suppressed: Sequence[Reject]) -> None:
    if not suppressed:
        return
    counts: dict[tuple[str, str, datetime], list[Any]] = {}
    for r in suppressed:
        hour = r.received_at.replace(minute=0, second=0, microsecond=0)
        entry = counts.setdefault((_text(r.device_id or ""), r.reason, hour), [0, 0, r.received_at])
        entry[0] += 1
        entry[1] += r.size
        entry[2] = max(entry[2], r.received_at)
    keys = list(counts)
    conn.execute(
        """INSERT INTO ingest_reject_overflow AS o
               (device_id, reason, window_start, suppressed_n, payload_bytes, last_received_at)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::int8[],
                                %s::int8[], %s::timestamptz[])
           ON CONFLICT (device_id, reason, window_start) DO UPDATE SET
               suppressed_n = o.suppressed_n + excluded.suppressed_n,
               payload_bytes = o.payload_bytes + excluded.payload_bytes,
               last_received_at = greatest(o.last_received_at, excluded.last_received_at)""",
        (
            [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
            [counts[k][0] for k in keys], [counts[k][1] for k in keys],
            [counts[k][2] for k in keys],
        ),
    )  # fmt: skip


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
    devices = sorted(seen)  # one lock order for every worker
    # One statement for the batch's devices (a batch of telemetry names hundreds of them; one
    # INSERT each was a tenth of the writer's time).
    conn.execute(
        """INSERT INTO device_latest_status (device_id, tenant_id, last_seen_at)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[])
           ON CONFLICT (device_id) DO UPDATE
           SET last_seen_at = greatest(device_latest_status.last_seen_at, excluded.last_seen_at)""",
        (devices, [seen[d][0] for d in devices], [seen[d][1] for d in devices]),
    )
    if not latest:
        return
    with conn.cursor() as cur:
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
            [_latest_params(s) for _, s in sorted(latest.items())],
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
