"""Devices (walkers and robots): registration, activation, and who owns a device id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import psycopg
from psycopg.rows import TupleRow

from stayactive.errors import RejectedInput

_Conn = psycopg.Connection[TupleRow]

DeviceKind = Literal["walker", "robot"]


@dataclass(frozen=True)
class NewDevice:
    """A device to register."""

    device_id: str
    kind: str  # walker | robot
    serial: str
    ward_id: int | None = None
    firmware: str | None = None


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


def ensure_device(conn: _Conn, tenant_id: str, device_id: str, kind: DeviceKind) -> None:
    """Register the device for the tenant unless it is registered (serial = device id).

    Raises :class:`RejectedInput` (``device_conflict``) when the id is registered to another
    tenant or as another kind: a device id names one device everywhere.
    """
    conn.execute(
        """INSERT INTO devices (device_id, tenant_id, kind, serial) VALUES (%s, %s, %s, %s)
           ON CONFLICT (device_id) DO NOTHING""",
        (device_id, tenant_id, kind, device_id),
    )
    owner = conn.execute(
        "SELECT tenant_id, kind FROM devices WHERE device_id = %s", (device_id,)
    ).fetchone()
    assert owner is not None
    if owner[0] != tenant_id or owner[1] != kind:
        raise RejectedInput(
            "device_conflict", f"device {device_id} is registered as another tenant's or kind"
        )


def set_device_active(conn: _Conn, device_id: str, active: bool) -> bool:
    """Activate or deactivate a device; False when there is no such device."""
    cur = conn.execute("UPDATE devices SET active = %s WHERE device_id = %s", (active, device_id))
    return cur.rowcount == 1
