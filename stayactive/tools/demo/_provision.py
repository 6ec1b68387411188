"""Provisioning the demo tenant, as a municipality's IT would on day one: the tenant, its sites
and wards, the walkers and robots with their broker accounts, and the people who log in.

Everything goes through the product's own functions (``registry``, ``ingest.provision``,
``auth``), into the demo's schema; the secrets go to the demo's folder (:mod:`._state`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow

import ingest
from firmware_sim.scenario import device_ids
from firmware_sim.scenario_file import Scenario
from stayactive import auth, db, registry
from stayactive.registry import NewDevice
from stayactive.reports.savings_store import choose_design
from stayactive.settings import Settings
from stayactive.tools.demo._config import (
    TENANT,
    TENANT_NAME,
    USERS,
    WARDS,
    WARMUP_DAYS,
    DemoConfig,
)
from stayactive.tools.demo._state import (
    DemoFiles,
    DemoRecord,
    FleetCheckpoint,
    load_scenario,
    save_logins,
    save_scenario,
)

log = logging.getLogger(__name__)

Say = Callable[[str], None]
DESIGN_REASON = (
    "alle fire korttidsavdelingene fikk utstyr samtidig, og ingen avdeling uten utstyr "
    "går parallelt; sammenligningen er derfor med de samme avdelingene året før oppstart"
)


def demo_settings(settings: Settings) -> Settings:
    """The settings with the demo's schema: every demo process uses these."""
    return settings.model_copy(update={"database_schema": settings.demo_schema})


def provision(settings: Settings, files: DemoFiles, config: DemoConfig) -> dict[str, str]:
    """Create the demo tenant in ``settings``' schema (the demo's); return the people's
    passwords. Safe to run again after an interruption (everything is created or updated)."""
    tz = ZoneInfo(settings.time_zone)
    today = datetime.now(tz).date()
    go_live = datetime.combine(today - timedelta(days=config.days - 1), datetime.min.time(), tz)
    start = datetime.combine(go_live.date() - timedelta(days=WARMUP_DAYS), datetime.min.time(), tz)
    host, port = settings.mqtt_host_port()
    ca_file = settings.mqtt_tls_ca()
    scenario = Scenario(
        tenant=TENANT, broker_host=host, broker_port=port,
        broker_ca_file=None if ca_file is None else str(ca_file), start=start,
        days=config.world_days,
        n_stays=config.n_stays, seed=config.seed, effect=0.5, intervention=1.0,
        wards=config.wards, walkers_per_ward=config.walkers_per_ward, tz_name=tz.key,
    )  # fmt: skip
    with db.connect(settings) as conn:
        registry.ensure_tenant(conn, TENANT, TENANT_NAME, tz.key)
        devices = _fleet_devices(conn, scenario, go_live)
        conn.commit()
    scenario.passwords = ingest.provision(settings, TENANT, devices)
    passwords = {u.username: secrets.token_urlsafe(12) for u in USERS}
    asyncio.run(_add_users(settings, passwords))
    with db.connect(settings) as conn:
        choose_design(conn, TENANT, "historical", chosen_by="demo", reason=DESIGN_REASON)
        conn.commit()
    save_scenario(files, scenario)
    save_logins(files, passwords)
    # The devices send from go-live on (the world's warm-up before it is never sent).
    FleetCheckpoint(simulated_until=go_live.timestamp(), history_from=go_live.timestamp()).save(
        files
    )
    record = DemoRecord(config, settings.database_schema, datetime.now(UTC).isoformat())
    record.save(files)  # last: its presence means "provisioned"
    log.info("demo tenant %s: %d devices, %d users", TENANT, len(devices), len(passwords))
    return passwords


def _fleet_devices(
    conn: psycopg.Connection[TupleRow], scenario: Scenario, go_live: datetime | None = None
) -> list[NewDevice]:
    """The world's walkers and robots as registry entries, their wards created (with their
    go-live day if given)."""
    site_of = {ward: site for site, ward in WARDS}
    world = scenario.world()
    ward_ids = {
        w: registry.ensure_ward(
            conn, TENANT, site_of[w], w, go_live.date() if go_live else None
        ).ward_id
        for w in scenario.wards
    }
    ward_of = {**world.walker_ward, **world.robots}
    return [
        NewDevice(d, kind, f"SIM-{d}", ward_ids[ward_of[d]])
        for d, kind in device_ids(world).items()
    ]


async def _add_users(settings: Settings, passwords: dict[str, str]) -> None:
    conn = await psycopg.AsyncConnection.connect(settings.dsn(), **db.connection_options(settings))
    async with conn:
        for user in USERS:
            password_hash = auth.hash_password(passwords[user.username])
            existing = await auth.user_id_of(conn, user.username, TENANT)
            wards = await auth.resolve_wards(conn, TENANT, list(user.wards))
            if existing is None:
                await auth.add_user(conn, TENANT, user.username, user.role, password_hash, wards)
            else:  # an interrupted provisioning: the new password counts
                await auth.set_password(conn, existing, password_hash)
                await auth.set_wards(conn, TENANT, existing, wards)


def renew_device_accounts(
    settings: Settings, files: DemoFiles, refused: dict[str, str], say: Say
) -> dict[str, str]:
    """Give devices the broker refused new accounts (their passwords were replaced elsewhere,
    e.g. by a demo of another clone); the scenario file keeps the new passwords."""
    with files.writing():
        scenario = load_scenario(files)
        with db.connect(settings) as conn:
            devices = [d for d in _fleet_devices(conn, scenario) if d.device_id in refused]
            conn.commit()
        renewed = ingest.provision(settings, TENANT, devices)
        scenario.passwords.update(renewed)
        save_scenario(files, scenario)
    reasons = sorted(set(refused.values()))
    say(
        f"the broker refused {len(renewed)} demo device(s) ({', '.join(reasons)}): "
        "re-provisioned them and going on"
    )
    return renewed
