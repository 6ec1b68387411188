"""`/health` tells the truth: a frozen database and a dead writer thread are reported.

Issue 16 point 8: `/health` said 200 "database up" while the database was frozen for 20 s and
while the writer thread was dead (the process stayed up, storing nothing). Here the real
database is frozen (SIGSTOP of the test's own local cluster) and the writer is made to die (the
database refuses every reject), against a real `stayactive ingest run` process.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from psycopg.rows import TupleRow

from stayactive import services
from stayactive.cli.ingest import EXIT_FAILED
from tests.fixtures.ingest import IngestProcess, count, worker_config
from tests.fixtures.messages import example
from tests.fixtures.services import DeviceAccount, Schema
from tests.fixtures.streams import wait_until


def _cluster_pids(data_dir: Path) -> list[int]:
    """The postmaster of the local cluster and every process it started."""
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                pids.append(int(entry.name))
    return pids


@contextmanager
def frozen_database(schema: Schema) -> Iterator[None]:
    """The test's own local PostgreSQL stopped (SIGSTOP) and always continued afterwards."""
    assert schema.settings.uses_local_database, "this test freezes the local cluster"
    pids = _cluster_pids(services.paths_for(schema.settings).pg_data)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def _wait_health(running: IngestProcess, status: int, timeout_s: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        code, body = running.health()
        if code == status:
            return body
        assert time.monotonic() < deadline, f"/health not {status} within {timeout_s} s: {body}"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_frozen_database_is_reported_and_nothing_is_lost(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_process: Callable[..., IngestProcess],
) -> None:
    (account,) = devices(1).values()
    device = account.device_id
    running = ingest_process(worker_config())  # /health answered 200
    client = device_client(account)
    now = datetime.now(UTC)
    topic = f"stayactive/v1/{device}/status"
    client.publish(topic, json.dumps(example("status.json", device, seq=1, now=now)).encode(),
                   qos=1).wait_for_publish(5)  # fmt: skip
    wait_until(lambda: count(conn, "device_status", device_id=device) == 1, 30)
    with frozen_database(schema):
        second = json.dumps(example("status.json", device, seq=2, now=now)).encode()
        client.publish(topic, second, qos=1).wait_for_publish(5)  # the broker holds it
        body = _wait_health(running, 503, 15)
        assert body["database"] == "down" and "unanswered" in str(body["database_error"])
        assert body["writer"] == "up"
    _wait_health(running, 200, 30)
    wait_until(lambda: count(conn, "device_status", device_id=device) == 2, 30)


def test_a_dead_writer_is_reported_and_the_process_exits_non_zero(
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_process: Callable[..., IngestProcess],
) -> None:
    (account,) = devices(1).values()
    device = account.device_id
    running = ingest_process(worker_config())  # /health answered 200
    # A database that refuses every reject: the batch fails, message by message fails, and
    # storing the rejects of that fails too. Nothing is left but to die loudly.
    conn.execute("ALTER TABLE ingest_rejects ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")
    client = device_client(account)
    client.publish(f"stayactive/v1/{device}/telemetry", b"junk", qos=1).wait_for_publish(5)
    body = _wait_health(running, 503, 30)
    assert body["writer"] == "down" and "refuse_all" in str(body["writer_error"])
    assert running.proc.wait(30) == EXIT_FAILED
    assert "the writer thread died" in running.log.read_text()
