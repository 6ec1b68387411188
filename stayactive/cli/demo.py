"""``stayactive demo``: the whole system on simulated devices, as far as it is built."""

from __future__ import annotations

import typer

from stayactive import services
from stayactive.settings import get_settings

app = typer.Typer(help="Run the whole system on simulated devices.", invoke_without_command=True)


@app.callback()
def demo() -> None:
    """Check the services and the schema, and say what runs."""
    settings = get_settings()
    state = services.status(settings)
    if not state.healthy:
        typer.secho("the services are not healthy: run `stayactive services status`", fg="red")
        raise typer.Exit(1)
    typer.echo(
        f"TimescaleDB {state.database.timescaledb_version} on port {state.database.port} "
        f"and Mosquitto {state.broker.version} on port {state.broker.port} are running; "
        f"the schema is migrated (database {settings.database_name!r}, "
        f"schema {settings.database_schema!r})."
    )
