"""``stayactive services up | down | status | logs``."""

from __future__ import annotations

import subprocess
import time

import typer

from stayactive import services
from stayactive.settings import get_settings

app = typer.Typer(help="Local TimescaleDB and Mosquitto on loopback.", no_args_is_help=True)


@app.command()
def up() -> None:
    """Install what is missing, then start PostgreSQL+TimescaleDB and Mosquitto (idempotent)."""
    started = time.monotonic()
    settings = get_settings()
    services.up(settings)
    typer.echo(f"services up in {time.monotonic() - started:.1f} s (data: {settings.data_dir})")


@app.command()
def down() -> None:
    """Stop the local services; their data stays."""
    services.down(get_settings())
    typer.echo("services stopped")


@app.command()
def status() -> None:
    """Show each service, its port, version and health. Exit code 1 when one is unhealthy."""
    state = services.status(get_settings())
    db = state.database
    where = "local" if state.database_local else "external"
    if db.running:
        typer.echo(
            f"timescaledb  {where:8}  port {db.port}  healthy  PostgreSQL {db.version}, "
            f"TimescaleDB {db.timescaledb_version} (licence: {db.timescaledb_license})"
        )
    else:
        typer.echo(f"timescaledb  {where:8}  port {db.port}  DOWN  {db.error}")
    broker = state.broker
    where = "local" if state.broker_local else "external"
    health = "healthy" if broker.running else f"DOWN  {broker.error}"
    version = f"Mosquitto {broker.version}" if broker.version else "version not known (external)"
    note = f"  ({broker.note})" if broker.note else ""
    typer.echo(f"mosquitto    {where:8}  port {broker.port}  {health}  {version}{note}")
    if not state.healthy:
        raise typer.Exit(1)


@app.command()
def logs(
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    lines: int = typer.Option(50, "--lines", "-n", help="How many last lines of each log."),
) -> None:
    """Print the last lines of the PostgreSQL and Mosquitto logs."""
    paths = services.paths_for(get_settings())
    files = [str(p) for p in (paths.pg_log, paths.mqtt_log) if p.exists()]
    if not files:
        typer.echo(f"no logs yet in {paths.root}")
        raise typer.Exit(1)
    subprocess.run(["tail", "-n", str(lines), *(["-F"] if follow else []), *files], check=False)
