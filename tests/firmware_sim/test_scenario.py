"""A simulated day end to end: world → devices → real broker → ingest → real database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from firmware_sim import scenario as runner
from firmware_sim.device import DeviceBehaviour
from firmware_sim.pump import Pump
from firmware_sim.world import read_truth
from stayactive import services
from stayactive.tools.simulation import create_scenario
from tests.fixtures.ingest import IngestThread, clear_retained_status, count
from tests.fixtures.services import Schema
from tests.fixtures.streams import wait_until


def test_a_simulated_day_is_stored_as_sent(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    ingest_worker: Callable[..., IngestThread],
    tmp_path: Path,
) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    scenario = create_scenario(
        schema.settings, tmp_path / "scenario.json", tenant="simtest", days=1, n_stays=4,
        seed=3, effect=0.5, wards=("simtest-w1",), walkers_per_ward=4, end=yesterday,
    )  # fmt: skip
    try:
        ingest_worker()
        world = scenario.world()
        devices = runner.make_devices(world, DeviceBehaviour(duplicate_rate=0.02))
        pump = Pump(scenario.broker_host, scenario.broker_port, devices, scenario.passwords)
        truth = tmp_path / "truth.jsonl"
        stats = runner.run(world, pump, imperfect=runner.Imperfections(), truth=truth)
        pump.close()
        assert stats.days == 1 and stats.frames > 1000
        sent = Counter(device for device, _boot, _seq in pump.log.messages)
        stored = lambda: Counter(  # noqa: E731
            str(d)
            for (d,) in conn.execute(
                """SELECT device_id FROM (
                     SELECT DISTINCT device_id, boot, seq FROM walker_frames
                     UNION SELECT DISTINCT device_id, boot, seq FROM robot_events
                     UNION SELECT DISTINCT device_id, boot, seq FROM device_status WHERE seq > 0
                   ) AS m"""
            )
        )
        wait_until(lambda: stored() == sent, 60, "every acknowledged message stored once")
        assert count(conn, "walker_frames") == pump.log.frames
        assert count(conn, "ingest_rejects", device_id=next(iter(sent))) == 0
        kinds = Counter(r["type"] for r in read_truth(truth))
        assert kinds["stay"] == 4 and kinds["step"] > 100 and kinds["bout"] > 3
    finally:
        clear_retained_status(schema.settings, scenario.passwords)
        services.broker_accounts(schema.settings).remove(list(scenario.passwords))
