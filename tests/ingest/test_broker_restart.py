"""A broker restart mid-stream: ingest and the devices reconnect, nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow

from ingest import SESSION_NEVER_EXPIRES
from stayactive.services import mosquitto, paths_for
from tests.fixtures.ingest import IngestThread, count, stored_messages
from tests.fixtures.services import DeviceAccount, Schema
from tests.fixtures.streams import make_pump, offer_walks, send_until, wait_until


def test_broker_restart_mid_stream_loses_nothing(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    accounts = devices(2)
    # A plain subscription: Mosquitto 2.0.11 does not restore shared ones after a restart, so
    # what devices publish before ingest has subscribed again would find no subscriber.
    running = ingest_worker(share_group="", session_expiry_s=SESSION_NEVER_EXPIRES)
    pump = make_pump(schema.settings, accounts, max_in_flight=5)  # most still to send at restart
    now_s = datetime.now(UTC).timestamp()
    pump.connect(list(accounts), now_s)
    total = offer_walks(pump, walk_s=180, start_s=now_s - 600, seed=40)
    send_until(pump, total // 2)
    assert sum(len(d.buffer) for d in pump.devices.values()) > 10
    paths = paths_for(schema.settings)
    mosquitto.stop(paths)  # saves its persistence file: ingest's session and queue survive
    mosquitto.start(paths, schema.settings)
    pump.drain(timeout_s=60)  # the devices notice, reconnect and replay what was not acknowledged
    pump.close()
    assert pump.log.reconnects >= 1
    wait_until(lambda: stored_messages(conn) == pump.log.messages, 60, "every message stored")
    assert count(conn, "walker_frames") == pump.log.frames
    assert running.worker is not None
    assert running.worker.metrics.healthy()["broker"]  # reconnected by itself
