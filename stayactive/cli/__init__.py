"""The ``stayactive`` command: one Typer app with a sub-app per area."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import Any, Final

import typer
from typer.core import TyperGroup

from stayactive.errors import StayActiveError

#: The command groups: name → (module of ``stayactive.cli``, its Typer app), in help order.
_GROUPS: Final = {
    "services": ("services", "app"),
    "db": ("db", "app"),
    "demo": ("demo", "app"),
    "ingest": ("ingest", "app"),
    "sim": ("sim", "app"),
    "analytics": ("analytics", "app"),
    "bench": ("bench", "app"),
    "validate": ("validate", "app"),
    "records": ("records", "app"),
    "report": ("report", "app"),
    "run": ("run", "app"),
    "tenants": ("tenants", "app"),
    "wards": ("tenants", "wards_app"),
    "users": ("users", "app"),
    "apikeys": ("users", "keys_app"),
    "devices": ("devices", "app"),
    "residents": ("residents", "app"),
    "audit": ("audit", "app"),
    "api": ("api", "app"),
    "dashboard": ("dashboard", "app"),
}


class _LazyGroups(TyperGroup):
    """Imports a command group's module when that group is asked for, so that a command pays
    for its own imports only: with every group imported up front, each command first spent
    some 2.5 s loading the analytics, API and report stacks.

    The context and command are Click's, typed ``Any``: newer Typers vendor their own Click,
    so no one name fits every Typer that ``pyproject.toml`` allows."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *_GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in _GROUPS:
            return super().get_command(ctx, cmd_name)
        module, attribute = _GROUPS[cmd_name]
        group = typer.main.get_group(
            getattr(importlib.import_module(f"stayactive.cli.{module}"), attribute)
        )
        group.name = cmd_name
        return group


app = typer.Typer(
    cls=_LazyGroups,
    help="StayActive: telemetry and outcomes backend for activation devices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


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
    except Exception as exc:
        missing = _missing_table(exc)
        if missing is None:
            raise
        typer.secho(
            f"error: {missing}: the database schema is not migrated; run `stayactive db "
            "migrate` first (or check STAYACTIVE_DATABASE_SCHEMA)",
            err=True,
            fg=typer.colors.RED,
        )
        sys.exit(1)


def _missing_table(exc: Exception) -> str | None:
    """PostgreSQL's message if ``exc`` says a table is missing (an unmigrated schema)."""
    from psycopg import errors

    if not isinstance(exc, errors.UndefinedTable):
        return None
    return exc.diag.message_primary or str(exc)
