"""The demo: a simulated municipality through the whole system, on this machine.

Steps: register a simulated tenant's wards and devices (once), start an ingest worker, let the
simulated devices send the last days' history (and, with ``follow``, go on in real time), wait
until ingest has stored everything, and show what arrived.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from analytics.runner import AnalyticsRunner
from firmware_sim import scenario as runner
from firmware_sim.device import DeviceBehaviour
from firmware_sim.pump import Pump
from firmware_sim.records import (
    CareRecordConfig,
    records_from_world,
    simulate_care_records,
    write_assignments,
    write_care_records,
)
from firmware_sim.scenario_file import Scenario
from firmware_sim.world import World
from stayactive import db
from stayactive.records import import_assignments, import_care_records
from stayactive.reports import build_savings_report
from stayactive.reports.pdf import format_value, render_pdf
from stayactive.reports.savings_store import choose_design
from stayactive.settings import Settings
from stayactive.tools.simulation import SITE, broker_tls, create_scenario

log = logging.getLogger(__name__)

METRICS_PORT = 9108


@dataclass(frozen=True)
class DemoConfig:
    """What the demo simulates."""

    directory: Path = Path("var/demo")
    tenant: str = "stavanger"
    days: int = 7
    stays: int = 24
    wards: tuple[str, ...] = ("stv-korttid-1", "stv-korttid-2")
    walkers_per_ward: int = 6
    seed: int = 1
    follow: bool = False


def run(settings: Settings, config: DemoConfig, say: Callable[[str], None]) -> None:
    """Run the demo; returns when the history is stored (or, following, on SIGINT/SIGTERM)."""
    scenario_path = config.directory / "scenario.json"
    if scenario_path.exists():
        scenario = Scenario.load(scenario_path)
        say(f"using the simulated tenant {scenario.tenant!r} from {scenario_path}")
    else:
        say(f"registering a simulated tenant {config.tenant!r}: wards {', '.join(config.wards)}")
        scenario = create_scenario(
            settings, scenario_path, tenant=config.tenant, days=config.days,
            n_stays=config.stays, seed=config.seed, effect=0.5, wards=config.wards,
            walkers_per_ward=config.walkers_per_ward,
        )  # fmt: skip
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_a: stop.set())
    worker = _start_ingest(config.directory)
    try:
        _wait_healthy(worker)
        say(f"ingest worker running (metrics: http://127.0.0.1:{METRICS_PORT}/metrics)")
        world = scenario.world()
        devices = runner.make_devices(world, DeviceBehaviour(duplicate_rate=0.01))
        pump = Pump(
            scenario.broker_host, scenario.broker_port, devices, scenario.passwords,
            tls=broker_tls(scenario),
        )  # fmt: skip
        say(f"{len(devices)} simulated devices send {scenario.days} days of history …")

        def progress(stats: runner.RunStats) -> None:
            say(
                f"  day {stats.days}/{scenario.days}: {stats.messages} messages, {stats.frames} "
                f"walker frames, {stats.outages} outages, {stats.reboots} reboots"
            )

        try:
            runner.run(
                world, pump, imperfect=runner.Imperfections(), follow=config.follow,
                truth=config.directory / "truth.jsonl", progress=progress, stop=stop.is_set,
            )  # fmt: skip
        finally:
            pump.close()
        expected = len(pump.log.messages)
        say(f"{expected} messages acknowledged by the broker; waiting for ingest to store them")
        stored = _wait_stored(settings, scenario.tenant, expected, stop, say)
        if stored < expected:
            say(
                f"only {stored} of {expected} messages are stored: is another ingest worker of "
                "the share group 'ingest' registered but stopped? Its share waits in its session "
                "(see docs/operations.md, 'Ingest workers')"
            )
        _import_care_records(settings, scenario, world, config.directory, say)
        say("computing resident-day mobility metrics …")
        report = AnalyticsRunner(settings, progress=say).run_once(stop=stop.is_set)
        say(f"{report.computed} resident-days, {report.trajectories} stay trajectories")
        for line in summary(settings, scenario.tenant):
            say(line)
        _finance(settings, config.directory, say)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            say("the ingest worker did not stop within 30 s of SIGTERM; killed it")
            worker.kill()
            worker.wait(10)


def _import_care_records(
    settings: Settings,
    scenario: Scenario,
    world: World,
    directory: Path,
    say: Callable[[str], None],
) -> None:
    """The care-record system's side: the stays and the walker assignments, as CSV extracts,
    imported like a municipality's would be."""
    records = records_from_world(world, extract_at=datetime.now(UTC), site=SITE)
    write_care_records(records, directory / "stays.csv")
    write_assignments(records, directory / "assignments.csv")
    with db.connect(settings) as conn:
        stays = import_care_records(conn, scenario.tenant, directory / "stays.csv")
        assigned = import_assignments(conn, scenario.tenant, directory / "assignments.csv")
        conn.commit()
    say(f"care records imported: {stays.summary()}; assignments: {assigned.summary()}")


EVALUATION_TENANT = "stavanger-eval"


def _finance(settings: Settings, directory: Path, say: Callable[[str], None]) -> None:
    """City finance's side: a year of care records from an evaluation (half before go-live,
    two device wards and a comparison ward, a known effect), imported and reported."""
    tz = ZoneInfo(settings.time_zone)
    today = datetime.now(tz).date()
    config = CareRecordConfig(
        start=datetime.combine(today - timedelta(days=365), datetime.min.time(), tz),
        before_days=183, after_days=182, device_ward_stays=600, comparison_ward_stays=300,
        device_wards=("eval-korttid-a", "eval-korttid-b"), comparison_wards=("eval-korttid-c",),
        site=SITE, effect=1.0, seed=7, tz_name=tz.key,
    )  # fmt: skip
    records = simulate_care_records(config)
    write_care_records(records, directory / "evaluation-stays.csv")
    write_assignments(records, directory / "evaluation-assignments.csv")
    with db.connect(settings) as conn:
        stays = import_care_records(
            conn, EVALUATION_TENANT, directory / "evaluation-stays.csv",
            tenant_name="Stavanger (evaluation extract)", time_zone=tz.key,
        )  # fmt: skip
        import_assignments(conn, EVALUATION_TENANT, directory / "evaluation-assignments.csv")
        # The design is chosen (and recorded) before any result is seen.
        choose_design(
            conn, EVALUATION_TENANT, "difference-in-differences", chosen_by="demo",
            reason="protokoll: avdelingene med utstyr har en førperiode, og en avdeling uten "
            "utstyr går parallelt; forskjell-i-forskjeller fjerner faste forskjeller mellom "
            "avdelinger og en felles trend",
        )  # fmt: skip
        report = build_savings_report(conn, EVALUATION_TENANT, actor="demo")
        conn.commit()
    pdf = directory / "savings-report.pdf"
    pdf.write_bytes(render_pdf(report))
    say(f"evaluation extract {EVALUATION_TENANT!r}: {stays.summary()}")
    say(f"savings report ({report.status}) written to {pdf}:")
    if report.headline is not None:
        say(f"  {report.headline.sentence}")
    if report.draft:
        say(f"  UTKAST – ikke for beslutning: {'; '.join(report.draft_reasons)}")
    for table in report.tables:
        if table.key in ("effect", "money"):
            say(f"  {table.title}")
            for row in table.rows:
                say(f"    {row.label:40} {', '.join(format_value(c) for c in row.cells)}")
    for message in report.messages:
        say(f"  note: {message}")


def _start_ingest(directory: Path) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "ingest.log").open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "stayactive", "ingest", "run", "--worker-id", "demo-ingest-1",
             "--metrics-port", str(METRICS_PORT), "--end-session-on-exit"],
            stdout=log_file, stderr=log_file, env=dict(os.environ),
        )  # fmt: skip


def _wait_healthy(worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("the ingest worker exited; see var/demo/ingest.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/health", timeout=1):
                time.sleep(0.5)  # SUBACK
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the ingest worker did not become healthy within 30 s")


def _stored_messages(settings: Settings, tenant: str) -> int:
    with db.connect(settings) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM walker_frames WHERE tenant_id = %(t)s AND frame_no = 0)
                    + (SELECT count(*) FROM robot_events WHERE tenant_id = %(t)s)
                    + (SELECT count(*) FROM device_status WHERE tenant_id = %(t)s AND seq > 0)""",
            {"t": tenant},
        ).fetchone()
    return int(row[0]) if row else 0


def _wait_stored(
    settings: Settings,
    tenant: str,
    expected: int,
    stop: threading.Event,
    say: Callable[[str], None],
) -> int:
    """Wait until ``expected`` messages are stored or the count stops growing for 30 s."""
    last, last_change, next_report = -1, time.monotonic(), time.monotonic() + 10
    while (stored := _stored_messages(settings, tenant)) < expected:
        now = time.monotonic()
        if stored != last:
            last, last_change = stored, now
        if now - last_change > 30 or stop.wait(0.5):
            break
        if now > next_report:
            say(f"  {stored} of {expected} stored")
            next_report = now + 10
    return stored


def summary(settings: Settings, tenant: str) -> list[str]:
    """What the database holds for ``tenant``: raw data, rejects, and the fleet's state."""
    with db.connect(settings) as conn:
        counts = conn.execute(
            """SELECT (SELECT count(*) FROM walker_frames WHERE tenant_id = %(t)s),
                      (SELECT count(*) FROM robot_events WHERE tenant_id = %(t)s),
                      (SELECT count(*) FROM device_status WHERE tenant_id = %(t)s),
                      (SELECT count(*) FROM ingest_rejects r JOIN devices d USING (device_id)
                        WHERE d.tenant_id = %(t)s)""",
            {"t": tenant},
        ).fetchone()
        days = conn.execute(
            """SELECT r.pseudonym, d.day, d.steps_n, d.walking_min, d.gait_speed_median_mps,
                      d.robot_sessions_n, d.coverage
               FROM resident_days d JOIN residents r USING (resident_id)
               WHERE d.tenant_id = %s
                 AND d.day = (SELECT max(day) - 1 FROM resident_days WHERE tenant_id = %s)
               ORDER BY r.pseudonym""",
            (tenant, tenant),
        ).fetchall()
        fleet = conn.execute(
            """SELECT device_id, state, battery_pct, last_seen_at, clock_suspect
               FROM device_latest_status WHERE tenant_id = %s ORDER BY device_id""",
            (tenant,),
        ).fetchall()
    assert counts is not None
    lines = [
        f"stored for {tenant}: {counts[0]} walker frames, {counts[1]} robot events, "
        f"{counts[2]} status messages; {counts[3]} rejected messages kept for inspection",
    ]
    lines.append("the last complete day (steps, walking, gait speed, robot sessions, coverage):")
    for who, day, steps, walking, speed, sessions, coverage in days:
        lines.append(
            f"  {who:12} {day}  {_fmt(steps, '.0f'):>6} steps  {_fmt(walking, '.1f'):>5} min  "
            f"{_fmt(speed, '.2f'):>5} m/s  {_fmt(sessions, '.0f'):>2} sessions  "
            f"coverage {coverage:.0%}"
        )
    lines.append("fleet (latest status):")
    for device_id, state, battery, seen, suspect in fleet:
        flag = "  clock suspect" if suspect else ""
        lines.append(
            f"  {device_id:24} {state or '?':9} battery {battery or 0:5.1f} %  "
            f"last seen {seen:%Y-%m-%d %H:%M:%S}{flag}"
        )
    return lines


def _fmt(value: float | None, spec: str) -> str:
    """A figure, or "no data" shown as "n/a" (never as 0)."""
    return "n/a" if value is None else format(value, spec)
