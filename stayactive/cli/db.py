"""``stayactive db migrate | maintain | status``."""

from __future__ import annotations

import typer

from stayactive import db
from stayactive.settings import get_settings

app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)


@app.command()
def migrate() -> None:
    """Apply pending SQL migrations (checksum-guarded, one starter at a time)."""
    settings = get_settings()
    applied = db.migrate(settings)
    policies = db.apply_policies(settings)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none pending"
    typer.echo(f"migrations applied: {names}")
    typer.echo(
        "retention/compression policies: "
        + ("enabled" if policies else "not available on this edition; run `stayactive db maintain`")
    )


@app.command()
def maintain() -> None:
    """Apply retention with drop_chunks where the edition has no policies; purge old rejects,
    ended sessions and login throttle rows (with their client addresses) that no longer count."""
    report = db.maintain(get_settings())
    dropped = ", ".join(f"{t}: {n}" for t, n in report.dropped_chunks.items()) or "by policy"
    typer.echo(
        f"licence {report.license}; chunks dropped: {dropped}; "
        f"old rejects deleted: {report.deleted_rejects}; "
        f"login throttle rows that no longer count deleted: {report.deleted_login_throttle}"
    )
