"""Hostile and buggy devices against the real broker and a real `stayactive ingest run` process.

Each attack of issue 16 that concerns ingest: the attacker's messages are rejected with a reason
(or stored exactly, where the protocol allows the value), a victim device streaming at the same
time loses nothing, and ingest stays up and healthy, obeys SIGTERM, and is not hit again by the
same message after a restart.
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import cbor2
import paho.mqtt.client as mqtt
import psycopg
from psycopg.rows import TupleRow

from tests.fixtures.ingest import IngestProcess, IngestThread, count, worker_config
from tests.fixtures.messages import example
from tests.fixtures.services import DeviceAccount
from tests.fixtures.streams import wait_until


def publish(client: mqtt.Client, topic: str, payload: bytes, *, retain: bool = False) -> None:
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)


def _status(device: str, seq: int, now: datetime, **changes: object) -> dict[str, object]:
    msg = example("status.json", device, seq=seq, now=now)
    msg.update(changes)
    return msg


def _telemetry(device: str, seq: int, now: datetime, **changes: object) -> dict[str, object]:
    msg = example("walker-telemetry.json", device, seq=seq, now=now)
    msg.update(changes)
    return msg


def _poison(device: str, now: datetime) -> list[tuple[str, bytes, str | None]]:
    """(channel, payload, expected reject reason or None for "stored as sent")."""
    huge_sample = _telemetry(device, 20, now)
    frames = huge_sample["frames"]
    assert isinstance(frames, list)
    frames[0]["acc_x"][0] = 2**4000
    nested = b'{"v":1,"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    return [
        ("status", json.dumps(_status(device, 1, now, clock_offset_ms=2**4000)).encode(),
         "value_not_storable"),
        ("status", json.dumps(_status(device, 2, now, clock_offset_ms=1e39)).encode(),
         "value_not_storable"),
        ("telemetry", json.dumps(huge_sample).encode(), "value_out_of_range"),
        ("status", json.dumps(_status(device, 3, now, firmware="fw\u0000")).encode(),
         "value_not_storable"),
        ("status", json.dumps(_status(device, 4, now, firmware="fw\ud800")).encode(),
         "undecodable"),
        ("status", nested, "undecodable"),
        ("status", b'{"v":1,"boot":' + b"9" * 5000 + b"}", "undecodable"),
        ("status", cbor2.dumps(_status(device, 5, now, battery_pct=float("nan"))),
         "value_out_of_range"),
        ("telemetry", json.dumps(_telemetry(device, 6, now, boot=2**31)).encode(), None),
        ("status", json.dumps(_status(device, 7, now, boot=2**32 + 7)).encode(), None),
        ("status", json.dumps(_status(device, 8, now, buffered_n=2**40, config_id=2**50)).encode(),
         None),
    ]  # fmt: skip


def test_poison_messages_are_rejected_and_nobody_else_loses_anything(
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_process: Callable[..., IngestProcess],
) -> None:
    attacker_account, victim_account = devices(2).values()
    attacker, victim = attacker_account.device_id, victim_account.device_id
    config = worker_config()
    running = ingest_process(config)
    bad = device_client(attacker_account)
    good = device_client(victim_account)
    now = datetime.now(UTC)
    cases = _poison(attacker, now)
    for i, (channel, payload, _reason) in enumerate(cases):
        publish(bad, f"stayactive/v1/{attacker}/{channel}", payload)
        victim_msg = _telemetry(victim, i + 1, now - timedelta(seconds=10 * i))
        publish(good, f"stayactive/v1/{victim}/telemetry", json.dumps(victim_msg).encode())
    expected = sorted(r for _c, _p, r in cases if r is not None)
    wait_until(lambda: count(conn, "ingest_rejects", device_id=attacker) == len(expected), 30)
    wait_until(lambda: count(conn, "walker_frames", device_id=victim) == 2 * len(cases), 30)
    got = sorted(
        str(r) for (r,) in conn.execute(
            "SELECT reason FROM ingest_rejects WHERE device_id = %s", (attacker,)
        )
    )  # fmt: skip
    assert got == expected
    # Values the protocol allows are stored as sent, not wrapped.
    wait_until(lambda: count(conn, "device_status", device_id=attacker) == 2, 30)
    boots = {
        int(b) for (b,) in conn.execute("SELECT boot FROM device_status WHERE device_id = %s",
                                        (attacker,))
    }  # fmt: skip
    assert boots == {2**32 + 7, 17}
    assert conn.execute(
        "SELECT buffered_n, config_id FROM device_status WHERE device_id = %s AND seq = 8",
        (attacker,),
    ).fetchone() == (2**40, 2**50)
    assert count(conn, "walker_frames", device_id=attacker, boot=2**31) == 2
    # Still up and healthy; SIGTERM is obeyed; a restart is not hit by the same messages again.
    status, body = running.health()
    assert status == 200, body
    running.proc.send_signal(signal.SIGTERM)
    assert running.proc.wait(30) == 0
    again = ingest_process(config)
    time.sleep(1.0)
    assert again.health()[0] == 200
    assert count(conn, "ingest_rejects", device_id=attacker) == len(expected)


def test_a_replay_with_other_content_is_stored_once_and_kept_as_a_conflict(
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
    first = json.dumps(_status(device, 5, now)).encode()
    other = json.dumps(_status(device, 5, now - timedelta(seconds=30))).encode()  # another `at`
    publish(client, f"stayactive/v1/{device}/status", first)
    publish(client, f"stayactive/v1/{device}/status", first)  # a plain duplicate
    publish(client, f"stayactive/v1/{device}/status", other)
    t1 = json.dumps(_telemetry(device, 6, now)).encode()
    t2 = json.dumps(_telemetry(device, 6, now - timedelta(minutes=1))).encode()  # another t0
    publish(client, f"stayactive/v1/{device}/telemetry", t1)
    publish(client, f"stayactive/v1/{device}/telemetry", t2)
    wait_until(lambda: count(conn, "ingest_rejects", device_id=device) == 2, 30)
    assert count(conn, "device_status", device_id=device) == 1
    assert count(conn, "walker_frames", device_id=device) == 2  # the example has 2 frames
    rows = conn.execute(
        """SELECT reason, seq, payload_sha256, stored_sha256 FROM ingest_rejects
           WHERE device_id = %s ORDER BY seq""",
        (device,),
    ).fetchall()
    assert rows == [
        ("key_conflict", 5, hashlib.sha256(other).digest(), hashlib.sha256(first).digest()),
        ("key_conflict", 6, hashlib.sha256(t2).digest(), hashlib.sha256(t1).digest()),
    ]


def test_a_reject_is_stored_once_however_often_it_comes(
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    (account,) = devices(1).values()
    device = account.device_id
    client = device_client(account)
    junk = b'{"v": 1, "type": "status", "device_id": "' + device.encode() + b'", "boot": '
    publish(client, f"stayactive/v1/{device}/status", junk, retain=True)  # retained junk
    for _ in range(3):
        publish(client, f"stayactive/v1/{device}/status", junk)
    bad_range = json.dumps(_status(device, 9, datetime.now(UTC), battery_pct=300)).encode()
    for _ in range(3):
        publish(client, f"stayactive/v1/{device}/status", bad_range)
    # Plain subscriptions: MQTT 5 sends no retained messages to a shared one (Mosquitto 2.0.21
    # keeps to that; 2.0.11 sent them), and the retained junk is what this test is about.
    first = ingest_worker(share_group="")  # new session: gets the retained junk
    wait_until(lambda: count(conn, "ingest_rejects", device_id=device) >= 1, 30)
    first.stop()
    first.forget_session()
    second = ingest_worker(share_group="")  # another new session: the retained junk again
    for _ in range(2):
        publish(client, f"stayactive/v1/{device}/status", bad_range)
    assert second.worker is not None
    wait_until(
        lambda: (second.worker.metrics.registry.get_sample_value(
            "stayactive_ingest_rejects_total", {"reason": "value_out_of_range"}
        ) or 0) >= 2,
        30,
    )  # fmt: skip
    rows = conn.execute(
        "SELECT reason, count(*) FROM ingest_rejects WHERE device_id = %s GROUP BY reason",
        (device,),
    ).fetchall()
    assert sorted(rows) == [("undecodable", 1), ("value_out_of_range", 1)]
    # The metric counts rejects by reason only: no label that grows with the devices.
    families = [m for m in second.worker.metrics.registry.collect() if m.name.endswith("rejects")]
    assert {tuple(sorted(s.labels)) for f in families for s in f.samples if s.labels} == {
        ("reason",)
    }
