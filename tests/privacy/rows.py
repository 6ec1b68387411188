"""Helpers of the privacy tests: raw rows written as ingest would, and a catalogue-driven scan
for rows that can be joined back to a resident."""

from __future__ import annotations

import itertools
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

_Conn = psycopg.Connection[TupleRow]
_seq = itertools.count(100_000)

#: Tables that keep a resident's key by design after a care withdrawal, and why:
KEPT_AFTER_ERASURE = {
    "residents": "the pseudonym the consent and the withdrawal belong to",
    "consents": "the proof of consent and of its withdrawal",
    "stays": "the care record's facts (the municipality's, used under evaluation consent)",
    "device_assignments": "which stay had a device (ended at the withdrawal)",
    "hospital_admissions": "a care-record fact",
    "stay_admission_mobility": "a care-record fact",
    "audit_log": "the access log, which must outlive the data it logs",
    "devices": "the device registry (a device, not a resident)",
    "device_http_credentials": "a device's credential",
    "ack_watermarks": "a device's acknowledgement counters (boot, seq), no measurement",
    "ack_pending": "as ack_watermarks",
}


def message_key(conn: _Conn, device_id: str, seq: int, at: datetime) -> None:
    """The idempotency key ingest claims for a message of ``device_id`` stored at ``at``."""
    conn.execute(
        """INSERT INTO message_keys (device_id, boot, seq, payload_sha256, stored_at)
           VALUES (%s, 1, %s, sha256(%s::text::bytea), %s)""",
        (device_id, seq, f"{device_id}/{seq}", at),
    )


def frame(conn: _Conn, tenant: str, device_id: str, at: datetime) -> None:
    """One small walker frame of ``device_id`` at ``at``, with its message's key."""
    seq = next(_seq)
    message_key(conn, device_id, seq, at)
    conn.execute(
        """INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, frame_no, rate_hz,
               acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, odo_l, odo_r, force_l, force_r,
               brake, received_at)
           VALUES (%s, %s, %s, 1, %s, 0, 50, '{0}', '{0}', '{9.81}', '{0}', '{0}', '{0}',
                   '{0.01}', '{0.01}', '{50}', '{50}', '{f}', %s)""",
        (at, device_id, tenant, seq, at),
    )


def status(conn: _Conn, tenant: str, device_id: str, at: datetime) -> None:
    """One status message of ``device_id`` at ``at``, with its message's key."""
    seq = next(_seq)
    message_key(conn, device_id, seq, at)
    conn.execute(
        """INSERT INTO device_status (time, device_id, tenant_id, boot, seq, state, battery_pct,
                                      received_at)
           VALUES (%s, %s, %s, 1, %s, 'online', 80, %s)""",
        (at, device_id, tenant, seq, at),
    )


def robot_event(
    conn: _Conn, tenant: str, device_id: str, at: datetime, participants: list[str]
) -> None:
    body = {"participants": participants} if len(participants) != 1 else {
        "participant": participants[0]
    }  # fmt: skip
    conn.execute(
        """INSERT INTO robot_events (time, device_id, tenant_id, boot, seq, event, session_id,
                                     body, received_at)
           VALUES (%s, %s, %s, 1, %s, 'exercise', 's-1', %s, %s)""",
        (at, device_id, tenant, next(_seq), Jsonb(body), at),
    )


def reject(conn: _Conn, device_id: str, at: datetime, payload: bytes) -> None:
    """A rejected message of ``device_id`` received at ``at``, stored as ingest stores one."""
    conn.execute(
        """INSERT INTO ingest_rejects (received_at, topic, device_id, reason, payload,
                                       payload_size, payload_sha256)
           VALUES (%s, %s, %s, 'schema', %s, octet_length(%s), sha256(%s))""",
        (at, f"stayactive/v1/{device_id}/events", device_id, payload, payload, payload),
    )


def reject_overflow(conn: _Conn, device_id: str, at: datetime, n: int) -> None:
    """``n`` rejects of ``device_id`` beyond its rate limit, counted in the hour of ``at``."""
    conn.execute(
        """INSERT INTO ingest_reject_overflow (device_id, reason, window_start, suppressed_n,
                                               payload_bytes, last_received_at)
           VALUES (%s, 'schema', date_trunc('hour', %s::timestamptz), %s, %s, %s)""",
        (device_id, at, n, 100 * n, at),
    )


def _columns(conn: _Conn) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, column, kind in conn.execute(
        """SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
           WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"""
    ):
        out.setdefault(str(table), {})[str(column)] = str(kind)
    return out


def joinable_rows(conn: _Conn, resident_id: int) -> dict[str, int]:
    """Per table of the schema (found from the database's own catalogue, so a table added
    later is scanned too), the rows that can be joined back to the resident: by the resident's
    id, one of their stays, a device of theirs at a time within one of their assignments, or
    their pseudonym anywhere in a text, JSON, array or bytes column. Tables of
    :data:`KEPT_AFTER_ERASURE` are left out; every other table with a device key must say
    which column dates its rows (``time``, or the catalogue's ``erase_time``)."""
    pseudonym_row = conn.execute(
        "SELECT pseudonym FROM residents WHERE resident_id = %s", (resident_id,)
    ).fetchone()
    assert pseudonym_row is not None
    pseudonym = str(pseudonym_row[0])
    declared = dict(conn.execute("SELECT table_name, erase_time FROM data_catalogue").fetchall())
    found: dict[str, int] = {}
    for table, columns in sorted(_columns(conn).items()):
        if table in KEPT_AFTER_ERASURE:
            continue
        tests: list[str] = []
        if "resident_id" in columns:
            tests.append("t.resident_id = %(r)s")
        if "stay_id" in columns:
            tests.append("t.stay_id IN (SELECT stay_id FROM stays WHERE resident_id = %(r)s)")
        if "device_id" in columns and "resident_id" not in columns:
            # (a row with a resident key belongs to that resident, whichever device)
            when = "time" if "time" in columns else declared.get(table)
            assert when, f"{table} has a device key but no column that dates its rows"
            tests.append(
                f"""EXISTS (SELECT 1 FROM device_assignments a WHERE a.resident_id = %(r)s
                       AND a.device_id = t.device_id AND a.valid @> t."{when}")"""
            )
        for column, kind in columns.items():
            if kind in ("text", "jsonb", "json") or kind.startswith("character"):
                tests.append(f"""t."{column}"::text LIKE '%%' || %(p)s || '%%'""")
            elif kind == "bytea":
                tests.append(f"""position(convert_to(%(p)s, 'UTF8') IN t."{column}") > 0""")
            elif kind == "ARRAY":
                tests.append(f"""%(p)s = ANY(t."{column}"::text[])""")
        if not tests:
            continue
        row = conn.execute(
            f'SELECT count(*) FROM "{table}" t WHERE ' + " OR ".join(f"({x})" for x in tests),
            {"r": resident_id, "p": pseudonym},
        ).fetchone()
        if row and row[0]:
            found[table] = int(row[0])
    return found
