"""``stayactive tenants add | list`` and ``stayactive wards add | list``: day one of a tenant."""

from __future__ import annotations

import typer

from stayactive import audit, db, registry
from stayactive.cli._common import day_option, named, no_national_id, os_user
from stayactive.settings import get_settings

app = typer.Typer(help="Tenants (municipalities, buyers).", no_args_is_help=True)
wards_app = typer.Typer(help="Sites and wards of a tenant.", no_args_is_help=True)


@app.command("add")
def add(
    tenant_id: str = typer.Argument(
        ..., help="Id: 2-63 lower-case letters, digits or '-'.", callback=no_national_id
    ),
    name: str = typer.Option(..., "--name", help="Name shown to people.", callback=named),
    time_zone: str | None = typer.Option(
        None, "--time-zone", help="IANA time zone (default STAYACTIVE_TIME_ZONE)."
    ),
) -> None:
    """Create a tenant (an existing one is left as it is and said so)."""
    settings = get_settings()
    with db.connect(settings) as conn:
        exists = conn.execute("SELECT 1 FROM tenants WHERE tenant_id = %s", (tenant_id,)).fetchone()
        if exists:
            typer.echo(f"tenant {tenant_id!r} exists already; left as it is")
            return
        registry.ensure_tenant(conn, tenant_id, name, time_zone or settings.time_zone)
        audit.record(
            conn,
            tenant=tenant_id,
            actor=f"cli:{os_user()}",
            action="tenant.create",
            subject_kind="tenant",
            subject_id=tenant_id,
            purpose="administration",
            detail={"name": name},
        )
        conn.commit()
    typer.echo(f"created tenant {tenant_id!r} ({name})")


@app.command("list")
def list_() -> None:
    """Every tenant with its time zone."""
    with db.connect(get_settings()) as conn:
        for tid, name, tz in conn.execute(
            "SELECT tenant_id, name, time_zone FROM tenants ORDER BY tenant_id"
        ):
            typer.echo(f"{tid:<24} {tz:<20} {name}")


@wards_app.command("add")
def add_ward(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    site: str = typer.Option(
        ..., "--site", help="Site (nursing home) name; created if new.", callback=named
    ),
    ward: str = typer.Option(..., "--ward", help="Ward name.", callback=named),
    go_live_on: str | None = typer.Option(
        None, "--go-live-on", help="YYYY-MM-DD: the day devices came into use on the ward."
    ),
) -> None:
    """Create a ward (and its site); prints the ward id."""
    go_live = day_option("--go-live-on", go_live_on) if go_live_on else None
    with db.connect(get_settings()) as conn:
        registry.require_tenant(conn, tenant)
        ward_id = registry.ensure_ward(conn, tenant, site, ward, go_live).ward_id
        audit.record(
            conn,
            tenant=tenant,
            actor=f"cli:{os_user()}",
            action="ward.create",
            subject_kind="ward",
            subject_id=str(ward_id),
            purpose="administration",
            detail={"site": site, "ward": ward},
        )
        conn.commit()
    typer.echo(f"ward {ward_id}: {site} / {ward}" + (f", go-live {go_live}" if go_live else ""))


@wards_app.command("list")
def list_wards(tenant: str = typer.Option(..., "--tenant", help="Tenant id.")) -> None:
    """The tenant's wards with their ids."""
    with db.connect(get_settings()) as conn:
        registry.require_tenant(conn, tenant)
        rows = conn.execute(
            """SELECT w.ward_id, s.name, w.name, w.go_live_on FROM wards w
               JOIN sites s ON s.site_id = w.site_id WHERE w.tenant_id = %s
               ORDER BY s.name, w.name""",
            (tenant,),
        ).fetchall()
    for ward_id, site, name, go_live in rows:
        typer.echo(f"{ward_id:>6}  {site} / {name}" + (f"  (go-live {go_live})" if go_live else ""))
