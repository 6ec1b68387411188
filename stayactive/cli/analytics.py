"""``stayactive analytics run``: raw device data → resident-days and stay trajectories."""

from __future__ import annotations

from datetime import date

import typer

from analytics.runner import AnalyticsRunner
from stayactive.cli._common import stop_on_signals
from stayactive.settings import get_settings

app = typer.Typer(help="Mobility analytics over the stored device data.", no_args_is_help=True)


@app.command()
def run(
    since: str | None = typer.Option(
        None, help="Also recompute every stay day since this date (YYYY-MM-DD)."
    ),
    follow: bool = typer.Option(False, help="Keep going: a pass every --interval-s seconds."),
    interval_s: float | None = typer.Option(
        None,
        min=0.1,
        help="Pause between passes with --follow [default: STAYACTIVE_ANALYTICS_INTERVAL_S].",
    ),
) -> None:
    """Compute what new data, changed assignments or a new metric version touched."""
    since_day = date.fromisoformat(since) if since else None
    stop = stop_on_signals("stopping after the resident-day in hand")
    runner = AnalyticsRunner(get_settings(), progress=lambda line: typer.echo(line, err=True))
    report = runner.run_once(since=since_day, stop=stop.is_set)
    typer.echo(
        f"{report.computed} resident-days and {report.trajectories} stay trajectories computed "
        f"in {report.seconds:.1f} s; {report.excluded_no_consent} left out without care consent"
        + (f" ({'; '.join(report.skipped)})" if report.skipped else "")
    )
    if follow:
        runner.follow(stop.is_set, interval_s or get_settings().analytics_interval_s)
