"""A broker restart mid-stream: ingest and the devices reconnect, nothing is lost."""

from __future__ import annotations

import time
import uuid
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


def test_broker_restart_with_two_workers_on_a_shared_subscription_loses_nothing(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    accounts = devices(3)
    group = "restart" + uuid.uuid4().hex[:6]
    workers = [
        ingest_worker(share_group=group, session_expiry_s=SESSION_NEVER_EXPIRES) for _ in range(2)
    ]
    pump = make_pump(schema.settings, accounts, max_in_flight=5, ack_timeout_s=3.0)
    now_s = datetime.now(UTC).timestamp()
    pump.connect(list(accounts), now_s)
    total = offer_walks(pump, walk_s=240, start_s=now_s - 600, seed=41)
    send_until(pump, 2 * total // 3)
    paths = paths_for(schema.settings)
    mosquitto.stop(paths)
    mosquitto.start(paths, schema.settings)
    # The devices reconnect within half a second, before the workers (back-off from 1 s); what
    # the broker drops meanwhile the devices replay, as the backend's ack does not cover it.
    pump.settle(timeout_s=90)
    pump.close()
    assert pump.log.reconnects >= 1
    wait_until(lambda: stored_messages(conn) == pump.log.messages, 60, "every message stored")
    assert count(conn, "walker_frames") == pump.log.frames
    assert pump.log.confirmed == pump.log.messages
    for running in workers:
        assert running.worker is not None and running.worker.metrics.healthy()["broker"]


def test_messages_published_after_a_restart_before_the_workers_return_are_kept(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    """The window Mosquitto loses (2.0.11 and 2.0.21 alike): the broker has restarted and no
    worker of the shared subscription is back yet. The broker acknowledges the devices'
    messages and drops them; the backend's ack does not cover them, so the devices replay."""
    accounts = devices(2)
    group = "restart" + uuid.uuid4().hex[:6]
    workers = [
        ingest_worker(share_group=group, session_expiry_s=SESSION_NEVER_EXPIRES) for _ in range(2)
    ]
    for running in workers:
        running.stop()  # their persistent sessions, with the shared subscription, stay
    paths = paths_for(schema.settings)
    mosquitto.stop(paths)
    mosquitto.start(paths, schema.settings)
    pump = make_pump(schema.settings, accounts, ack_timeout_s=8.0)
    now_s = datetime.now(UTC).timestamp()
    pump.connect(list(accounts), now_s)
    offer_walks(pump, walk_s=120, start_s=now_s - 600, seed=42)
    pump.drain(timeout_s=60)  # every message acknowledged by the broker, no worker on
    replays_before = pump.log.replays
    for running in workers:
        ingest_worker(
            client_id=running.config.client_id,
            share_group=group,
            session_expiry_s=SESSION_NEVER_EXPIRES,
        )
    time.sleep(2.0)  # what the broker kept would be stored by now
    lost_by_broker = len(pump.log.messages - stored_messages(conn))
    print(f"broker acknowledged {len(pump.log.messages)} messages, lost {lost_by_broker}")
    assert replays_before == 0
    pump.settle(timeout_s=90)
    pump.close()
    wait_until(lambda: stored_messages(conn) == pump.log.messages, 60, "every message stored")
    assert count(conn, "walker_frames") == pump.log.frames
    assert pump.log.replays >= lost_by_broker
