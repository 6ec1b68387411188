"""``stayactive residents consents | consent | withdraw``: a resident's consents (IT, on the
server). A care withdrawal erases the resident's telemetry and derived rows (docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime

import psycopg
import typer
from psycopg.rows import TupleRow

from stayactive import db, privacy
from stayactive.cli._common import os_user
from stayactive.errors import ConfigurationError
from stayactive.settings import get_settings

app = typer.Typer(help="Residents' consents, and erasure on withdrawal.", no_args_is_help=True)


def resident_by_ref(conn: psycopg.Connection[TupleRow], tenant: str, ref: str) -> int:
    """A resident by id or pseudonym."""
    row = conn.execute(
        """SELECT resident_id FROM residents
           WHERE tenant_id = %s AND (resident_id::text = %s OR pseudonym = %s)""",
        (tenant, ref, ref),
    ).fetchone()
    if row is None:
        raise ConfigurationError(f"{tenant} has no resident {ref!r} (give the id or pseudonym)")
    return int(row[0])


def _purpose(value: str) -> privacy.ConsentPurpose:
    for p in privacy.PURPOSES:
        if p == value:
            return p
    raise typer.BadParameter(f"--purpose {value!r}: use one of {', '.join(privacy.PURPOSES)}")


@app.command()
def consents(
    resident: str = typer.Argument(..., help="Resident id or pseudonym."),
    tenant: str = typer.Option(..., "--tenant"),
) -> None:
    """The resident's consent per purpose."""
    with db.connect(get_settings()) as conn:
        rows = privacy.consent_statuses(conn, resident_by_ref(conn, tenant, resident))
    for c in rows:
        span = f"{c.valid_from:%Y-%m-%d} - {c.valid_to:%Y-%m-%d}" if c.valid_to else (
            f"from {c.valid_from:%Y-%m-%d}" if c.valid_from else ""
        )  # fmt: skip
        typer.echo(f"{c.purpose:<11} {c.status:<10} {span}")


@app.command()
def consent(
    resident: str = typer.Argument(..., help="Resident id or pseudonym."),
    tenant: str = typer.Option(..., "--tenant"),
    purpose: str = typer.Option(..., "--purpose", help="care, evaluation or open_data."),
    valid_from: datetime = typer.Option(..., "--from", help="When it was given (ISO 8601)."),
    valid_to: datetime | None = typer.Option(None, "--to", help="When it ends (open if absent)."),
) -> None:
    """Record a consent (audited)."""
    if valid_to is not None and valid_to.astimezone() <= valid_from.astimezone():
        raise typer.BadParameter("--to must be after --from")
    with db.connect(get_settings()) as conn, db.translated():
        consent_id = privacy.record_consent(
            conn,
            tenant=tenant,
            resident_id=resident_by_ref(conn, tenant, resident),
            purpose=_purpose(purpose),
            valid_from=valid_from.astimezone(),
            valid_to=valid_to.astimezone() if valid_to else None,
            source=f"cli:{os_user()}",
            actor=f"cli:{os_user()}",
        )
        conn.commit()
    typer.echo(f"consent {consent_id} recorded")


@app.command()
def withdraw(
    resident: str = typer.Argument(..., help="Resident id or pseudonym."),
    tenant: str = typer.Option(..., "--tenant"),
    purpose: str = typer.Option(..., "--purpose", help="care, evaluation or open_data."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask (care: erases data)."),
) -> None:
    """Withdraw a consent; for care, erase the resident's telemetry and derived rows at once."""
    wanted = _purpose(purpose)
    if wanted == "care" and not yes:
        typer.confirm(
            f"Withdrawing care consent of {resident} erases their device data and everything "
            "computed from it. Go on?",
            abort=True,
        )
    with db.connect(get_settings()) as conn:
        try:
            done = privacy.withdraw_consent(
                conn,
                tenant=tenant,
                resident_id=resident_by_ref(conn, tenant, resident),
                purpose=wanted,
                actor=f"cli:{os_user()}",
            )
        except (privacy.UnknownResident, privacy.NoConsentToWithdraw) as exc:
            raise ConfigurationError(str(exc)) from exc
        conn.commit()
    typer.echo(
        f"{done.consents_withdrawn} {wanted} consent(s) of resident {done.resident_id} withdrawn"
    )
    for table, n in done.erased.items():
        typer.echo(f"  {table:<28} {n:>8}")
    typer.echo(f"{done.rows_erased} rows erased. {done.note}")
