"""``stayactive demo``: the whole system on simulated devices."""

from __future__ import annotations

from pathlib import Path

import typer

from stayactive import services
from stayactive.settings import get_settings
from stayactive.tools import demo as demo_run

app = typer.Typer(help="Run the whole system on simulated devices.", invoke_without_command=True)


@app.callback()
def demo(
    directory: Path = typer.Option(Path("var/demo"), help="Scenario, truth and logs."),
    days: int = typer.Option(7, min=1, help="Days of history (first run only)."),
    follow: bool = typer.Option(False, help="After the history, go on in real time."),
) -> None:
    """Simulate a municipality's walkers and robots through broker, ingest and database."""
    settings = get_settings()
    state = services.status(settings)
    if not state.healthy:
        typer.secho("the services are not healthy: run `stayactive services status`", fg="red")
        raise typer.Exit(1)
    config = demo_run.DemoConfig(directory=directory, days=days, follow=follow)
    demo_run.run(settings, config, typer.echo)
