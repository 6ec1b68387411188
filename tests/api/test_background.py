"""Alerts open by themselves: the API evaluates every ward at an interval, no reader needed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from stayactive.api.serve import start_api
from stayactive.settings import Settings
from tests.api.conftest import World, build_world
from tests.fixtures.streams import wait_until


@pytest.fixture
def evaluating_world(settings: Settings, password_hash: str) -> Iterator[World]:
    for world in build_world(settings, password_hash):
        world.api.stop()
        # The same schema, served again with the evaluation every half second.
        fast = world.settings.model_copy(update={"api_alerts_interval_s": 0.5})
        world.api = start_api(fast)
        try:
            yield world
        finally:
            # build_world stops the API it started, not this one: without this its loop
            # would go on, every half second, against the dropped schema.
            world.api.stop()


def test_alerts_open_and_resolve_without_a_reader(evaluating_world: World) -> None:
    world = evaluating_world
    device = world.a.device_ids[0]
    resident = world.a.resident_ids[0]

    def open_kinds() -> set[str]:
        with world.connect() as conn:
            rows = conn.execute(
                "SELECT kind FROM alerts WHERE resident_id = %s AND resolved_at IS NULL",
                (resident,),
            ).fetchall()
        return {str(r[0]) for r in rows}

    with world.connect() as conn:
        conn.execute(
            "UPDATE device_latest_status SET battery_pct = 3, charging = false, last_seen_at = %s "
            "WHERE device_id = %s",
            (datetime.now(UTC) - timedelta(minutes=1), device),
        )
    wait_until(lambda: "battery_low" in open_kinds(), 10, "battery_low opened by the loop")
    with world.connect() as conn:
        conn.execute(
            "UPDATE device_latest_status SET battery_pct = 90 WHERE device_id = %s", (device,)
        )
    wait_until(lambda: "battery_low" not in open_kinds(), 10, "battery_low resolved by the loop")
