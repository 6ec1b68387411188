"""`stayactive demo` on the real services, small: state with the services, a second run that
reuses it, a device re-provisioned behind its back, --reset."""

from __future__ import annotations

import io
import itertools
import json
import stat
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

import ingest
from firmware_sim.records import care_record_rows
from firmware_sim.scenario import STATUS_INTERVAL_S
from firmware_sim.scenario_file import Scenario
from stayactive import db
from stayactive.errors import ConfigurationError, ServiceError
from stayactive.mqtt import check_login
from stayactive.registry import NewDevice
from stayactive.settings import Settings
from stayactive.supervisor import read_state
from stayactive.tools.demo import (
    TENANT,
    DemoConfig,
    DemoFiles,
    DemoReport,
    FleetCheckpoint,
    _run,
    demo_files,
    demo_settings,
    load_logins,
    reset,
    run_demo,
)
from stayactive.tools.demo._records import comparison_records
from tests.fixtures.services import Schema, answers, free_port

SMALL = DemoConfig(residents=4, days=1)


RUNNING: list[DemoThread] = []


@pytest.fixture
def demo_env(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a demo of the test's own: its schema, folder and ports; afterwards its
    runs are stopped and it is reset."""
    mine = settings.model_copy(
        update={
            "demo_schema": f"demo_test_{uuid.uuid4().hex[:8]}",
            "demo_dir": tmp_path / "demo",
            "api_port": free_port(),
            "ingest_metrics_port": free_port(),
            "dashboard_port": free_port(),
        }
    )
    yield mine
    while RUNNING:
        left = RUNNING.pop()
        left.stop_event.set()
        left.thread.join(120)
    files = demo_files(mine)
    if files.root.exists():
        with files.running():
            reset(demo_settings(mine), files, lambda _line: None)


class DemoThread:
    """``run_demo`` in a thread, as `stayactive demo` runs it, until :meth:`stop`."""

    def __init__(self, settings: Settings, config: DemoConfig | None = None) -> None:
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.report: DemoReport | None = None
        self.code: int | None = None
        self.error: BaseException | None = None
        self.output = io.StringIO()
        console = Console(file=self.output, width=120)

        def on_ready(report: DemoReport) -> None:
            self.report = report
            self.ready.set()

        def work() -> None:
            try:
                self.code = run_demo(
                    settings, config=config, wipe=False, stop=self.stop_event, console=console,
                    on_ready=on_ready,
                )  # fmt: skip
            except BaseException as exc:  # handed to the test's thread
                self.error = exc
            finally:
                self.ready.set()

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()
        RUNNING.append(self)

    def wait_ready(self, timeout_s: float) -> DemoReport:
        assert self.ready.wait(timeout_s), f"not ready in {timeout_s} s:\n{self.output.getvalue()}"
        if self.error is not None:
            raise self.error
        assert self.report is not None, self.output.getvalue()
        return self.report

    def stop(self) -> int:
        self.stop_event.set()
        self.thread.join(120)
        if self in RUNNING:
            RUNNING.remove(self)
        assert not self.thread.is_alive(), "the demo did not stop within 120 s"
        if self.error is not None:
            raise self.error
        assert self.code is not None
        return self.code


def api(settings: Settings, path: str, token: str | None = None, form: dict[str, str] | None = None
        ) -> Any:  # fmt: skip
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{settings.api_port}/api/v1{path}", data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def log_in(settings: Settings, username: str, password: str) -> str:
    form = {"username": username, "password": password}
    return str(api(settings, "/auth/token", form=form)["access_token"])


def stored_keys(demo: Settings) -> set[tuple[str, str, int, int]]:
    """(table, device, boot, seq) of every raw row of the demo tenant."""
    keys: set[tuple[str, str, int, int]] = set()
    with db.connect(demo) as conn:
        for table in ("walker_frames", "robot_events", "device_status"):
            rows = conn.execute(
                f"SELECT device_id, boot, seq FROM {table} WHERE tenant_id = %s", (TENANT,)
            ).fetchall()
            keys |= {(table, d, int(b), int(q)) for d, b, q in rows}
    return keys


def status_times(demo: Settings, since_s: float, until_s: float) -> list[float]:
    """Epoch seconds of the fleet's statuses (not the broker's last wills) in a window."""
    with db.connect(demo) as conn:
        rows = conn.execute(
            """SELECT DISTINCT extract(epoch FROM time)::float8 AS t FROM device_status
               WHERE tenant_id = %s AND seq > 0
                 AND time BETWEEN to_timestamp(%s) AND to_timestamp(%s) ORDER BY t""",
            (TENANT, since_s, until_s),
        ).fetchall()
    return [float(r[0]) for r in rows]


def last_seen_after(settings: Settings, token: str, moment: datetime) -> datetime | None:
    """The newest ``last_seen_at`` of the API's fleet view if it is after ``moment``."""
    seen = [datetime.fromisoformat(d["last_seen_at"]) for d in api(settings, "/fleet", token)]
    newest = max(seen)
    return newest if newest > moment else None


# Two runs, then up to a status interval (5 min) for a live message and again for a status
# after the first run's checkpoint: more than the suite's 300 s per test on a slow day.
@pytest.mark.timeout(900)
def test_demo_first_run_second_run_and_a_device_reprovisioned_elsewhere(
    demo_env: Settings,
) -> None:
    files = demo_files(demo_env)
    demo = demo_settings(demo_env)

    first = DemoThread(demo_env, SMALL)
    report = first.wait_ready(420)
    assert report.first_run
    print(f"first run ready after {report.ready_after_s:.0f} s")
    # State with the services, secrets private.
    assert stat.S_IMODE(files.root.stat().st_mode) == 0o700
    for secret in (files.scenario, files.logins, files.fleet):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    scenario = Scenario.load(files.scenario)
    assert len(scenario.passwords) == 8  # 4 walkers and 4 robots
    logins = load_logins(files)
    assert set(logins) == {"admin", "pleier.helsehuset", "pleier.lassa", "okonomi"}
    assert logins["admin"] in first.output.getvalue()  # printed once, on the first run
    # The people can log in at the API, each with their own scope.
    me = api(demo_env, "/me", log_in(demo_env, "pleier.lassa", logins["pleier.lassa"]))
    assert me["role"] == "care_staff" and [w["name"] for w in me["wards"]] == ["lassa-k1"]
    finance = api(demo_env, "/me", log_in(demo_env, "okonomi", logins["okonomi"]))
    assert finance["role"] == "finance" and finance["tenant_id"] == TENANT
    # The dashboard is up: the supervisor waited for Streamlit's health.
    assert answers(demo_env.dashboard_port, "/_stcore/health")
    with db.connect(demo) as conn:
        row = conn.execute("SELECT count(*) FROM device_status").fetchone()
        assert row is not None and row[0] > 0  # the devices' history went through ingest
    # The API answers with the devices' data: every device in the fleet view, each one seen.
    fleet = api(demo_env, "/fleet", log_in(demo_env, "admin", logins["admin"]))
    assert sorted(d["device_id"] for d in fleet) == sorted(scenario.passwords)
    assert all(d["last_seen_at"] is not None for d in fleet), fleet
    assert first.stop() == 0
    kept = stored_keys(demo)
    assert not any(p["running"] for p in read_state(files.logs)["processes"].values())
    before = FleetCheckpoint.load(files)
    assert before.live and before.simulated_until is not None

    # Another clone's demo re-provisions a walker: the password kept here is stale now.
    walker = next(d for d in scenario.passwords if d.startswith("walker-"))
    ingest.provision(demo, TENANT, [NewDevice(walker, "walker", f"SIM-{walker}")])
    host, port = demo.mqtt_host_port()
    with pytest.raises(ServiceError, match="Not authorized"):
        check_login(host, port, walker, scenario.passwords[walker], client_id=walker)

    second = DemoThread(demo_env)
    report = second.wait_ready(180)
    assert not report.first_run
    print(
        f"second run up after {report.up_after_s:.0f} s, ready after {report.ready_after_s:.0f} s"
    )
    assert report.ready_after_s < 60, f"second run up after {report.ready_after_s:.0f} s"
    # Live: with the history in, the devices go on publishing and the API shows it (a status
    # every 5 minutes per device, walker frames as residents walk).
    ready_at = datetime.now(UTC)
    admin = log_in(demo_env, "admin", logins["admin"])
    deadline = time.monotonic() + STATUS_INTERVAL_S + 60
    newest = None
    while newest is None:
        assert time.monotonic() < deadline, "no live message reached the API in 6 minutes"
        time.sleep(2.0)
        newest = last_seen_after(demo_env, admin, ready_at)
    print(f"a live message reached the API {(newest - ready_at).total_seconds():.0f} s after ready")
    # and a status after the first run's last checkpoint is stored (for the gap check below).
    assert before.simulated_until is not None
    while not status_times(demo, before.simulated_until, time.time() + 3600):
        assert time.monotonic() < deadline, "no status after the restart in 6 minutes"
        time.sleep(2.0)
    assert logins["admin"] not in second.output.getvalue()  # not printed again
    renewed = Scenario.load(files.scenario).passwords[walker]
    assert renewed != scenario.passwords[walker]
    devices_log = (files.logs / "devices.log").read_text()
    assert devices_log.count("re-provisioned them and going on") == 1
    assert second.stop() == 0
    check_login(host, port, walker, renewed, client_id=walker)
    after = FleetCheckpoint.load(files)
    assert after.simulated_until is not None and after.simulated_until >= before.simulated_until
    # Every device came back with a boot counter above the one it had.
    assert all(after.boots[d] > before.boots[d] for d in before.boots)
    # Stopping and starting again lost nothing: every row stored before is still there, and the
    # fleet's statuses (every 5 minutes) run on across the restart without a missing one.
    assert kept <= stored_keys(demo)
    assert before.simulated_until is not None and after.simulated_until is not None
    times = status_times(demo, before.simulated_until - 1800, after.simulated_until)
    assert times[0] < before.simulated_until < times[-1], (times, before.simulated_until)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= STATUS_INTERVAL_S + 60, f"a gap of {max(gaps):.0f} s in the statuses"


def test_a_second_demo_on_the_same_services_is_refused_and_sizes_must_match(
    demo_env: Settings,
) -> None:
    files = demo_files(demo_env)
    with files.running(), pytest.raises(ServiceError, match="already running"):
        run_demo(
            demo_env, config=None, wipe=False, stop=threading.Event(),
            console=Console(file=io.StringIO()),
        )  # fmt: skip
    assert files.running_elsewhere() is None
    # A provisioned demo of another size is not silently reused.
    from stayactive.tools.demo._run import _check_size
    from stayactive.tools.demo._state import DemoRecord

    record = DemoRecord(SMALL, "demo", "2026-01-01T00:00:00+00:00")
    _check_size(record, None)
    _check_size(record, SMALL)
    with pytest.raises(ConfigurationError, match="--reset"):
        _check_size(record, DemoConfig(residents=8, days=1))
    # One made by an older version, whose care records were others: not mixed with these.
    with pytest.raises(ConfigurationError, match=r"older version.*--reset"):
        _check_size(DemoRecord(SMALL, "demo", "2026-01-01T00:00:00+00:00", records=1), None)


def test_reset_drops_the_schema_the_broker_accounts_and_the_files(demo_env: Settings) -> None:
    from stayactive.tools.demo._provision import provision

    files = demo_files(demo_env)
    demo = demo_settings(demo_env)
    files.prepare()
    db.migrate(demo)
    provision(demo, files, SMALL)
    scenario = Scenario.load(files.scenario)
    host, port = demo.mqtt_host_port()
    device, password = next(iter(scenario.passwords.items()))
    check_login(host, port, device, password, client_id=device)
    said: list[str] = []
    with files.running():
        reset(demo, files, said.append)
    with pytest.raises(ServiceError, match="Not authorized"):
        check_login(host, port, device, password, client_id=device)
    with db.connect(demo, schema="public") as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (demo.database_schema,)
        ).fetchone()
    assert exists is None
    assert [p.name for p in files.root.iterdir()] == ["demo.lock"]
    assert len(said) == 1 and "8 device accounts" in said[0]


def test_demo_config_limits() -> None:
    assert DemoConfig().walkers_per_ward == 10
    with pytest.raises(ValueError, match="--residents"):
        DemoConfig(residents=3)
    with pytest.raises(ValueError, match="--days"):
        DemoConfig(days=0)


def test_the_ready_report_counts_past_the_statement_timeout(schema: Schema) -> None:
    from stayactive.tools.demo._run import _ready

    """The closing count of a full demo's frames passed the 30 s statement timeout while
    analytics computed the history, and the demo ended in a traceback after 20 minutes. The
    count has no limit now: with a 1 ms timeout it still completes."""
    hurried = schema.settings.model_copy(update={"database_statement_timeout_s": 0.001})
    out = io.StringIO()
    _ready(Console(file=out, width=200), hurried, DemoReport(True, 1.0, 2.0))
    assert "stored: 0 walker frames" in out.getvalue(), out.getvalue()


def test_comparison_stays_open_at_go_live_are_discharged_when_their_time_comes() -> None:
    tz = ZoneInfo("Europe/Oslo")
    go_live = datetime(2026, 6, 1, tzinfo=tz)
    config = DemoConfig(residents=8, days=30)
    scenario = Scenario(
        tenant=TENANT, broker_host="localhost", broker_port=1883, start=go_live,
        days=config.world_days, n_stays=config.n_stays, wards=config.wards,
        walkers_per_ward=config.walkers_per_ward, tz_name=tz.key,
    )  # fmt: skip
    world = scenario.world()

    def open_stays(at: datetime) -> set[str]:
        rows = care_record_rows(comparison_records(scenario, world, go_live, at))
        assert rows and all(datetime.fromisoformat(r["admitted_at"]) < go_live for r in rows)
        return {r["external_ref"] for r in rows if not r["discharged_at"]}

    at_go_live = open_stays(go_live)
    assert len(at_go_live) >= 3  # the wards were not empty the day the devices came
    # Three months on, the care record has discharged them: none is left on the ward for ever.
    assert open_stays(go_live + timedelta(days=90)) == set()


def test_the_history_says_how_far_it_is_in_a_log_where_no_bar_is_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = DemoFiles(tmp_path)
    now = time.time()
    FleetCheckpoint(simulated_until=now - 20 * 86400, history_from=now - 60 * 86400).save(files)
    monkeypatch.setattr(_run, "_PLAIN_EVERY_S", 0.5)
    out = io.StringIO()
    stop = threading.Event()
    threading.Timer(3.0, stop.set).start()
    no_crash = SimpleNamespace(failing=None)
    with _run._progress(Console(file=out, width=120)) as progress:
        assert not _run._follow_history(progress, files, no_crash, stop)  # type: ignore[arg-type]
    assert "history: sent up to " in out.getvalue()
    assert "40 of 60 days" in out.getvalue(), out.getvalue()
