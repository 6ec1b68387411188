"""``stayactive devices add | rotate | deactivate | list``: real devices and their credentials."""

from __future__ import annotations

import psycopg
import typer
from psycopg.rows import TupleRow

from stayactive import audit, auth, db, registry
from stayactive.cli._common import named, no_national_id, os_user
from stayactive.errors import ConfigurationError
from stayactive.registry import NewDevice
from stayactive.settings import get_settings

app = typer.Typer(
    help="Walkers and robots: registry entries and broker accounts.", no_args_is_help=True
)


def _audit(conn: psycopg.Connection[TupleRow], tenant: str, action: str, device_id: str) -> None:
    audit.record(
        conn,
        tenant=tenant,
        actor=f"cli:{os_user()}",
        action=action,
        subject_kind="device",
        subject_id=device_id,
        purpose="administration",
        detail={},
    )


def _print_secret(secret: auth.DeviceSecret) -> None:
    host, port, tls = get_settings().device_broker()
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL must write it
    broker = f"{'mqtts' if tls else 'mqtt'}://{shown}:{port}"
    typer.echo(f"device {secret.device_id}: broker {broker}, username {secret.device_id}")
    typer.echo("password (shown only now; the broker keeps only its hash):")
    typer.echo(secret.password)


@app.command("add")
def add(
    device_id: str = typer.Argument(
        ..., help="Device id (letters, digits, '-', '_').", callback=no_national_id
    ),
    tenant: str = typer.Option(..., "--tenant"),
    kind: str = typer.Option(..., "--kind", help="walker or robot."),
    serial: str = typer.Option(..., "--serial", help="The vendor's serial number.", callback=named),
    ward: int | None = typer.Option(None, "--ward", help="Ward id the device belongs to."),
) -> None:
    """Register a device and create its broker account; prints its password once."""
    if kind not in ("walker", "robot"):
        raise typer.BadParameter(f"--kind {kind!r}: walker or robot")
    settings = get_settings()
    with db.connect(settings) as conn:
        if conn.execute("SELECT 1 FROM tenants WHERE tenant_id = %s", (tenant,)).fetchone() is None:
            raise ConfigurationError(f"unknown tenant {tenant!r}")
        try:
            secret = auth.add_device(
                settings, conn, tenant, NewDevice(device_id, kind, serial, ward)
            )
        except (auth.DeviceIdTaken, auth.UnknownWard) as exc:
            raise ConfigurationError(str(exc)) from exc
        _audit(conn, tenant, "device.create", device_id)
        conn.commit()
    _print_secret(secret)


@app.command()
def rotate(
    device_id: str = typer.Argument(...), tenant: str = typer.Option(..., "--tenant")
) -> None:
    """Give the device a new password; the old one stops working within seconds."""
    settings = get_settings()
    with db.connect(settings) as conn:
        try:
            secret = auth.rotate_device(settings, conn, tenant, device_id)
        except auth.UnknownDevice as exc:
            raise ConfigurationError(str(exc)) from exc
        _audit(conn, tenant, "device.rotate", device_id)
        conn.commit()
    _print_secret(secret)


@app.command()
def deactivate(
    device_id: str = typer.Argument(...), tenant: str = typer.Option(..., "--tenant")
) -> None:
    """Stop accepting the device: registry inactive, broker account removed."""
    settings = get_settings()
    with db.connect(settings) as conn:
        try:
            auth.deactivate_device(settings, conn, tenant, device_id)
        except auth.UnknownDevice as exc:
            raise ConfigurationError(str(exc)) from exc
        _audit(conn, tenant, "device.deactivate", device_id)
        conn.commit()
    typer.echo(f"device {device_id} deactivated")


@app.command("list")
def list_(tenant: str = typer.Option(..., "--tenant")) -> None:
    """The tenant's devices: kind, serial, ward, state, last seen."""
    with db.connect(get_settings()) as conn:
        registry.require_tenant(conn, tenant)
        rows = conn.execute(
            """SELECT d.device_id, d.kind, d.serial, d.ward_id, d.active, l.last_seen_at, l.state,
                      l.battery_pct
               FROM devices d LEFT JOIN device_latest_status l ON l.device_id = d.device_id
               WHERE d.tenant_id = %s ORDER BY d.device_id""",
            (tenant,),
        ).fetchall()
    for device_id, kind, serial, ward_id, active, seen, state, battery in rows:
        seen_text = seen.isoformat(timespec="minutes") if seen else "never"
        battery_text = f"{battery:.0f}%" if battery is not None else "-"
        typer.echo(
            f"{device_id:<28} {kind:<7} {serial:<20} ward {ward_id or '-':<6} "
            f"{'active' if active else 'INACTIVE':<9} {state or '-':<9} {battery_text:>5} "
            f"seen {seen_text}"
        )
