"""Retention and compression that work on both TimescaleDB editions.

The Apache-2 edition (Debian's package) has hypertables and ``drop_chunks`` but no background
policies or compression; the community ("timescale") licence has both. ``apply_policies`` turns
policies on only where the licence has them; ``maintain`` applies retention itself otherwise, and
is safe to run from cron on either edition.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
from psycopg.rows import TupleRow

from stayactive.db._connect import connect
from stayactive.settings import Settings

log = logging.getLogger(__name__)

RAW_HYPERTABLES = ("walker_frames", "robot_events", "device_status")
COMPRESS_AFTER = timedelta(days=7)


#: Failed logins count this long after the last one (stayactive.auth).
LOGIN_FAILURE_WINDOW = timedelta(hours=1)
#: A successful login exempts its name and address from the locks of a name over every address
#: and of an address over every name this long (stayactive.auth).
LOGIN_KNOWN_CLIENT = timedelta(days=30)
#: Deletes the throttle rows, and the client addresses in them, that no longer count: past the
#: failure window, not locked, and no known login in them. Rows a login holds are skipped (it
#: may be checking a password), never waited for. Run by the API every few minutes and by
#: :func:`maintain`.
PURGE_LOGIN_THROTTLE = """DELETE FROM login_throttle WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM login_throttle
    WHERE (last_failed_at IS NULL OR last_failed_at < now() - %(w)s)
      AND (locked_until IS NULL OR locked_until < now())
      AND (last_success_at IS NULL OR last_success_at < now() - %(k)s)
    FOR UPDATE SKIP LOCKED))"""


@dataclass
class MaintenanceReport:
    """What one maintenance run did."""

    license: str
    policies: bool
    dropped_chunks: dict[str, int] = field(default_factory=dict)
    deleted_rejects: int = 0
    #: Raw rows that arrived after a care withdrawal for the time before it, erased again.
    late_care_rows_erased: int = 0
    #: Sessions deleted 90 days after they ended (the access review reads the audit log).
    deleted_sessions: int = 0
    deleted_keys: int = 0
    #: Login throttle rows that no longer count (with the client addresses they held).
    deleted_login_throttle: int = 0


def timescaledb_license(conn: psycopg.Connection[TupleRow]) -> str:
    """``apache`` or ``timescale`` (the community licence with policies and compression)."""
    row = conn.execute("SELECT current_setting('timescaledb.license', true)").fetchone()
    return str(row[0]) if row and row[0] else "apache"


def apply_policies(settings: Settings, *, schema: str | None = None) -> bool:
    """Enable retention and compression policies if the licence allows; return whether it did."""
    retention = timedelta(days=settings.raw_retention_days)
    with connect(settings, schema=schema, autocommit=True) as conn:
        if timescaledb_license(conn) != "timescale":
            log.info(
                "TimescaleDB Apache-2 edition: no policies; run `stayactive db maintain` daily"
            )
            return False
        for table in RAW_HYPERTABLES:
            conn.execute(
                "SELECT add_retention_policy(%s::regclass, %s::interval, if_not_exists => true)",
                (table, retention),
            )
        conn.execute(
            "ALTER TABLE walker_frames SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'device_id', "
            "timescaledb.compress_orderby = 'time, boot, seq, frame_no')"
        )
        conn.execute(
            "SELECT add_compression_policy('walker_frames', %s::interval, if_not_exists => true)",
            (COMPRESS_AFTER,),
        )
        return True


def maintain(settings: Settings, *, schema: str | None = None) -> MaintenanceReport:
    """Drop raw chunks and rejects older than the retention window (when no policy does it)."""
    retention = timedelta(days=settings.raw_retention_days)
    with connect(settings, schema=schema, autocommit=True, statement_timeout_s=0) as conn:
        lic = timescaledb_license(conn)
        report = MaintenanceReport(license=lic, policies=lic == "timescale")
        if not report.policies:
            for table in RAW_HYPERTABLES:
                rows = conn.execute(
                    "SELECT drop_chunks(%s::regclass, older_than => now() - %s::interval)",
                    (table, retention),
                ).fetchall()
                report.dropped_chunks[table] = len(rows)
        cur = conn.execute(
            "DELETE FROM ingest_rejects WHERE received_at < now() - %s::interval", (retention,)
        )
        report.deleted_rejects = cur.rowcount
        # A device may replay what it buffered before a care withdrawal (docs/privacy.md).
        row = conn.execute("SELECT erase_late_care_data()").fetchone()
        report.late_care_rows_erased = int(row[0]) if row else 0
        cur = conn.execute(
            """DELETE FROM api_sessions
               WHERE least(coalesce(revoked_at, expires_at), expires_at)
                     < now() - interval '90 days'"""
        )
        report.deleted_sessions = cur.rowcount
        cur = conn.execute(
            PURGE_LOGIN_THROTTLE, {"w": LOGIN_FAILURE_WINDOW, "k": LOGIN_KNOWN_CLIENT}
        )
        report.deleted_login_throttle = cur.rowcount
        # A replay older than the window is rejected as timestamp_too_old before its key matters.
        cur = conn.execute(
            "DELETE FROM message_keys WHERE stored_at < now() - %s::interval", (retention,)
        )
        report.deleted_keys = cur.rowcount
        conn.execute(
            "DELETE FROM ingest_reject_overflow WHERE window_start < now() - %s::interval",
            (retention,),
        )
    log.info("maintenance: %s", report)
    return report
