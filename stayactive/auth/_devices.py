"""Device credentials: one secret per device for the broker (MQTT) and the HTTP fallback.

The broker account is created, rotated and removed through ingest's provisioning
(:func:`ingest.provision`, :func:`ingest.remove`: the broker-account interface); the API keeps
only a SHA-256 of the same secret, to check ``POST /telemetry``. The secret is random
(18 bytes), so a fast hash is as safe as a slow one. It is returned once, stored nowhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

import ingest
from stayactive import registry
from stayactive.errors import StayActiveError
from stayactive.registry import NewDevice
from stayactive.settings import Settings

log = logging.getLogger(__name__)

_Conn = psycopg.Connection[TupleRow]


class DeviceIdTaken(StayActiveError):
    """The device id, or the kind and serial, are registered already (both are unique across
    tenants)."""


class UnknownDevice(StayActiveError, LookupError):
    """No such device in the tenant (or it belongs to another)."""


class UnknownWard(StayActiveError, LookupError):
    """No such ward in the tenant."""


@dataclass(frozen=True)
class DeviceSecret:
    """A device's new secret, shown once."""

    device_id: str
    password: str


def _sha256(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _store_secret(conn: _Conn, device_id: str, password: str) -> None:
    conn.execute(
        """INSERT INTO device_http_credentials (device_id, secret_sha256) VALUES (%s, %s)
           ON CONFLICT (device_id) DO UPDATE
               SET secret_sha256 = excluded.secret_sha256, rotated_at = now()""",
        (device_id, _sha256(password)),
    )


def _device(conn: _Conn, tenant_id: str, device_id: str) -> NewDevice:
    row = conn.execute(
        """SELECT kind, serial, ward_id, firmware FROM devices
           WHERE device_id = %s AND tenant_id = %s""",
        (device_id, tenant_id),
    ).fetchone()
    if row is None:
        raise UnknownDevice(f"device {device_id} not found")
    return NewDevice(device_id, str(row[0]), str(row[1]), row[2], row[3])


def add_device(settings: Settings, conn: _Conn, tenant_id: str, device: NewDevice) -> DeviceSecret:
    """Register a new device of the tenant and give it a broker account; return its secret.

    Raises DeviceIdTaken if the id is registered (in any tenant), UnknownWard if the ward is
    not the tenant's. The caller commits ``conn`` (the HTTP credential).
    """
    # Checked across tenants (the API's role sees only its own: row-level security), before the
    # broker account is made: a taken id must never get a new password.
    row = conn.execute(
        "SELECT device_taken(%s, %s, %s)", (device.device_id, device.kind, device.serial)
    ).fetchone()
    taken = row[0] if row else None
    if taken == "id":
        raise DeviceIdTaken(f"device id {device.device_id!r} is already registered")
    if taken == "serial":
        raise DeviceIdTaken(f"a {device.kind} with serial {device.serial!r} is already registered")
    if device.ward_id is not None:
        ward = conn.execute(
            "SELECT 1 FROM wards WHERE ward_id = %s AND tenant_id = %s",
            (device.ward_id, tenant_id),
        ).fetchone()
        if ward is None:
            raise UnknownWard(f"ward {device.ward_id} not found")
    passwords = ingest.provision(settings, tenant_id, [device])
    _store_secret(conn, device.device_id, passwords[device.device_id])
    return DeviceSecret(device.device_id, passwords[device.device_id])


def rotate_device(settings: Settings, conn: _Conn, tenant_id: str, device_id: str) -> DeviceSecret:
    """Give a device of the tenant a new secret: the broker takes it and refuses the old one
    once it has reloaded its accounts (within a second or two). UnknownDevice if not found."""
    device = _device(conn, tenant_id, device_id)
    passwords = ingest.provision(settings, tenant_id, [device])
    # A rotated device is in use again (a deactivated one is brought back this way).
    registry.set_device_active(conn, device_id, True)
    _store_secret(conn, device_id, passwords[device_id])
    log.info("rotated the credentials of device %s (%s)", device_id, tenant_id)
    return DeviceSecret(device_id, passwords[device_id])


def deactivate_device(settings: Settings, conn: _Conn, tenant_id: str, device_id: str) -> None:
    """Deactivate a device of the tenant: ingest refuses its data, the broker and the HTTP path
    its logins. Its data and assignments stay. UnknownDevice if not found."""
    _device(conn, tenant_id, device_id)
    registry.set_device_active(conn, device_id, False)
    conn.execute("DELETE FROM device_http_credentials WHERE device_id = %s", (device_id,))
    ingest.remove(settings, [device_id])
    log.info("deactivated device %s (%s)", device_id, tenant_id)


async def device_secret_matches(
    conn: psycopg.AsyncConnection[TupleRow], device_id: str, password: str
) -> str | None:
    """The tenant of an active device whose HTTP secret is ``password``, else None."""
    # Asked before the tenant is known: the owner's-rights lookup returns this one device.
    cur = await conn.execute("SELECT * FROM auth_device_secret(%s)", (device_id,))
    row = await cur.fetchone()
    # Compare even when there is no row, so the time does not tell which device ids exist.
    expected = bytes(row[1]) if row else b"\0" * 32
    if not hmac.compare_digest(expected, _sha256(password)) or row is None:
        return None
    return str(row[0])
