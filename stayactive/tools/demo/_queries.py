"""The demo's reads of the database: what the devices stored, for resuming and for reporting."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

_Conn = psycopg.Connection[TupleRow]


def highest_boots(conn: _Conn, tenant: str) -> dict[str, int]:
    """Each device's highest boot counter in the stored statuses (a device sends one on every
    wake and every 5 minutes, so a boot that lasted sends at least one)."""
    rows = conn.execute(
        "SELECT device_id, max(boot) FROM device_status WHERE tenant_id = %s GROUP BY device_id",
        (tenant,),
    ).fetchall()
    return {str(d): int(b) for d, b in rows}


@dataclass(frozen=True)
class Stored:
    """What the database holds of the tenant."""

    walker_frames: int
    robot_events: int
    statuses: int
    rejects: int
    resident_days: int


def stored(conn: _Conn, tenant: str) -> Stored:
    """Counts of the tenant's raw rows, rejects and computed resident-days."""
    row = conn.execute(
        """SELECT (SELECT count(*) FROM walker_frames WHERE tenant_id = %(t)s),
                  (SELECT count(*) FROM robot_events WHERE tenant_id = %(t)s),
                  (SELECT count(*) FROM device_status WHERE tenant_id = %(t)s),
                  (SELECT count(*) FROM ingest_rejects r JOIN devices d USING (device_id)
                    WHERE d.tenant_id = %(t)s),
                  (SELECT count(*) FROM resident_days WHERE tenant_id = %(t)s)""",
        {"t": tenant},
    ).fetchone()
    assert row is not None
    return Stored(*(int(v) for v in row))
