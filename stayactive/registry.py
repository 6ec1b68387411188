"""Writing the registry: tenants, sites, wards, devices, residents, stays and assignments.

Small named functions with parameters; the schema's constraints do the checking (overlaps,
cross-tenant links), and their errors reach the caller as psycopg's IntegrityError subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg.rows import TupleRow

_Conn = psycopg.Connection[TupleRow]


@dataclass(frozen=True)
class NewDevice:
    """A device to register."""

    device_id: str
    kind: str  # walker | robot
    serial: str
    ward_id: int | None = None
    firmware: str | None = None


def ensure_tenant(conn: _Conn, tenant_id: str, name: str, time_zone: str = "Europe/Oslo") -> None:
    """Create the tenant unless it exists (an existing one is left as it is)."""
    conn.execute(
        "INSERT INTO tenants (tenant_id, name, time_zone) VALUES (%s, %s, %s) "
        "ON CONFLICT (tenant_id) DO NOTHING",
        (tenant_id, name, time_zone),
    )


def ensure_ward(
    conn: _Conn, tenant_id: str, site: str, ward: str, go_live_on: date | None = None
) -> int:
    """The id of ward ``ward`` at ``site``, creating both as needed."""
    conn.execute(
        "INSERT INTO sites (tenant_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (tenant_id, site),
    )
    row = conn.execute(
        """INSERT INTO wards (tenant_id, site_id, name, go_live_on)
           SELECT %s, site_id, %s, %s FROM sites WHERE tenant_id = %s AND name = %s
           ON CONFLICT (site_id, name) DO UPDATE SET go_live_on = excluded.go_live_on
           RETURNING ward_id""",
        (tenant_id, ward, go_live_on, tenant_id, site),
    ).fetchone()
    assert row is not None
    return int(row[0])


def upsert_devices(conn: _Conn, tenant_id: str, devices: list[NewDevice]) -> None:
    """Register devices, or update kind, serial, ward and firmware of registered ones."""
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO devices (device_id, tenant_id, kind, serial, ward_id, firmware)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (device_id) DO UPDATE SET kind = excluded.kind,
                   serial = excluded.serial, ward_id = excluded.ward_id,
                   firmware = coalesce(excluded.firmware, devices.firmware)""",
            [(d.device_id, tenant_id, d.kind, d.serial, d.ward_id, d.firmware) for d in devices],
        )


def set_device_active(conn: _Conn, device_id: str, active: bool) -> bool:
    """Activate or deactivate a device; False when there is no such device."""
    cur = conn.execute("UPDATE devices SET active = %s WHERE device_id = %s", (active, device_id))
    return cur.rowcount == 1


def ensure_resident(
    conn: _Conn, tenant_id: str, pseudonym: str, birth_year: int | None, sex: str = "unknown"
) -> int:
    """The id of the resident with ``pseudonym``, creating it as needed."""
    row = conn.execute(
        """INSERT INTO residents (tenant_id, pseudonym, birth_year, sex) VALUES (%s, %s, %s, %s)
           ON CONFLICT (tenant_id, pseudonym) DO UPDATE SET birth_year = excluded.birth_year
           RETURNING resident_id""",
        (tenant_id, pseudonym, birth_year, sex),
    ).fetchone()
    assert row is not None
    return int(row[0])


def assign_device(
    conn: _Conn,
    tenant_id: str,
    device_id: str,
    resident_id: int,
    valid_from: datetime,
    valid_to: datetime | None,
) -> int:
    """Assign a device to a resident for [valid_from, valid_to); overlaps are refused."""
    row = conn.execute(
        """INSERT INTO device_assignments (tenant_id, device_id, resident_id, valid)
           VALUES (%s, %s, %s, tstzrange(%s, %s)) RETURNING assignment_id""",
        (tenant_id, device_id, resident_id, valid_from, valid_to),
    ).fetchone()
    assert row is not None
    return int(row[0])


def delete_assignment(conn: _Conn, tenant_id: str, assignment_id: int) -> bool:
    """Delete a (wrong) assignment of the tenant; its days are recomputed. False if none."""
    cur = conn.execute(
        "DELETE FROM device_assignments WHERE tenant_id = %s AND assignment_id = %s",
        (tenant_id, assignment_id),
    )
    return cur.rowcount == 1


def set_ward_go_live(conn: _Conn, tenant_id: str, ward_id: int, go_live_on: date | None) -> bool:
    """Set the day devices came into use on a ward of the tenant; False if there is no such ward."""
    cur = conn.execute(
        "UPDATE wards SET go_live_on = %s WHERE tenant_id = %s AND ward_id = %s",
        (go_live_on, tenant_id, ward_id),
    )
    return cur.rowcount == 1
