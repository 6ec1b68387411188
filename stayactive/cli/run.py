"""``stayactive run``: every service of this machine under one supervisor."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from stayactive import supervisor
from stayactive.cli._common import stop_on_signals
from stayactive.paths import ServicePaths
from stayactive.settings import get_settings

app = typer.Typer(help="Run ingest, analytics, the API and the dashboard, supervised.",
                  invoke_without_command=True)  # fmt: skip
log = logging.getLogger(__name__)


def log_to(directory: Path) -> None:
    """Also write this process's own log lines to ``directory/supervisor.log`` (rotated)."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = supervisor.rotated_log(directory / "supervisor.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


@app.callback()
def run(
    log_dir: Path | None = typer.Option(None, help="Logs (default: DATA_DIR/logs)."),
    only: list[str] = typer.Option([], "--only", help="Run just these processes (repeatable)."),
    worker_id: str | None = typer.Option(
        None, help="Ingest worker id (default: ingest-HOSTNAME-1); one per worker on a broker."
    ),
    share_group: str = typer.Option("ingest", help="Ingest's shared-subscription group."),
    end_session_on_exit: bool = typer.Option(
        False, help="Ingest ends its broker session when stopped (a worker that will not return)."
    ),
    write_systemd: Path | None = typer.Option(
        None, help="Write systemd units of the same processes into this folder and exit."
    ),
) -> None:
    """Start every process, restart a crashed one with back-off, stop all on Ctrl-C/SIGTERM.

    Exits 1 if a process keeps crashing before it was ever ready (its log says why); later,
    one that keeps crashing is restarted at the longest wait and reported."""
    if write_systemd is not None:
        for path in supervisor.write_units(write_systemd, supervisor.systemd_processes()):
            typer.echo(f"wrote {path}")
        return
    settings = get_settings()
    directory = log_dir or ServicePaths(settings.data_dir).logs_dir
    specs = supervisor.service_processes(
        settings, worker_id=worker_id, share_group=share_group,
        end_session_on_exit=end_session_on_exit,
    )  # fmt: skip
    if only:
        unknown = set(only) - {s.name for s in specs}
        if unknown:
            raise typer.BadParameter(f"no process named {', '.join(sorted(unknown))}")
        specs = [s for s in specs if s.name in only]
    supervisor.refuse_busy_ports(specs)
    stop = stop_on_signals("stopping every process")
    with supervisor.Supervisor(specs, log_dir=directory) as processes:  # refused if one runs
        log_to(directory)
        processes.start()
        if processes.wait_ready(timeout_s=120.0, stop=stop):
            names = ", ".join(f"{s.name} (pid {s.pid})" for s in processes.state())
            typer.echo(f"running: {names}; logs in {directory}; Ctrl-C stops everything", err=True)
        raise typer.Exit(processes.supervise(stop))
