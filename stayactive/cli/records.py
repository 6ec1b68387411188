"""``stayactive records import | simulate``: care-record extracts in and (simulated) out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from stayactive import db
from stayactive.cli._common import day_option, os_user, writing
from stayactive.errors import ConfigurationError
from stayactive.records import (
    ASSIGNMENT_COLUMNS,
    REQUIRED_COLUMNS,
    ImportReport,
    audit_import,
    check_columns,
    import_assignments,
    import_care_records,
)
from stayactive.settings import get_settings

app = typer.Typer(help="Stays and consents from the care record system.", no_args_is_help=True)

_MAX_ERRORS_SHOWN = 50


def _print_report(kind: str, report: ImportReport) -> None:
    typer.echo(f"{kind}: {report.summary()}")
    for note in report.notes:
        typer.echo(f"  note: {note}")
    for error in report.errors[:_MAX_ERRORS_SHOWN]:
        typer.secho(f"  {error}", fg=typer.colors.YELLOW)
    if len(report.errors) > _MAX_ERRORS_SHOWN:
        typer.echo(f"  … and {len(report.errors) - _MAX_ERRORS_SHOWN} more problems")


@app.command("import")
def import_(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id (created if new)."),
    csv_path: Path = typer.Option(
        ..., "--csv", exists=True, dir_okay=False, help="Care-record CSV (docs/operations.md)."
    ),
    assignments: Path | None = typer.Option(
        None, "--assignments", exists=True, dir_okay=False, help="Device-assignments CSV."
    ),
    tenant_name: str | None = typer.Option(None, help="Name of the tenant if it is created."),
) -> None:
    """Load stays, residents, wards and consents; bad rows are listed, good rows kept.

    Idempotent on external_ref: importing the same extract again changes nothing. Both files'
    headers are checked first and both are written in one transaction: a refused file leaves
    nothing of either. Exit code 2 if some rows failed.
    """
    # Both files are checked before anything is written, and written in one transaction: a
    # refused file (or the database going away) leaves nothing of either behind.
    for path, columns in ((csv_path, REQUIRED_COLUMNS), (assignments, ASSIGNMENT_COLUMNS)):
        if path is not None:
            try:
                check_columns(path, columns)
            except ConfigurationError as exc:
                raise ConfigurationError(f"{path}: {exc}; nothing was imported") from exc
    settings = get_settings()
    actor = f"cli:{os_user()}"
    with db.connect(settings) as conn:
        report = import_care_records(
            conn, tenant, csv_path, tenant_name=tenant_name, time_zone=settings.time_zone,
            actor=actor,
        )  # fmt: skip
        # Committed with the import: the file's audit row and one per resident changed.
        audit_import(conn, report, tenant=tenant, actor=actor)
        assigned = None if assignments is None else import_assignments(conn, tenant, assignments)
        conn.commit()
    if report.tenant_created:
        typer.echo(f"created tenant {tenant!r}")
    _print_report("stays", report)
    if assigned is not None:
        _print_report("assignments", assigned)
    if report.failed or (assigned is not None and assigned.failed):
        raise typer.Exit(2)


@app.command()
def simulate(
    out: Path = typer.Option(Path("care-records"), "--out", help="Directory for the CSV files."),
    start: str = typer.Option("2025-09-01", help="First day of the historical period."),
    before_days: int = typer.Option(182, min=1, help="Days before go-live."),
    after_days: int = typer.Option(182, min=1, help="Days after go-live."),
    device_ward_stays: int = typer.Option(800, min=0, help="Admissions on device wards."),
    comparison_ward_stays: int = typer.Option(400, min=0, help="Admissions on other wards."),
    effect: float = typer.Option(0.5, min=0.0, help="The simulator's effect."),
    seed: int = typer.Option(0, help="Root seed."),
) -> None:
    """Write a simulated care-record extract (stays.csv) and device assignments
    (assignments.csv) with a historical period without devices."""
    # Imported here: only this command needs the simulator.
    from stayactive.tools.simulation import write_care_record_extract

    tz = ZoneInfo(get_settings().time_zone)
    first_day = datetime.combine(day_option("--start", start), datetime.min.time(), tzinfo=tz)
    with writing(out):
        extract = write_care_record_extract(
            out,
            start=first_day,
            before_days=before_days,
            after_days=after_days,
            device_ward_stays=device_ward_stays,
            comparison_ward_stays=comparison_ward_stays,
            effect=effect,
            seed=seed,
        )
    typer.echo(extract.summary())
