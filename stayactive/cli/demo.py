"""``stayactive demo``: the whole system live on simulated devices."""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.logging import RichHandler

from stayactive import services
from stayactive.cli._common import stop_on_signals
from stayactive.settings import get_settings
from stayactive.tools import demo as the_demo

app = typer.Typer(
    help="Run the whole system live on simulated devices (docs/operations.md, 'The demo').",
    invoke_without_command=True,
)


@app.callback()
def demo(
    ctx: typer.Context,
    residents: int | None = typer.Option(
        None, min=4, help="Walkers (about one resident each) over the four wards [default: 40]."
    ),
    days: int | None = typer.Option(
        None, min=1, max=365, help="Days of history up to now [default: 60]."
    ),
    reset: bool = typer.Option(
        False, "--reset", help="Start clean: drop the demo's schema, accounts and files first."
    ),
) -> None:
    """Provision Stavanger's demo tenant (first run), send the history through broker and
    ingest, compute it, and keep everything running (API, dashboard, live devices) until
    Ctrl-C. A second run reuses what is there."""
    if ctx.invoked_subcommand is not None:
        return
    settings = get_settings()
    state = services.status(settings)
    if not state.healthy:
        typer.secho("the services are not healthy: run `stayactive services status`", fg="red")
        raise typer.Exit(1)
    config = None
    if residents is not None or days is not None:
        config = the_demo.DemoConfig(residents=residents or 40, days=days or 60)
    console = Console()
    root = logging.getLogger()
    root.handlers = [RichHandler(console=console, show_path=False)]
    stop = stop_on_signals("stopping the demo")
    code = the_demo.run_demo(settings, config=config, wipe=reset, stop=stop, console=console)
    raise typer.Exit(code)


@app.command()
def devices() -> None:
    """The demo's simulated walkers and robots (a process `stayactive demo` supervises)."""
    settings = the_demo.demo_settings(get_settings())
    files = the_demo.demo_files(settings)
    stop = stop_on_signals("the devices stop")
    the_demo.run_fleet(settings, files, stop=stop.is_set, say=typer.echo)
