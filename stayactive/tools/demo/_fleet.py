"""The simulated fleet as a supervised process (``stayactive demo devices``).

It sends the demo's history through the real broker as fast as the pipeline takes it, then
goes on in real time, like walkers and robots on the wards would; it keeps the care record's
extract current (new admissions, walkers handed out) every few minutes. Restarted (a crash, a
second ``make demo``), it goes on after the last checkpoint in ``fleet.json``, every device with
a new boot counter, so nothing it sent before is sent again under another key.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from firmware_sim import scenario as runner
from firmware_sim.device import DeviceBehaviour
from firmware_sim.pump import Pump
from stayactive import db
from stayactive.settings import Settings
from stayactive.tools.demo import _queries
from stayactive.tools.demo._config import TENANT
from stayactive.tools.demo._provision import renew_device_accounts
from stayactive.tools.demo._records import import_current_extract
from stayactive.tools.demo._state import DemoFiles, FleetCheckpoint, load_scenario
from stayactive.tools.simulation import broker_tls

log = logging.getLogger(__name__)

#: How often the live fleet re-imports the care record's extract.
IMPORT_EVERY_S = 300.0
#: A checkpoint this close to the clock means the history is sent.
LIVE_WITHIN_S = 60.0
#: Messages the broker may hold for ingest before the history waits for it: the broker keeps
#: them in memory (about 9 kB each), and its queue for a session is bounded.
MAX_AHEAD = 10_000


class IngestPace:
    """Keeps the history from running further ahead of ingest than ``max_ahead`` messages:
    the broker acknowledges a message when it has it, long before ingest stored it, so without
    this the broker's memory would hold the difference (hundreds of megabytes). It waits no
    longer once ``stop`` says so."""

    def __init__(
        self,
        pump: Pump,
        metrics_port: int,
        stop: Callable[[], bool],
        max_ahead: int = MAX_AHEAD,
    ) -> None:
        self.pump, self.port, self.stop, self.max_ahead = pump, metrics_port, stop, max_ahead
        self._last: float | None = None
        self._received = 0.0

    def __call__(self) -> None:
        if not self.port:
            return
        while self.pump.log.acknowledged - self._received_now() > self.max_ahead:
            if self.stop():
                return
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                self.pump.flush()
                self.pump.fleet.poll(0.05)

    def _received_now(self) -> float:
        counters = ingest_counters(self.port)
        if counters is not None:
            now = counters[0]
            # A restarted ingest counts from zero again.
            delta = now if self._last is None or now < self._last else now - self._last
            if self._last is not None:
                self._received += delta
            self._last = now
        return self._received


def ingest_counters(port: int) -> tuple[float, float] | None:
    """(messages received, messages waiting) from ingest's /metrics, None if it is away."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    received = waiting = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "stayactive_ingest_messages_total":
                received += sample.value
            elif sample.name == "stayactive_ingest_queue_depth":
                waiting += sample.value
    return received, waiting


def run_fleet(
    settings: Settings, files: DemoFiles, *, stop: Callable[[], bool], say: Callable[[str], None]
) -> None:
    """Send from the last checkpoint to now, then in real time until ``stop``."""
    scenario = load_scenario(files)
    world = scenario.world()
    checkpoint = FleetCheckpoint.load(files)
    world_end_s = scenario.start.timestamp() + scenario.days * 86400.0
    if checkpoint.simulated_until is not None and checkpoint.simulated_until >= world_end_s - 1:
        say(
            f"the simulated period ended on {datetime.fromtimestamp(world_end_s, UTC):%Y-%m-%d};"
            " `stayactive demo --reset` starts a new one"
        )
        checkpoint.live = True  # nothing more to send: what is stored is the whole demo
        checkpoint.save(files)
        while not stop():
            time.sleep(1.0)
        return
    stays, assigned = import_current_extract(settings, files, scenario, world, datetime.now(UTC))
    say(f"care record extract: {stays.summary()}; assignments: {assigned.summary()}")
    devices = runner.make_devices(world, DeviceBehaviour(duplicate_rate=0.01))
    with db.connect(settings) as conn:
        stored = _queries.highest_boots(conn, TENANT)
    for device_id, device in devices.items():
        # Above every boot this device used: a resumed fleet never repeats a (boot, seq) key.
        device.boot = max(checkpoint.boots.get(device_id, 0), stored.get(device_id, 0)) + 1
    if checkpoint.history_from is None:
        checkpoint.history_from = scenario.start.timestamp()
    pump = Pump(
        scenario.broker_host, scenario.broker_port, devices, dict(scenario.passwords),
        tls=broker_tls(scenario),
        # The broker's PUBACK is final: the demo's one ingest worker has a plain subscription,
        # which the broker keeps across its restarts (docs/operations.md, "Ingest workers").
        # Waiting for the backend's ack would hold every message of a rebooted device for the
        # ack's gap time (STAYACTIVE_ACK_GAP_S, 5 minutes): at history speed, gigabytes.
        ack_timeout_s=None,
        on_refused=lambda refused: renew_device_accounts(settings, files, refused, say),
        keep_keys=False,
    )  # fmt: skip
    last_import = time.monotonic()

    def save(done_to_s: float) -> None:
        nonlocal last_import
        checkpoint.simulated_until = done_to_s
        checkpoint.boots = {d: device.boot for d, device in devices.items()}
        was_live, checkpoint.live = checkpoint.live, done_to_s >= time.time() - LIVE_WITHIN_S
        checkpoint.save(files)
        if checkpoint.live and not was_live:
            say("the history is sent: the devices go on in real time")
        if checkpoint.live and time.monotonic() - last_import > IMPORT_EVERY_S:
            import_current_extract(settings, files, scenario, world, datetime.now(UTC))
            last_import = time.monotonic()

    def progress(stats: runner.RunStats) -> None:
        if not checkpoint.live:
            upto = datetime.fromtimestamp(checkpoint.simulated_until or 0, UTC)
            say(
                f"sent up to {upto:%Y-%m-%d}: {stats.messages} messages, {stats.frames} walker "
                f"frames, {stats.outages} outages, {stats.reboots} reboots"
            )

    resumed = checkpoint.simulated_until
    if resumed is not None:
        say(f"resuming after {datetime.fromtimestamp(resumed, UTC):%Y-%m-%d %H:%M:%S} UTC")
    try:
        runner.run(
            world, pump, imperfect=runner.Imperfections(), follow=True, since=resumed,
            checkpoint=save, progress=progress, stop=stop,
            pace=IngestPace(pump, settings.ingest_metrics_port, stop),
        )  # fmt: skip
    finally:
        pump.close()
