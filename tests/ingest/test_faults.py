"""Ingest under faults: a killed worker, a restarting database, replayed buffers, bad messages.

Everything here runs against the real broker and database: the point is what survives.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow

from firmware_sim.device import DeviceBehaviour
from stayactive import services
from stayactive.services import postgres
from tests.fixtures.ingest import IngestProcess, IngestThread, count, stored_messages, worker_config
from tests.fixtures.services import DeviceAccount, Schema
from tests.fixtures.streams import make_pump, offer_walks, send_until, wait_until


def frame_rows(conn: psycopg.Connection[TupleRow]) -> int:
    return count(conn, "walker_frames")


def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_process: Callable[..., IngestProcess],
) -> None:
    accounts = devices(3)
    config = worker_config()
    worker = ingest_process(config).proc
    pump = make_pump(schema.settings, accounts)
    now_s = datetime.now(UTC).timestamp()
    pump.connect(list(accounts), now_s)
    total = offer_walks(pump, walk_s=240, start_s=now_s - 600, seed=0)
    # Publish a third, then kill the worker without warning, then publish the rest.
    send_until(pump, 2 * total // 3)
    wait_until(lambda: frame_rows(conn) > 0, what="the worker stored something")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    pump.drain()
    pump.close()
    assert len(pump.log.messages) == total
    restarted = ingest_process(config).proc  # same client id: same persistent session
    wait_until(lambda: stored_messages(conn) == pump.log.messages, 60, "every message stored")
    assert frame_rows(conn) == pump.log.frames  # each frame exactly once
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(30) == 0


def test_database_restart_mid_stream_loses_nothing(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    assert schema.settings.uses_local_database, "this test restarts the local cluster"
    accounts = devices(2)
    running = ingest_worker(backoff_max_s=1.0)
    pump = make_pump(schema.settings, accounts)
    now_s = datetime.now(UTC).timestamp()
    pump.connect(list(accounts), now_s)
    total = offer_walks(pump, walk_s=180, start_s=now_s - 600, seed=10)
    send_until(pump, total // 2)
    conn.close()
    postgres.restart(services.paths_for(schema.settings))
    pump.drain()
    pump.close()
    with schema.connect() as fresh:
        wait_until(lambda: stored_messages(fresh) == pump.log.messages, 60, "every message stored")
        assert frame_rows(fresh) == pump.log.frames
    assert running.worker is not None
    retries = running.worker.metrics.registry.get_sample_value(
        "stayactive_ingest_storage_retries_total"
    )
    assert retries is not None and retries >= 1  # it did notice the restart


def test_replayed_offline_buffer_and_duplicates_are_stored_once(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    accounts = devices(2)
    ingest_worker()
    pump = make_pump(schema.settings, accounts, behaviour=DeviceBehaviour(duplicate_rate=0.3))
    now_s = datetime.now(UTC).timestamp()
    ids = list(accounts)
    pump.connect(ids, now_s)
    offline = ids[0]
    pump.drop(offline)  # the network is gone: messages pile up in the device's buffer
    offer_walks(pump, walk_s=120, start_s=now_s - 900, seed=20)
    pump.drain()
    assert len(pump.devices[offline].buffer) > 10
    pump.connect([offline], now_s)  # back: the buffer is replayed oldest first
    pump.drain()
    pump.close()
    assert pump.log.duplicates_sent > 0
    wait_until(lambda: stored_messages(conn) == pump.log.messages, 30, "every message stored")
    assert frame_rows(conn) == pump.log.frames
    seqs = [s for d, _b, s in sorted(pump.log.messages) if d == offline]
    assert seqs == list(range(1, len(seqs) + 1))  # continuous despite the gap


def test_every_fault_lands_in_rejects_and_good_messages_still_flow(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    accounts = devices(2)
    ingest_worker(reject_burst=1000)  # every reject kept (tests/hostile checks the rate limit)
    pump = make_pump(schema.settings, accounts, behaviour=DeviceBehaviour(fault_rate=0.25), seed=5)
    now_s = datetime.now(UTC).timestamp()
    pump.connect(list(accounts), now_s)
    offer_walks(pump, walk_s=400, start_s=now_s - 1200, seed=30)
    pump.drain()
    pump.close()
    expected = sorted(reason for _d, reason in pump.log.faults)
    assert len(set(expected)) >= 6, expected  # most kinds of fault were drawn
    wait_until(lambda: count(conn, "ingest_rejects") >= len(expected), 30, "all rejects stored")
    wait_until(lambda: stored_messages(conn) == pump.log.messages, 30, "good messages stored")
    ours = tuple(accounts)
    got = sorted(
        str(r[0])
        for r in conn.execute(
            "SELECT reason FROM ingest_rejects WHERE device_id = ANY(%s)", (list(ours),)
        )
    )
    assert got == expected
