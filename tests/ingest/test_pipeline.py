"""Ingest end to end: a device publishes on the real broker, rows land in the real database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest
from psycopg.rows import TupleRow

from tests.fixtures.ingest import IngestThread, count
from tests.fixtures.messages import example
from tests.fixtures.services import DeviceAccount
from tests.fixtures.streams import wait_until


def publish(client: mqtt.Client, topic: str, payload: bytes, *, retain: bool = False) -> None:
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)


def test_messages_are_stored_once_and_bad_ones_kept_with_a_reason(
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    (account,) = devices(1).values()
    device = account.device_id
    ingest_worker()
    client = device_client(account)
    now = datetime.now(UTC)
    telemetry = json.dumps(example("walker-telemetry.json", device, seq=1, now=now)).encode()
    status = json.dumps(example("status.json", device, seq=2, now=now)).encode()
    publish(client, f"stayactive/v1/{device}/telemetry", telemetry)
    publish(client, f"stayactive/v1/{device}/telemetry", telemetry)  # a QoS 1 duplicate
    publish(client, f"stayactive/v1/{device}/status", status, retain=True)
    publish(client, f"stayactive/v1/{device}/telemetry", b'{"v": 1, "type": "walker.tele')
    mine = {"device_id": device}
    wait_until(lambda: count(conn, "ingest_rejects", **mine) == 1)
    wait_until(lambda: count(conn, "device_status", **mine) == 1)
    wait_until(lambda: count(conn, "walker_frames", **mine) == 2)
    time.sleep(0.3)  # a second copy would have landed by now
    assert count(conn, "walker_frames", **mine) == 2
    reject = conn.execute(
        "SELECT reason, payload FROM ingest_rejects WHERE device_id = %s", (device,)
    ).fetchone()
    assert reject == ("undecodable", b'{"v": 1, "type": "walker.tele')
    latest = conn.execute(
        "SELECT state, battery_pct, firmware, clock_suspect FROM device_latest_status "
        "WHERE device_id = %s",
        (device,),
    ).fetchone()
    assert latest == ("online", 81.5, "walker-fw 2.4.1", False)
    frame = conn.execute(
        "SELECT rate_hz, length(brake_mask), (walker_channel(samples, 9))[1], "
        "get_byte(brake_mask, 0) FROM walker_frames ORDER BY time"
    ).fetchone()
    assert frame == (50.0, 5, pytest.approx(72.4), 0)


def test_unknown_device_is_rejected_not_stored(
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_account: Callable[[], DeviceAccount],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    devices(1)  # the tenant exists; this device does not
    stranger = device_account()
    ingest_worker()
    client = device_client(stranger)
    now = datetime.now(UTC)
    msg = json.dumps(example("status.json", stranger.device_id, seq=5, now=now)).encode()
    publish(client, f"stayactive/v1/{stranger.device_id}/status", msg)
    wait_until(lambda: count(conn, "ingest_rejects", device_id=stranger.device_id) == 1)
    reason = conn.execute(
        "SELECT reason FROM ingest_rejects WHERE device_id = %s", (stranger.device_id,)
    ).fetchone()
    assert reason == ("unknown_device",)
    assert count(conn, "device_status") == 0


def test_future_timestamp_is_rejected(
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    (account,) = devices(1).values()
    ingest_worker()
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    msg = json.dumps(example("status.json", account.device_id, seq=3, now=tomorrow)).encode()
    publish(device_client(account), f"stayactive/v1/{account.device_id}/status", msg)
    wait_until(lambda: count(conn, "ingest_rejects", device_id=account.device_id) == 1)
    reason = conn.execute(
        "SELECT reason FROM ingest_rejects WHERE device_id = %s", (account.device_id,)
    ).fetchone()
    assert reason == ("timestamp_in_future",)


def test_retiring_a_worker_drains_its_queue_and_ends_its_session(
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    (account,) = devices(1).values()
    device = account.device_id
    first = ingest_worker()
    first.stop()  # its persistent session stays: the broker queues its share for it
    client = device_client(account)
    now = datetime.now(UTC)

    def send(seq: int) -> None:
        msg = json.dumps(example("status.json", device, seq=seq, now=now)).encode()
        publish(client, f"stayactive/v1/{device}/status", msg)

    for seq in range(1, 11):
        send(seq)
    retiring = ingest_worker(
        client_id=first.config.client_id,
        share_group=first.config.share_group,
        retire_when_idle_s=1.0,
    )
    assert retiring.thread is not None
    retiring.thread.join(30)
    assert not retiring.thread.is_alive(), "a retiring worker exits once its queue is empty"
    assert count(conn, "device_status", device_id=device) == 10
    ingest_worker(share_group=first.config.share_group)
    for seq in range(11, 16):  # all for the live worker: none queued for the retired one
        send(seq)
    wait_until(lambda: count(conn, "device_status", device_id=device) == 15)


def test_a_worker_that_ends_its_session_on_exit_leaves_nothing_queued_for_it(
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    (account,) = devices(1).values()
    device = account.device_id
    temporary = ingest_worker(end_session_on_exit=True)
    temporary.stop()
    ingest_worker(share_group=temporary.config.share_group)
    client = device_client(account)
    now = datetime.now(UTC)
    for seq in range(1, 7):
        msg = json.dumps(example("status.json", device, seq=seq, now=now)).encode()
        publish(client, f"stayactive/v1/{device}/status", msg)
    wait_until(lambda: count(conn, "device_status", device_id=device) == 6)
