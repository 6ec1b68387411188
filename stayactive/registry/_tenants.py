"""Tenants (municipalities and other buyers), their sites and wards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from psycopg.rows import TupleRow

from stayactive.errors import ConfigurationError
from stayactive.registry._ids import check_tenant_id

_Conn = psycopg.Connection[TupleRow]

DEFAULT_TIME_ZONE = "Europe/Oslo"
#: The earliest go-live day a ward may have: before it, no stay of the care records can lie.
EARLIEST_GO_LIVE: Final = date(2000, 1, 1)
#: How far ahead a go-live may be planned.
GO_LIVE_AHEAD: Final = timedelta(days=366)


@dataclass(frozen=True)
class EnsuredWard:
    """A ward as :func:`ensure_ward` left it: its id, and whether its go-live date changed."""

    ward_id: int
    go_live_changed: bool = False


def ensure_tenant(
    conn: _Conn, tenant_id: str, name: str, time_zone: str = DEFAULT_TIME_ZONE
) -> bool:
    """Create the tenant unless it exists (an existing one is left as it is); True if created.

    Raises :class:`ConfigurationError` for an invalid tenant id or an unknown time zone.
    """
    check_tenant_id(tenant_id)
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"unknown time zone {time_zone!r}: give an IANA name such as 'Europe/Oslo'"
        ) from exc
    cur = conn.execute(
        "INSERT INTO tenants (tenant_id, name, time_zone) VALUES (%s, %s, %s) "
        "ON CONFLICT (tenant_id) DO NOTHING",
        (tenant_id, name, time_zone),
    )
    return cur.rowcount == 1


def require_tenant(conn: _Conn, tenant_id: str) -> None:
    """Raise :class:`ConfigurationError` unless the tenant exists (a mistyped ``--tenant``
    would otherwise list nothing and look like a tenant without rows)."""
    if conn.execute("SELECT 1 FROM tenants WHERE tenant_id = %s", (tenant_id,)).fetchone() is None:
        raise ConfigurationError(f"unknown tenant {tenant_id!r}: `stayactive tenants add` first")


def tenant_time_zone(conn: _Conn, tenant_id: str) -> ZoneInfo:
    """The tenant's time zone, in which its days are counted.

    Raises :class:`ConfigurationError` when there is no such tenant.
    """
    row = conn.execute(
        "SELECT time_zone FROM tenants WHERE tenant_id = %s", (tenant_id,)
    ).fetchone()
    if row is None:
        raise ConfigurationError(f"unknown tenant {tenant_id!r}")
    return ZoneInfo(str(row[0]))


def tenant_name(conn: _Conn, tenant_id: str) -> str:
    """The tenant's name as its people write it ("Stavanger kommune").

    Raises :class:`ConfigurationError` when there is no such tenant.
    """
    row = conn.execute("SELECT name FROM tenants WHERE tenant_id = %s", (tenant_id,)).fetchone()
    if row is None:
        raise ConfigurationError(f"unknown tenant {tenant_id!r}")
    return str(row[0])


def check_go_live(day: date) -> None:
    """Refuse a ward's go-live ``day`` before :data:`EARLIEST_GO_LIVE` or more than a year
    ahead (:data:`GO_LIVE_AHEAD`): a typing slip such as 0001-01-01 or 2205-03-01 would
    otherwise put every stay of the ward before or after go-live and say nothing.

    Raises :class:`ConfigurationError` saying the range.
    """
    latest = date.today() + GO_LIVE_AHEAD
    if not EARLIEST_GO_LIVE <= day <= latest:
        raise ConfigurationError(
            f"go-live {day} is out of range ({EARLIEST_GO_LIVE} to {latest}, a year ahead)"
        )


def ensure_ward(
    conn: _Conn, tenant_id: str, site: str, ward: str, go_live_on: date | None = None
) -> EnsuredWard:
    """Ward ``ward`` at ``site``, creating both as needed.

    ``go_live_on`` is the day devices came into use on the ward. A date sets it on an existing
    ward too (``go_live_changed`` says whether that changed anything); None leaves an existing
    ward's as it is, and creates a ward without devices (a comparison ward). A go-live out
    of range is refused (:func:`check_go_live`).
    """
    if go_live_on is not None:
        check_go_live(go_live_on)
    conn.execute(
        "INSERT INTO sites (tenant_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (tenant_id, site),
    )
    row = conn.execute(
        """SELECT w.ward_id, w.go_live_on FROM wards w JOIN sites s ON s.site_id = w.site_id
           WHERE s.tenant_id = %s AND s.name = %s AND w.name = %s""",
        (tenant_id, site, ward),
    ).fetchone()
    if row is None:
        created = conn.execute(
            """INSERT INTO wards (tenant_id, site_id, name, go_live_on)
               SELECT %s, site_id, %s, %s FROM sites WHERE tenant_id = %s AND name = %s
               RETURNING ward_id""",
            (tenant_id, ward, go_live_on, tenant_id, site),
        ).fetchone()
        assert created is not None
        return EnsuredWard(int(created[0]))
    ward_id, current = int(row[0]), row[1]
    if go_live_on is not None and current != go_live_on:
        conn.execute("UPDATE wards SET go_live_on = %s WHERE ward_id = %s", (go_live_on, ward_id))
        return EnsuredWard(ward_id, go_live_changed=True)
    return EnsuredWard(ward_id)
