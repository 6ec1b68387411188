"""The whole pipeline for the end-to-end tests: a small seeded world's devices → the real
broker → ingest → TimescaleDB → analytics → the API, with the processes run by the real
supervisor (`stayactive run`), as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

import ingest
from analytics.runner import SAFETY_LAG, AnalyticsRunner
from firmware_sim import scenario as runner
from firmware_sim.device import DeviceBehaviour, Outgoing
from firmware_sim.faults import FAULTS
from firmware_sim.pump import Pump
from firmware_sim.records import records_from_world, write_assignments, write_care_records
from firmware_sim.scenario_file import Scenario
from firmware_sim.transport import Publication
from firmware_sim.world import excursion_truth
from stayactive import auth, db
from stayactive.records import import_assignments, import_care_records
from stayactive.settings import Settings
from stayactive.supervisor import read_state
from stayactive.tools.simulation import SITE, create_scenario
from tests.fixtures.browser import log_in, settled, table_rows, tablet_page
from tests.fixtures.ingest import clear_retained_status
from tests.fixtures.messages import example
from tests.fixtures.services import answers, free_port
from tests.fixtures.streams import wait_until, wait_while_progressing

TENANT = "e2e"
WARD = "e2e-k1"
ADMIN, ADMIN_PASSWORD = "e2e-admin", "e2e-admin-password"
#: A boot counter no simulated device reaches: the injected faults' keys shadow no good message.
FAULT_BOOT = 900_000
#: Faults that need no broker-side limit (an oversized payload is the broker's business first).
INJECTED = ("truncated", "wrong_version", "out_of_range", "device_id_mismatch",
            "future_timestamps", "unequal_arrays", "wrong_channel", "missing_field")  # fmt: skip


@dataclass(frozen=True)
class DayFigures:
    """Steps and gait speed of one resident-day."""

    steps: int
    gait_speed_mps: float | None


@dataclass
class Pipeline:
    """One run of the pipeline on a schema of its own (see the module docstring)."""

    settings: Settings
    workdir: Path
    seed: int = 11
    proc: subprocess.Popen[str] | None = None
    scenario: Scenario | None = None
    pump_log: Any = None
    stats: runner.RunStats | None = None
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.worker_id, self.share_group = f"e2e-ingest-{tag}", f"e2e{tag}"
        self.settings = self.settings.model_copy(
            update={
                "ingest_metrics_port": free_port(), "api_port": free_port(),
                "dashboard_port": free_port(),
                "analytics_interval_s": 2.0,
                # A reboot's first messages are a gap in the ack watermark until this passes.
                "ack_gap_s": 2.0,
            }
        )  # fmt: skip
        self.logs = self.workdir / "logs"

    # --- set-up --------------------------------------------------------------------------

    def provision(self) -> Scenario:
        """Two past days on one ward: three walkers, a robot; stays, assignments, an admin."""
        tz = ZoneInfo(self.settings.time_zone)
        yesterday = datetime.now(tz) - timedelta(days=1)
        self.scenario = create_scenario(
            self.settings, self.workdir / "scenario.json", tenant=TENANT, days=2, n_stays=6,
            seed=self.seed, effect=0.5, wards=(WARD,), walkers_per_ward=3, end=yesterday,
        )  # fmt: skip
        world = self.scenario.world()
        period_end = self.scenario.start + timedelta(days=self.scenario.days)
        records = records_from_world(world, extract_at=period_end, site=SITE)
        write_care_records(records, self.workdir / "stays.csv")
        write_assignments(records, self.workdir / "assignments.csv")
        with db.connect(self.settings) as conn:
            import_care_records(conn, TENANT, self.workdir / "stays.csv")
            import_assignments(conn, TENANT, self.workdir / "assignments.csv")
            conn.commit()
        # In a thread of its own: Playwright's sync API (the browser test) runs an event loop
        # in this one.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, self._admin()).result()
        return self.scenario

    async def _admin(self) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self.settings.dsn(), **db.connection_options(self.settings)
        )
        async with conn:
            await auth.add_user(
                conn, TENANT, ADMIN, "admin", auth.hash_password(ADMIN_PASSWORD), []
            )

    def start(self, *, dashboard: bool = False) -> None:
        """`stayactive run` on this schema; returns when ingest and the API (and with
        ``dashboard``, the dashboard) answer. Without it, the dashboard is not started."""
        only = ["ingest", "analytics", "api", *(["dashboard"] if dashboard else [])]
        command = [
            sys.executable, "-m", "stayactive", "run", "--log-dir", str(self.logs),
            "--worker-id", self.worker_id, "--share-group", self.share_group,
            "--end-session-on-exit", *(a for name in only for a in ("--only", name)),
        ]  # fmt: skip
        env = {**os.environ, **self.settings.as_environment()}
        self.proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: answers(self.settings.ingest_metrics_port, "/health"), 90,
                   "ingest healthy")  # fmt: skip
        wait_until(lambda: answers(self.settings.api_port, "/healthz"), 90, "API healthy")
        if dashboard:
            wait_until(lambda: answers(self.settings.dashboard_port, "/_stcore/health"), 90,
                       "dashboard healthy")  # fmt: skip

    @property
    def dashboard_url(self) -> str:
        """The supervised dashboard's address."""
        return f"http://127.0.0.1:{self.settings.dashboard_port}"

    def stop(self) -> str:
        """Ctrl-C to the supervisor; its standard error."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err

    def close(self) -> None:
        """Stop the processes, clear what the devices left retained on the broker (the next
        pipeline has the same device ids), and remove their broker accounts."""
        self.stop()
        if self.scenario is None:
            return
        clear_retained_status(self.settings, dict(self.scenario.passwords))
        ingest.remove(self.settings, list(self.scenario.passwords))

    def pid(self, name: str) -> int | None:
        """The pid of a supervised process (None while it waits to be restarted)."""
        pid = read_state(self.logs)["processes"][name]["pid"]
        return None if pid is None else int(pid)

    # --- the devices ---------------------------------------------------------------------

    def send(
        self,
        *,
        behaviour: DeviceBehaviour,
        imperfect: runner.Imperfections,
        inject_faults: bool = False,
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        """The world's two days through the broker; with ``inject_faults``, each device also
        sends one of each malformed message; ``meanwhile`` runs when half the days are sent."""
        assert self.scenario is not None
        world = self.scenario.world()
        devices = runner.make_devices(world, behaviour)
        host, port = self.settings.mqtt_host_port()
        pump = Pump(
            host, port, devices, dict(self.scenario.passwords), max_in_flight=20,
            ack_timeout_s=5.0,
        )  # fmt: skip

        def progress(stats: runner.RunStats) -> None:
            if meanwhile is not None and stats.days == 1:
                meanwhile()

        try:
            self.stats = runner.run(world, pump, imperfect=imperfect, progress=progress)
            if inject_faults:
                self._inject(pump)
            pump.settle(timeout_s=180)  # until the backend's ack covers every message
        finally:
            pump.close()
        self.pump_log = pump.log

    def _inject(self, pump: Pump) -> None:
        now = datetime.now(UTC)
        for device_id in pump.devices:
            for seq, name in enumerate(INJECTED, start=1):
                base = "walker-telemetry.json" if device_id.startswith("walker") else "status.json"
                msg = example(base, device_id, seq=seq, now=now - timedelta(minutes=5))
                msg["boot"] = FAULT_BOOT
                try:
                    case = FAULTS[name](msg, "json")
                except ValueError:  # e.g. unequal arrays needs telemetry
                    continue
                item = Outgoing(now.timestamp(), Publication(case.topic, case.payload, 1, False),
                                "fault", FAULT_BOOT, seq, fault=case.expected_reason)  # fmt: skip
                pump.offer(device_id, item)
                self.injected[case.expected_reason] += 1

    # --- waiting for the pipeline --------------------------------------------------------

    def stored_keys(self) -> set[tuple[str, int, int]]:
        """(device, boot, seq) of every stored message of the tenant."""
        with db.connect(self.settings) as conn:
            rows = conn.execute(
                """SELECT device_id, boot, seq FROM walker_frames WHERE tenant_id = %(t)s
                   UNION SELECT device_id, boot, seq FROM robot_events WHERE tenant_id = %(t)s
                   UNION SELECT device_id, boot, seq FROM device_status
                         WHERE tenant_id = %(t)s AND seq > 0""",
                {"t": TENANT},
            ).fetchall()
        return {(str(d), int(b), int(s)) for d, b, s in rows}

    def wait_stored(self, stall_s: float = 60.0) -> None:
        """Until every acknowledged message is stored; fails when none more arrives for
        ``stall_s`` (a loss), however long a loaded machine takes while they still come."""
        expected = self.pump_log.messages
        wait_while_progressing(
            lambda: len(expected - self.stored_keys()), stall_s=stall_s,
            what=f"every acknowledged message stored ({len(expected)})",
        )  # fmt: skip

    def compute(self) -> None:
        """Analytics over everything stored: once the runner's safety lag has passed, one
        pass (it waits for the supervised follower's pass in hand)."""
        with db.connect(self.settings) as conn:
            row = conn.execute("SELECT max(stored_at) FROM walker_frames").fetchone()
        last = row[0] if row else None
        if last is not None:
            wait_s = (last + SAFETY_LAG - datetime.now(UTC)).total_seconds() + 1
            time.sleep(max(0.0, wait_s))
        AnalyticsRunner(self.settings).run_once(lock_wait_s=120)

    # --- reading the results -------------------------------------------------------------

    def rejects(self) -> Counter[str]:
        """Reject reasons of this tenant's devices' messages (by the topic's device id)."""
        assert self.scenario is not None
        topics = [f"stayactive/v1/{d}/%" for d in self.scenario.passwords]
        with db.connect(self.settings) as conn:
            rows = conn.execute(
                "SELECT reason, count(*) FROM ingest_rejects WHERE topic LIKE ANY(%s) "
                "GROUP BY reason",
                (topics,),
            ).fetchall()
        return Counter({str(r): int(n) for r, n in rows})

    def frame_times(self) -> Counter[tuple[str, datetime]]:
        """How often each (device, time) of the tenant's walker frames is stored: the data as
        stored, whatever boot and sequence number carried it (a replay under a new key would
        count 2)."""
        with db.connect(self.settings) as conn:
            rows = conn.execute(
                "SELECT device_id, time, count(*) FROM walker_frames WHERE tenant_id = %s "
                "GROUP BY device_id, time",
                (TENANT,),
            ).fetchall()
        return Counter({(str(d), t): int(n) for d, t, n in rows})

    def analytics_days(self) -> dict[tuple[str, date], DayFigures]:
        """The analytics result: steps and median gait speed per resident-day with data."""
        with db.connect(self.settings) as conn:
            rows = conn.execute(
                """SELECT r.pseudonym, d.day, d.steps_n, d.gait_speed_median_mps
                   FROM resident_days d JOIN residents r USING (resident_id)
                   WHERE d.tenant_id = %s AND d.steps_n IS NOT NULL""",
                (TENANT,),
            ).fetchall()
        return {(str(p), day): DayFigures(int(s), g) for p, day, s, g in rows}

    def api_overview(self, day: date) -> dict[str, DayFigures]:
        """The ward overview of ``day`` as the API gives it to care staff: per pseudonym."""
        token = self._token()
        wards = self._get("/wards", token)
        ward_id = next(w["ward_id"] for w in wards if w["name"] == WARD)
        doc = self._get(f"/wards/{ward_id}/overview?date={day.isoformat()}", token)
        out: dict[str, DayFigures] = {}
        for row in doc["residents"]:
            if row["today"]["steps"] is None:
                continue
            speed = (
                row["gait"]["speed_mps"] if row["gait"]["speed_date"] == day.isoformat() else None
            )
            out[row["pseudonym"]] = DayFigures(int(row["today"]["steps"]), speed)
        return out

    def dashboard_overview(self, browser: Any, day: date) -> dict[str, DayFigures]:
        """The ward overview of ``day`` as the dashboard shows it in the browser (logged in as
        the admin, the table read by its own CSV download): per pseudonym, the steps and the
        gait speed as printed ("1 925 (+12 %)", "0,52 m/s →") turned back into numbers."""
        context, page = tablet_page(browser)
        try:
            log_in(page, f"{self.dashboard_url}/?date={day.isoformat()}", ADMIN, ADMIN_PASSWORD)
            settled(page, "Trykk på en rad for å åpne beboeren", timeout_s=60)
            rows = table_rows(page)
        finally:
            context.close()
        out: dict[str, DayFigures] = {}
        for row in rows:
            if row["steps"] == "Ingen data":
                continue
            speed = re.match(r"(\d+,\d+)\s*m/s", row["gait"])
            assert speed or not row["gait"], f"gait speed as shown: {row['gait']!r}"
            out[row["resident"]] = DayFigures(
                # "1 925": today's steps so far (the change is of yesterday, in its own column;
                # an older "1 925 (+12 %)" reads the same)
                int(re.sub(r"\D", "", row["steps"].split("(")[0])),
                float(speed.group(1).replace(",", ".")) if speed else None,
            )
        return out

    def _token(self) -> str:
        form = urllib.parse.urlencode({"username": ADMIN, "password": ADMIN_PASSWORD}).encode()
        url = f"http://127.0.0.1:{self.settings.api_port}/api/v1/auth/token"
        with urllib.request.urlopen(url, form, timeout=10) as response:
            return str(json.loads(response.read())["access_token"])

    def _get(self, path: str, token: str) -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.settings.api_port}/api/v1{path}")
        request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read())

    def truth(self) -> dict[tuple[str, date], DayFigures]:
        """The simulator's truth: every step each resident took with the walker, per local
        day, and the median of their bouts' mean speeds."""
        assert self.scenario is not None
        world = self.scenario.world()
        steps: Counter[tuple[str, date]] = Counter()
        speeds: dict[tuple[str, date], list[float]] = {}
        for day in world.local_dates():
            for device_id in world.walkers:
                wd = world.walker_day(device_id, day)
                if wd.plan is None:
                    continue
                for exc in wd.plan.excursions:
                    truth = excursion_truth(exc, wd.plan.stay.resident, world.config.fs_hz)
                    key = (truth.pseudonym, day)
                    steps[key] += len(truth.steps)
                    speeds.setdefault(key, []).extend(b.mean_speed_mps for b in truth.bouts)
        return {
            k: DayFigures(n, statistics.median(speeds[k]) if speeds.get(k) else None)
            for k, n in steps.items()
            if n > 0
        }
