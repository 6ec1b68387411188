"""The care-record system's side of the demo: stays and walker assignments as CSV extracts,
imported the way a municipality's would be (``stayactive.records``).

Two extracts, both imported at each start and then every few minutes while the devices run:
the **comparison period** (stays admitted in the year before the devices came, on the same
four wards: what the savings report compares with), and the **current extract** of the
simulated world's stays and assignments (new admissions, discharges, walkers handed out). Both
are taken as the care record knows them at the time of import, so a comparison stay that was
still going on at go-live is discharged when its time comes, as in a real care record; an
extract taken at go-live would leave it open for ever, a resident without a walker on today's
ward. Importing the same extract again changes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from firmware_sim.records import (
    CareRecordConfig,
    SimulatedRecords,
    records_from_world,
    simulate_care_records,
    write_assignments,
    write_care_records,
)
from firmware_sim.scenario_file import Scenario
from firmware_sim.world import World
from stayactive import db
from stayactive.errors import ConfigurationError
from stayactive.records import ImportReport, import_assignments, import_care_records
from stayactive.settings import Settings
from stayactive.tools.demo._config import COMPARISON_DAYS, TENANT, TENANT_NAME, WARDS
from stayactive.tools.demo._state import DemoFiles, FleetCheckpoint

log = logging.getLogger(__name__)

_SITE, _ = WARDS[0]
_WARD_SITES = tuple((w, s) for s, w in WARDS)
_FOLLOW_UP_DAYS = 365


def go_live_of(files: DemoFiles) -> datetime:
    """The day the devices came: where their history starts."""
    history_from = FleetCheckpoint.load(files).history_from
    if history_from is None:
        raise ConfigurationError(f"{files.fleet} has no go-live; `stayactive demo --reset`")
    return datetime.fromtimestamp(history_from, UTC)


def comparison_records(
    scenario: Scenario, world: World, go_live: datetime, at: datetime
) -> SimulatedRecords:
    """The stays admitted in the year before go-live on the demo's wards, without devices (the
    historical comparison), as the care record knows them at ``at`` (not before go-live)."""
    tz = ZoneInfo(scenario.tz_name)
    go_live = go_live.astimezone(tz)
    # The simulator leaves open what goes on past its period's end: the period runs on a year
    # after go-live (of which only the admissions before go-live are kept), so that the stays
    # are the same at every import and each is discharged when its time comes. The wards are
    # simulated as wards without devices (no walker is handed out, none is missing); their
    # go-live is the demo's, set when it was provisioned.
    per_day = scenario.n_stays / scenario.days
    config = CareRecordConfig(
        start=go_live - timedelta(days=COMPARISON_DAYS), before_days=COMPARISON_DAYS,
        after_days=_FOLLOW_UP_DAYS,
        comparison_ward_stays=round(per_day * (COMPARISON_DAYS + _FOLLOW_UP_DAYS)),
        comparison_wards=scenario.wards, device_wards=(), site=_SITE, ward_sites=_WARD_SITES,
        seed=scenario.seed + 17, tz_name=scenario.tz_name, extract_on=max(at, go_live),
    )  # fmt: skip
    simulated = simulate_care_records(config)
    # Only the stays admitted before go-live, and no pseudonym that the world's residents use:
    # they are other people.
    taken = {s.resident.pseudonym for s in world.stays}
    before = tuple(
        s for s in simulated.stays if s.admitted_at < go_live and s.resident.pseudonym not in taken
    )
    return dataclasses.replace(simulated, stays=before, assignments=())


def _import_comparison_period(
    settings: Settings, files: DemoFiles, scenario: Scenario, world: World, at: datetime
) -> ImportReport:
    """The comparison period's stays (:func:`comparison_records`) imported as known at ``at``."""
    path = files.records / "comparison-stays.csv"
    write_care_records(comparison_records(scenario, world, go_live_of(files), at), path)
    with db.connect(settings) as conn:
        report = import_care_records(
            conn, TENANT, path, tenant_name=TENANT_NAME, time_zone=scenario.tz_name
        )
        conn.commit()
    # Imported every few minutes, it is quiet unless a row fails.
    (log.warning if report.failed else log.debug)("comparison period: %s", report.summary())
    return report


def import_current_extract(
    settings: Settings, files: DemoFiles, scenario: Scenario, world: World, at: datetime
) -> tuple[ImportReport, ImportReport]:
    """The world's stays and walker assignments as the care record knows them at ``at``, and
    the comparison period's stays as known then."""
    _import_comparison_period(settings, files, scenario, world, at)
    go_live = go_live_of(files).astimezone(ZoneInfo(scenario.tz_name))
    records = records_from_world(
        world, extract_at=at, site=_SITE, ward_sites=_WARD_SITES, go_live=go_live
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
