"""The ``stayactive`` command: one Typer app with a sub-app per area."""

from __future__ import annotations

import json
import logging
import sys

import typer

from stayactive.cli import (
    analytics,
    api,
    audit,
    bench,
    dashboard,
    db,
    demo,
    devices,
    ingest,
    records,
    report,
    residents,
    run,
    services,
    sim,
    tenants,
    users,
    validate,
)
from stayactive.errors import StayActiveError

app = typer.Typer(
    help="StayActive: telemetry and outcomes backend for activation devices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(services.app, name="services")
app.add_typer(db.app, name="db")
app.add_typer(demo.app, name="demo")
app.add_typer(ingest.app, name="ingest")
app.add_typer(sim.app, name="sim")
app.add_typer(analytics.app, name="analytics")
app.add_typer(bench.app, name="bench")
app.add_typer(validate.app, name="validate")
app.add_typer(records.app, name="records")
app.add_typer(report.app, name="report")
app.add_typer(run.app, name="run")
app.add_typer(tenants.app, name="tenants")
app.add_typer(tenants.wards_app, name="wards")
app.add_typer(users.app, name="users")
app.add_typer(users.keys_app, name="apikeys")
app.add_typer(devices.app, name="devices")
app.add_typer(residents.app, name="residents")
app.add_typer(audit.app, name="audit")
app.add_typer(api.app, name="api")
app.add_typer(dashboard.app, name="dashboard")


class _JsonFormatter(logging.Formatter):
    """One JSON object per log line, for log collectors (journald, Loki, Elastic)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show debug logging."),
    log_json: bool = typer.Option(
        False, "--log-json", envvar="STAYACTIVE_LOG_JSON", help="Log one JSON object per line."
    ),
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])


def main() -> None:
    """Entry point of the console script: errors of ours become a message and exit code 1."""
    try:
        app()
    except StayActiveError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)
