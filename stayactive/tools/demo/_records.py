"""The care-record system's side of the demo: stays and walker assignments as CSV extracts,
imported the way a municipality's would be (``stayactive.records``).

Two extracts: the **comparison period** (the year before the devices came, on the same four
wards: what the savings report compares with), imported once; and the **current extract** of
the simulated world's stays and assignments as known now, imported at each start and then
every few minutes while the devices run (new admissions, discharges, walkers handed out).
Importing the same extract again changes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from firmware_sim.records import (
    CareRecordConfig,
    records_from_world,
    simulate_care_records,
    write_assignments,
    write_care_records,
)
from firmware_sim.scenario_file import Scenario
from stayactive import db
from stayactive.errors import ConfigurationError
from stayactive.records import ImportReport, import_assignments, import_care_records
from stayactive.settings import Settings
from stayactive.tools.demo._config import COMPARISON_DAYS, TENANT, TENANT_NAME, WARDS
from stayactive.tools.demo._state import DemoFiles, FleetCheckpoint

log = logging.getLogger(__name__)

_SITE, _ = WARDS[0]
_WARD_SITES = tuple((w, s) for s, w in WARDS)


def go_live_of(files: DemoFiles) -> datetime:
    """The day the devices came: where their history starts."""
    history_from = FleetCheckpoint.load(files).history_from
    if history_from is None:
        raise ConfigurationError(f"{files.fleet} has no go-live; `stayactive demo --reset`")
    return datetime.fromtimestamp(history_from, UTC)


def import_comparison_period(
    settings: Settings, files: DemoFiles, scenario: Scenario
) -> ImportReport:
    """The year before go-live on the demo's wards, without devices (historical comparison)."""
    tz = ZoneInfo(scenario.tz_name)
    go_live = go_live_of(files).astimezone(tz)
    config = CareRecordConfig(
        start=go_live - timedelta(days=COMPARISON_DAYS), before_days=COMPARISON_DAYS,
        after_days=1, device_ward_stays=round(scenario.n_stays / scenario.days * COMPARISON_DAYS),
        comparison_wards=(), device_wards=scenario.wards, site=_SITE, ward_sites=_WARD_SITES,
        seed=scenario.seed + 17, walkers_per_ward=scenario.walkers_per_ward,
        tz_name=scenario.tz_name, extract_on=go_live,
    )  # fmt: skip
    simulated = simulate_care_records(config)
    # Only what happened before go-live (the "after" day is the simulator's, not ours), and no
    # pseudonym that the world's residents use: they are other people.
    taken = {s.resident.pseudonym for s in scenario.world().stays}
    before = tuple(
        s for s in simulated.stays if s.admitted_at < go_live and s.resident.pseudonym not in taken
    )
    records = dataclasses.replace(simulated, stays=before, assignments=())
    path = files.records / "comparison-stays.csv"
    write_care_records(records, path)
    with db.connect(settings) as conn:
        report = import_care_records(
            conn, TENANT, path, tenant_name=TENANT_NAME, time_zone=scenario.tz_name
        )
        conn.commit()
    log.info("comparison period: %s", report.summary())
    return report


def import_current_extract(
    settings: Settings, files: DemoFiles, scenario: Scenario, at: datetime
) -> tuple[ImportReport, ImportReport]:
    """The world's stays and walker assignments as the care record knows them at ``at``."""
    go_live = go_live_of(files).astimezone(ZoneInfo(scenario.tz_name))
    records = records_from_world(
        scenario.world(), extract_at=at, site=_SITE, ward_sites=_WARD_SITES, go_live=go_live
    )
    stays_csv = files.records / "stays.csv"
    assignments_csv = files.records / "assignments.csv"
    write_care_records(records, stays_csv)
    write_assignments(records, assignments_csv)
    with db.connect(settings) as conn:
        stays = import_care_records(
            conn, TENANT, stays_csv, tenant_name=TENANT_NAME, time_zone=scenario.tz_name
        )
        assigned = import_assignments(conn, TENANT, assignments_csv)
        conn.commit()
    return stays, assigned
