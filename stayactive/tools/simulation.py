"""Setting up a simulated municipality: its wards and devices in the registry and the broker.

The simulator itself (firmware_sim) speaks only the wire protocol; this module is the
administrator's side of a simulation: it registers what the simulated world contains.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from firmware_sim.scenario import device_ids
from firmware_sim.scenario_file import Scenario
from ingest.credentials import provision
from stayactive import db, registry
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
    scenario = Scenario(
        tenant=tenant, broker_host=host, broker_port=port, start=start, days=days,
        n_stays=n_stays, seed=seed, effect=effect, wards=wards,
        walkers_per_ward=walkers_per_ward, tz_name=settings.time_zone,
    )  # fmt: skip
    world = scenario.world()
    with db.connect(settings) as conn:
        registry.ensure_tenant(conn, tenant, tenant.title(), settings.time_zone)
        ward_ids = {w: registry.ensure_ward(conn, tenant, SITE, w, start.date()) for w in wards}
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
