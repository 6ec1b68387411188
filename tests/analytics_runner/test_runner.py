"""The analytics runner on data that went through the real pipeline: simulator → broker →
ingest → TimescaleDB → runner → resident_days and stay_trajectories."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow

from analytics import runner as runner_module
from analytics.mobility import METRIC_VERSION
from analytics.runner import AnalyticsRunner
from firmware_sim import scenario as sim
from firmware_sim.device import DeviceBehaviour
from firmware_sim.pump import Pump
from firmware_sim.records import records_from_world, write_assignments, write_care_records
from stayactive import services
from stayactive.records import import_assignments, import_care_records
from stayactive.tools.simulation import SITE, create_scenario
from tests.fixtures.ingest import IngestThread, count
from tests.fixtures.services import Schema
from tests.fixtures.streams import wait_until


@pytest.fixture
def ingested_day(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    ingest_worker: Callable[..., IngestThread],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Schema:
    """Yesterday of a small simulated ward, stored by the real ingest, care records imported."""
    monkeypatch.setattr(runner_module, "SAFETY_LAG", timedelta(0))  # no need to wait here
    scenario = create_scenario(
        schema.settings, tmp_path / "scenario.json", tenant="runnertest", days=2, n_stays=5,
        seed=11, effect=0.5, wards=("rt-ward",), walkers_per_ward=5,
        end=datetime.now(UTC) - timedelta(days=1),
    )  # fmt: skip
    try:
        ingest_worker()
        world = scenario.world()
        devices = sim.make_devices(world, DeviceBehaviour())
        pump = Pump(scenario.broker_host, scenario.broker_port, devices, scenario.passwords)
        sim.run(world, pump, imperfect=sim.Imperfections(outages_per_day=0, reboots_per_day=0))
        pump.close()
        wait_until(lambda: count(conn, "walker_frames") == pump.log.frames, 60, "frames stored")
        records = records_from_world(world, extract_at=datetime.now(UTC), site=SITE)
        write_care_records(records, tmp_path / "stays.csv")
        write_assignments(records, tmp_path / "assignments.csv")
        import_care_records(conn, "runnertest", tmp_path / "stays.csv")
        import_assignments(conn, "runnertest", tmp_path / "assignments.csv")
    finally:
        services.broker_accounts(schema.settings).remove(list(scenario.passwords))
    return schema


def test_runner_fills_resident_days_and_trajectories(
    ingested_day: Schema, conn: psycopg.Connection[TupleRow]
) -> None:
    first = AnalyticsRunner(ingested_day.settings).run_once()
    assert first.computed > 0 and first.trajectories > 0
    rows = conn.execute(
        """SELECT walker_data, steps_n, distance_m, gait_speed_median_mps, coverage,
                  metric_version FROM resident_days WHERE walker_data"""
    ).fetchall()
    assert rows, "some resident-days have walker data"
    for walker_data, steps, distance, speed, coverage, version in rows:
        assert walker_data and version == METRIC_VERSION
        assert steps is not None and distance is not None and 0 < coverage <= 1
        assert speed is None or 0.1 < speed < 1.5
    assert sum(r[1] for r in rows) > 100
    # Days without walker data say so: no 0 steps standing in for "no data".
    no_data = conn.execute(
        "SELECT count(*) FROM resident_days WHERE NOT walker_data AND steps_n IS NOT NULL"
    ).fetchone()
    assert no_data == (0,)
    assert count(conn, "stay_trajectories") == first.trajectories
    again = AnalyticsRunner(ingested_day.settings).run_once()
    assert again.computed == 0  # nothing new: nothing recomputed


def test_a_corrected_assignment_recomputes_its_days(
    ingested_day: Schema, conn: psycopg.Connection[TupleRow]
) -> None:
    AnalyticsRunner(ingested_day.settings).run_once()
    row = conn.execute(
        """SELECT a.assignment_id, a.resident_id FROM device_assignments a
           JOIN resident_days d USING (resident_id) WHERE d.walker_data LIMIT 1"""
    ).fetchone()
    assert row is not None
    assignment_id, resident_id = row
    # The assignment was wrong: the walker was somebody else's. Its data leaves this resident.
    conn.execute("DELETE FROM device_assignments WHERE assignment_id = %s", (assignment_id,))
    report = AnalyticsRunner(ingested_day.settings).run_once()
    assert report.computed > 0
    left = conn.execute(
        "SELECT count(*) FROM resident_days WHERE resident_id = %s AND walker_data",
        (resident_id,),
    ).fetchone()
    assert left == (0,)


def test_two_runners_at_once_do_not_collide(
    ingested_day: Schema, conn: psycopg.Connection[TupleRow]
) -> None:
    reports: list[runner_module.RunReport] = []

    def one() -> None:
        reports.append(AnalyticsRunner(ingested_day.settings).run_once())

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(reports) == 2
    total = count(conn, "resident_days")
    assert sorted(r.computed for r in reports)[0] == 0  # the second found nothing left to do
    assert sum(r.computed for r in reports) == total
    assert count(conn, "analytics_dirty") == 0
