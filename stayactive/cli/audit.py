"""``stayactive audit flags | export``: reviewing the audit trail (docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from stayactive import audit, db, privacy, registry
from stayactive.cli._common import day_option, os_user, write_output
from stayactive.cli.residents import resident_by_ref
from stayactive.settings import get_settings

app = typer.Typer(
    help="Review who read what: unusual access, a resident's log.", no_args_is_help=True
)


def _bounds(tz: str, start: str | None, end: str | None, days: int) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    last = day_option("--to", end) if end else datetime.now(zone).date()
    first = day_option("--from", start) if start else last - timedelta(days=days - 1)
    if first > last:
        raise typer.BadParameter(f"--from {first} is after --to {last}")
    return datetime.combine(first, time(0), zone), datetime.combine(
        last + timedelta(days=1), time(0), zone
    )


@app.command()
def flags(
    tenant: str = typer.Option(..., "--tenant"),
    start: str | None = typer.Option(None, "--from", help="First local date (default 7 days ago)."),
    end: str | None = typer.Option(None, "--to", help="Last local date (default today)."),
) -> None:
    """Unusual access: outside the usual wards, many residents in a short time, at night."""
    with db.connect(get_settings()) as conn:
        t0, t1 = _bounds(str(registry.tenant_time_zone(conn, tenant)), start, end, 7)
        found = privacy.unusual_access(conn, tenant, t0, t1)
    for f in found:
        typer.echo(
            f"{f.kind:<20} {f.actor:<24} {f.first_at:%Y-%m-%d %H:%M} {f.reads:>5} oppslag "
            f"{len(f.residents):>4} beboere  {f.detail}"
        )
    typer.echo(f"{len(found)} flagg")


@app.command()
def export(
    resident: str = typer.Argument(..., help="Resident id or pseudonym."),
    tenant: str = typer.Option(..., "--tenant"),
    out: Path = typer.Option(..., "--out", help="CSV file to write."),
    start: str | None = typer.Option(None, "--from", help="First local date (default a year ago)."),
    end: str | None = typer.Option(None, "--to", help="Last local date (default today)."),
    lang: str = typer.Option("nb", "--lang", help="nb (default) or en headers."),
) -> None:
    """A resident's own access log as CSV (for an access request; the export is logged)."""
    if lang not in ("nb", "en"):
        raise typer.BadParameter("--lang nb or en")
    with db.connect(get_settings()) as conn:
        tz = str(registry.tenant_time_zone(conn, tenant))
        resident_id = resident_by_ref(conn, tenant, resident)
        t0, t1 = _bounds(tz, start, end, 365)
        entries = privacy.resident_access_log(conn, tenant, resident_id, t0, t1)
        audit.record(
            conn, tenant=tenant, actor=f"cli:{os_user()}", action="access_log.export",
            subject_kind="resident", subject_id=str(resident_id), purpose="administration",
            detail={"entries": len(entries), "file": out.name},
        )  # fmt: skip
        write_output(out, privacy.access_log_csv(entries, tz, "nb" if lang == "nb" else "en"))
        conn.commit()
    typer.echo(f"{len(entries)} entries written to {out}")
