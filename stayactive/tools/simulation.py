"""Simulated municipalities: set one up, run its devices, write its care-record extract.

The simulator itself (firmware_sim) speaks only the wire protocol; this module is the
administrator's side of a simulation (it registers what the simulated world contains and gives
the devices broker accounts) and the operator's (it runs the devices against the broker, and
writes the extract a care record system would). ``stayactive sim …`` and
``stayactive records simulate`` call it.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from firmware_sim import scenario as runner
from firmware_sim.device import DeviceBehaviour
from firmware_sim.faults import FAULTS
from firmware_sim.pump import Pump
from firmware_sim.records import (
    CareRecordConfig,
    simulate_care_records,
    write_assignments,
    write_care_records,
)
from firmware_sim.scenario import device_ids
from firmware_sim.scenario_file import Scenario
from ingest import provision
from stayactive import db, registry
from stayactive.errors import ConfigurationError
from stayactive.mqtt import tls_context
from stayactive.registry import NewDevice
from stayactive.settings import Settings

log = logging.getLogger(__name__)

SITE = "Simulated nursing home"


def create_scenario(
    settings: Settings,
    path: Path,
    *,
    tenant: str,
    days: int,
    n_stays: int,
    seed: int,
    effect: float,
    wards: tuple[str, ...],
    walkers_per_ward: int,
    end: datetime | None = None,
) -> Scenario:
    """Register the world's wards and devices, give each device broker credentials, and write
    the scenario file. The period ends at the local midnight after ``end`` (default: today)."""
    tz = ZoneInfo(settings.time_zone)
    last = (end or datetime.now(tz)).astimezone(tz).date()
    start = datetime.combine(last - timedelta(days=days - 1), datetime.min.time(), tz)
    host, port = settings.mqtt_host_port()
    ca_file = settings.mqtt_tls_ca()
    scenario = Scenario(
        tenant=tenant, broker_host=host, broker_port=port,
        broker_ca_file=None if ca_file is None else str(ca_file), start=start, days=days,
        n_stays=n_stays, seed=seed, effect=effect, wards=wards,
        walkers_per_ward=walkers_per_ward, tz_name=settings.time_zone,
    )  # fmt: skip
    world = scenario.world()
    with db.connect(settings) as conn:
        registry.ensure_tenant(conn, tenant, tenant.title(), settings.time_zone)
        ward_ids = {
            w: registry.ensure_ward(conn, tenant, SITE, w, start.date()).ward_id for w in wards
        }
        conn.commit()
    ward_of = {**world.walker_ward, **world.robots}
    devices = [
        NewDevice(d, kind, f"SIM-{d}", ward_ids[ward_of[d]])
        for d, kind in device_ids(world).items()
    ]
    scenario.passwords = provision(settings, tenant, devices)
    scenario.save(path)
    log.info("scenario with %d devices written to %s", len(devices), path)
    return scenario


@dataclass(frozen=True)
class RunOptions:
    """How the simulated devices behave during :func:`run_scenario`."""

    encoding: str = "json"  # json | cbor
    duplicate_rate: float = 0.01  # share of messages sent twice
    fault_rate: float = 0.0  # share of messages replaced by a fault
    outages_per_day: float = 0.3  # connectivity gaps per device-day
    reboots_per_day: float = 0.05
    follow: bool = False  # after the history up to now, go on in real time
    truth: Path | None = None  # where to write the ground truth (JSON Lines)


@dataclass(frozen=True)
class ScenarioRun:
    """What :func:`run_scenario` sent."""

    stats: runner.RunStats
    n_devices: int
    n_acknowledged: int  # unique messages the broker acknowledged

    def summary(self) -> str:
        """One line for the person who ran it."""
        s = self.stats
        return (
            f"sent {s.messages} messages ({s.frames} frames) of {s.days} days from "
            f"{self.n_devices} devices; acknowledged by the broker: {self.n_acknowledged} unique"
        )


def broker_tls(scenario: Scenario) -> ssl.SSLContext | None:
    """The TLS context the scenario's devices connect with (None: plain MQTT)."""
    if scenario.broker_ca_file is None:
        return None
    return tls_context(Path(scenario.broker_ca_file))


def run_scenario(
    path: Path,
    options: RunOptions,
    *,
    say: Callable[[str], None],
    stop: Callable[[], bool] = lambda: False,
) -> ScenarioRun:
    """Send the days of the scenario in ``path`` through the broker; ``say`` gets a progress
    line per simulated day. ``stop`` is polled, so a signal handler can end the run."""
    if options.encoding not in ("json", "cbor"):
        raise ConfigurationError("encoding must be json or cbor")
    loaded = Scenario.load(path)
    behaviour = DeviceBehaviour(
        encoding="json" if options.encoding == "json" else "cbor",
        duplicate_rate=options.duplicate_rate,
        fault_rate=options.fault_rate,
        fault_kinds=tuple(FAULTS),
    )
    world = loaded.world()
    devices = runner.make_devices(world, behaviour)
    pump = Pump(
        loaded.broker_host, loaded.broker_port, devices, loaded.passwords, tls=broker_tls(loaded)
    )

    def progress(stats: runner.RunStats) -> None:
        say(
            f"day {stats.days}/{loaded.days}: {stats.messages} messages, {stats.frames} frames, "
            f"{stats.faults} faults, {stats.outages} outages, {stats.reboots} reboots"
        )

    imperfect = runner.Imperfections(
        outages_per_day=options.outages_per_day, reboots_per_day=options.reboots_per_day
    )
    try:
        stats = runner.run(
            world, pump, imperfect=imperfect, follow=options.follow, truth=options.truth,
            progress=progress, stop=stop,
        )  # fmt: skip
    finally:
        pump.close()
    return ScenarioRun(stats, len(devices), len(pump.log.messages))


@dataclass(frozen=True)
class CareRecordExtract:
    """The files :func:`write_care_record_extract` wrote."""

    stays_csv: Path
    assignments_csv: Path
    n_stays: int
    n_assignments: int
    go_live_on: date
    extract_at: datetime

    def summary(self) -> str:
        """One line for the person who ran it."""
        return (
            f"wrote {self.n_stays} stays to {self.stays_csv} and {self.n_assignments} "
            f"assignments to {self.assignments_csv}; go-live {self.go_live_on}, extract taken "
            f"{self.extract_at.isoformat()}"
        )


def write_care_record_extract(
    out: Path,
    *,
    start: datetime,
    before_days: int,
    after_days: int,
    device_ward_stays: int,
    comparison_ward_stays: int,
    effect: float,
    seed: int,
) -> CareRecordExtract:
    """Write a simulated care-record extract (``stays.csv``) and device assignments
    (``assignments.csv``) into ``out``: a historical period without devices from ``start``,
    then the devices' go-live. ``start`` is aware; its zone is the municipality's."""
    assert isinstance(start.tzinfo, ZoneInfo), "start needs a ZoneInfo time zone"
    config = CareRecordConfig(
        start=start,
        before_days=before_days,
        after_days=after_days,
        device_ward_stays=device_ward_stays,
        comparison_ward_stays=comparison_ward_stays,
        effect=effect,
        seed=seed,
        tz_name=start.tzinfo.key,
    )
    records = simulate_care_records(config)
    stays_csv, assignments_csv = out / "stays.csv", out / "assignments.csv"
    n_stays = write_care_records(records, stays_csv)
    n_assignments = write_assignments(records, assignments_csv)
    return CareRecordExtract(
        stays_csv, assignments_csv, n_stays, n_assignments, records.go_live_on, config.extract_at
    )
