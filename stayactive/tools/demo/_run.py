"""``stayactive demo``: the whole system live on this machine, in phases with progress.

1. the demo's database schema, migrated;
2. the demo tenant provisioned (first run): wards, devices, people;
3. the supervisor (:mod:`stayactive.supervisor`) starts ingest, analytics, the API, the
   dashboard and the simulated devices, the same processes ``stayactive run`` starts, with the
   demo's schema;
4. the devices' process imports the care records (the world's and the comparison period's)
   and sends the history (first run: the last ``--days`` days; later: the time since the last
   run) as fast as the pipeline takes it, then goes on in real time;
5. once ingest has stored the history, analytics computes it;
6. it prints where to look and who can log in, and runs until Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from analytics.runner import AnalyticsRunner
from stayactive import db, supervisor
from stayactive.errors import ConfigurationError
from stayactive.settings import Settings
from stayactive.supervisor import ProcessSpec, Supervisor, stayactive_command
from stayactive.tools.demo import _queries
from stayactive.tools.demo._config import TENANT, USERS, DemoConfig
from stayactive.tools.demo._fleet import ingest_counters
from stayactive.tools.demo._provision import demo_settings, provision
from stayactive.tools.demo._reset import reset
from stayactive.tools.demo._state import (
    RECORDS_VERSION,
    DemoFiles,
    DemoRecord,
    FleetCheckpoint,
    demo_files,
    ingest_worker_id,
    load_logins,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Ingest has caught up when it receives fewer messages a second than this (the live fleet
#: sends a few) with nothing waiting in its queue.
LIVE_RATE_PER_S = 50.0


@dataclass(frozen=True)
class DemoReport:
    """What a run measured, for the closing lines and the tests."""

    first_run: bool
    up_after_s: float  # the API answered (the history may still be on its way)
    ready_after_s: float  # the history stored and computed: the dashboard populated


def demo_processes(settings: Settings) -> list[ProcessSpec]:
    """``stayactive run``'s processes on the demo's schema, and the simulated devices last
    (started last, stopped first, so ingest stores what they sent before it stops)."""
    # One worker per demo schema, on a plain subscription (see _fleet: the broker restores it
    # after a restart, so the devices need not wait for the backend's acknowledgement). Its
    # session stays when it stops: the devices take the broker's PUBACK as final, so what the
    # broker holds for it must wait for its return (`--reset` ends the session).
    return [
        *supervisor.service_processes(
            settings, worker_id=ingest_worker_id(settings), share_group=""
        ),
        ProcessSpec("devices", stayactive_command("demo", "devices"), stop_timeout_s=60.0),
    ]


def run_demo(
    settings: Settings,
    *,
    config: DemoConfig | None,
    wipe: bool,
    stop: threading.Event,
    console: Console,
    on_ready: Callable[[DemoReport], None] | None = None,
) -> int:
    """Run the demo until ``stop`` is set; the supervisor's exit code (0: stopped cleanly)."""
    started = time.monotonic()
    files = demo_files(settings)
    demo = demo_settings(settings)
    with files.running():
        processes_to_run = demo_processes(demo)
        supervisor.refuse_busy_ports(processes_to_run)
        if wipe:
            reset(demo, files, console.print)
        first_run = not files.provisioned
        with _progress(console) as progress:
            _phase(progress, f"database schema {demo.database_schema!r}", lambda: db.migrate(demo))
            passwords: dict[str, str] = {}
            if first_run and not stop.is_set():
                chosen = config or DemoConfig()
                passwords = _phase(
                    progress, "provisioning Stavanger: 2 sites, 4 wards, devices, people",
                    lambda: provision(demo, files, chosen),
                )  # fmt: skip
            else:
                _check_size(DemoRecord.load(files), config)
        if stop.is_set():  # Ctrl-C while setting up: nothing was started yet
            console.print("stopped before the processes were started")
            return 0
        # Live again only when the devices have sent what they missed while the demo was away.
        fleet = FleetCheckpoint.load(files)
        fleet.live = False
        fleet.save(files)
        with Supervisor(processes_to_run, log_dir=files.logs, env=_environment(demo)) as processes:
            if _start(console, processes, stop):
                up_s = time.monotonic() - started
                _where(console, demo, files, passwords)
                if _history(console, demo, files, processes, stop):
                    report = DemoReport(first_run, up_s, time.monotonic() - started)
                    _ready(console, demo, report)
                    if on_ready is not None:
                        on_ready(report)
            return processes.supervise(stop, _drain(demo, console))


def _start(console: Console, processes: Supervisor, stop: threading.Event) -> bool:
    """Start the processes and wait until they answer; False if stopped first."""
    with _progress(console) as progress:
        task = progress.add_task("starting ingest, analytics, API, devices", total=None)
        processes.start()
        if not processes.wait_ready(timeout_s=180, stop=stop):
            return False
        progress.update(task, total=1, completed=1)
    return True


def _history(
    console: Console, demo: Settings, files: DemoFiles, processes: Supervisor, stop: threading.Event
) -> bool:
    """Follow the history until the devices are live, wait for ingest, run analytics; False
    if stopped first."""
    with _progress(console) as progress:
        if not _follow_history(progress, files, processes, stop):
            return False
        if not _wait_ingest(progress, demo, processes, stop):
            return False
        _analytics(progress, demo, stop)
    return not stop.is_set()


def _drain(demo: Settings, console: Console) -> Callable[[Supervisor], None]:
    """The demo's way to stop: the devices first, then wait until ingest has stored what the
    broker still holds for it (its session ends when it stops), then the rest."""

    def drain(processes: Supervisor) -> None:
        processes.stop(["devices"])
        console.print("devices stopped; ingest stores what the broker still holds …")
        deadline = time.monotonic() + 120
        last: float | None = None
        while time.monotonic() < deadline:
            counters = ingest_counters(demo.ingest_metrics_port)
            if counters is None:
                return  # ingest is away: its session stays, nothing is dropped
            if counters[0] == last and counters[1] == 0:
                return
            last = counters[0]
            time.sleep(1.0)

    return drain


def _environment(demo: Settings) -> dict[str, str]:
    return {**os.environ, **demo.as_environment()}


def _check_size(record: DemoRecord, asked: DemoConfig | None) -> None:
    """Refuse to go on with a demo of another size, or made by an older version."""
    if record.records != RECORDS_VERSION:
        raise ConfigurationError(
            "the demo here was made by an older version, whose simulated care records differ "
            "from this one's (importing these would put other stays beside its own); "
            "`stayactive demo --reset` starts a new one"
        )
    if asked is not None and asked != record.config:
        have = record.config
        raise ConfigurationError(
            f"the demo here has {have.residents} residents and {have.days} days of history; "
            "`stayactive demo --reset` with the new size starts a new one"
        )


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
    )  # fmt: skip


def _phase(progress: Progress, what: str, work: Callable[[], _T]) -> _T:
    task = progress.add_task(what, total=None)
    result = work()
    progress.update(task, total=1, completed=1)
    return result


#: How often the history's progress is written as a line when no terminal shows the bar.
_PLAIN_EVERY_S = 60.0


def _follow_history(
    progress: Progress, files: DemoFiles, processes: Supervisor, stop: threading.Event
) -> bool:
    """Show the devices' history as it goes; True once they are live. Into a log rather than
    a terminal (no bar drawn there), a line every minute says how far it is."""
    task: TaskID | None = None
    said: set[str] = set()
    plain = not progress.console.is_terminal
    next_line = time.monotonic() + _PLAIN_EVERY_S
    while not stop.wait(1.0):
        _say_failing(progress, processes, said)
        fleet = FleetCheckpoint.load(files)
        if fleet.history_from is not None and fleet.simulated_until is not None:
            total_days = max(1.0, (time.time() - fleet.history_from) / 86400.0)
            done = (fleet.simulated_until - fleet.history_from) / 86400.0
            if task is None:
                task = progress.add_task("history through broker and ingest (days)", total=None)
            upto = datetime.fromtimestamp(fleet.simulated_until, UTC)
            progress.update(
                task, total=round(total_days), completed=min(round(total_days), int(done)),
                description=f"history through broker and ingest, sent up to {upto:%Y-%m-%d %H:%M}",
            )  # fmt: skip
            if plain and time.monotonic() >= next_line:
                next_line = time.monotonic() + _PLAIN_EVERY_S
                progress.console.print(
                    f"history: sent up to {upto:%Y-%m-%d %H:%M} UTC, {int(done)} of "
                    f"{round(total_days)} days"
                )
        if fleet.live:
            if task is not None:
                progress.update(task, completed=progress.tasks[task].total or 1)
            return True
    return False


def _say_failing(progress: Progress, processes: Supervisor, said: set[str]) -> None:
    """A process that keeps crashing is restarted meanwhile (the database may be back soon):
    say so, and where its log is, once (``said`` holds what was said)."""
    failing = processes.failing
    if failing is not None and failing not in said:
        said.add(failing)
        wait_s = processes.policy.max_delay_s
        progress.console.print(f"[yellow]{failing}; restarted every {wait_s:.0f} s[/yellow]")


def _wait_ingest(
    progress: Progress, demo: Settings, processes: Supervisor, stop: threading.Event
) -> bool:
    """Wait until ingest has stored what the broker queued for it (its rate falls to the live
    fleet's); True when it has."""
    task = progress.add_task("ingest storing what the broker holds", total=None)
    said: set[str] = set()
    last: tuple[float, float] | None = None
    quiet = 0
    while not stop.wait(1.0):
        _say_failing(progress, processes, said)
        now = ingest_counters(demo.ingest_metrics_port)
        if now is not None and last is not None:
            rate = now[0] - last[0]
            quiet = quiet + 1 if rate < LIVE_RATE_PER_S and now[1] == 0 else 0
            progress.update(
                task, description=f"ingest storing what the broker holds ({rate:.0f}/s)"
            )
            if quiet >= 3:
                progress.update(task, total=1, completed=1)
                return True
        last = now
    return False


def _analytics(progress: Progress, demo: Settings, stop: threading.Event) -> None:
    task = progress.add_task("analytics: resident-days and stays", total=None)

    def told(line: str) -> None:
        progress.update(task, description=f"analytics: {line.strip()}")

    report = AnalyticsRunner(demo, progress=told).run_once(stop=stop.is_set)
    progress.update(
        task, total=1, completed=1,
        description=f"analytics: {report.computed} resident-days, {report.trajectories} stays",
    )  # fmt: skip


def _where(console: Console, demo: Settings, files: DemoFiles, passwords: dict[str, str]) -> None:
    """Who can log in and where, as soon as the processes answer."""
    table = Table(title=f"Log in (passwords shown once, kept in {files.logins})")
    table.add_column("user name")
    table.add_column("password")
    table.add_column("who")
    known = load_logins(files)
    for user in USERS:
        shown = passwords.get(user.username) or ("(in the file)" if user.username in known else "?")
        table.add_row(user.username, shown, user.description)
    console.print(table)
    api = f"http://127.0.0.1:{demo.api_port}"
    console.print(f"dashboard: {supervisor.dashboard_url(demo)}   health: "
                  f"{supervisor.dashboard_url(demo)}/_stcore/health")  # fmt: skip
    console.print(f"API: {api}/api/v1/openapi.json   health: {api}/healthz")
    console.print(f"logs of every process: {files.logs}")
    console.print("the devices' history is on its way; what has arrived can be looked at now")


def _ready(console: Console, demo: Settings, report: DemoReport) -> None:
    # Counting 60 days of frames takes 4 s on a quiet box and passed the 30 s statement timeout
    # while analytics computed the history: a one-off report, so no limit.
    with db.connect(demo, statement_timeout_s=0) as conn:
        stored = _queries.stored(conn, TENANT)
    console.print(
        f"stored: {stored.walker_frames} walker frames, {stored.robot_events} robot events, "
        f"{stored.statuses} statuses, {stored.rejects} rejected messages kept for inspection; "
        f"{stored.resident_days} resident-days computed"
    )
    console.print(
        f"[bold green]ready[/bold green]: up after {report.up_after_s:.0f} s, history stored and "
        f"computed after {report.ready_after_s:.0f} s; the devices go on in real time, ingest "
        "and analytics follow. Ctrl-C stops everything."
    )
