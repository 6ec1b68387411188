"""Hostile devices against the real broker and ingest: refused at SUBSCRIBE and CONNECT, and the
other devices lose nothing.

Measured on Mosquitto 2.0.11 with a password file and ACL file (issue 16): one device
subscribing to ingest's shared group lost 100 of 200 messages; a device using the ingest
worker's client id lost 40 queued messages and 99 of 200 in a fight over the id; provisioning a
device named ``ingest`` took over the ingest account. Each test below repeats the attack.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.reasoncodes import ReasonCode
from psycopg.rows import TupleRow

from ingest.credentials import provision, rotate
from stayactive import services
from stayactive.broker_accounts import RESERVED_NAMES, AccountConflict
from stayactive.errors import ServiceError
from stayactive.mqtt import check_login, new_client
from stayactive.registry import NewDevice
from stayactive.settings import Settings
from tests.fixtures.ingest import IngestThread, count
from tests.fixtures.messages import example
from tests.fixtures.services import DeviceAccount, Schema
from tests.fixtures.streams import wait_until

NOT_AUTHORIZED = 0x87


def _connect(settings: Settings, account: DeviceAccount, client_id: str) -> tuple[mqtt.Client, str]:
    """Connect; return the client and the CONNACK's reason ("Success" or the refusal)."""
    result: dict[str, str] = {}
    done = threading.Event()

    def on_connect(_c: object, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        result["rc"] = str(rc)
        done.set()

    client = new_client(client_id, account.device_id, account.password)
    client.on_connect = on_connect
    client.connect(*settings.mqtt_host_port(), keepalive=30)
    client.loop_start()
    assert done.wait(5), "no CONNACK within 5 s"
    return client, result["rc"]


def _subscribe(client: mqtt.Client, topics: list[str]) -> list[int]:
    granted: list[int] = []
    done = threading.Event()

    def on_subscribe(
        _c: object, _u: object, _mid: int, codes: list[ReasonCode], _p: object
    ) -> None:
        granted.extend(int(c.value) for c in codes)
        done.set()

    client.on_subscribe = on_subscribe
    client.subscribe([(t, 1) for t in topics])
    assert done.wait(5), "no SUBACK within 5 s"
    return granted


def _publish_statuses(client: mqtt.Client, device_id: str, n: int) -> None:
    now = datetime.now(UTC)
    for seq in range(1, n + 1):
        msg = json.dumps(example("status.json", device_id, seq=seq, now=now)).encode()
        client.publish(f"stayactive/v1/{device_id}/status", msg, qos=1).wait_for_publish(5)


def _close(*clients: mqtt.Client) -> None:
    for client in clients:
        client.disconnect()
        client.loop_stop()


def test_a_device_cannot_join_ingests_shared_subscription(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    victim, attacker = devices(2).values()
    running = ingest_worker()
    group = running.config.share_group
    hostile, rc = _connect(schema.settings, attacker, attacker.device_id)
    assert rc == "Success"
    granted = _subscribe(
        hostile,
        [f"$share/{group}/stayactive/v1/+/+", "stayactive/v1/+/+", "#",
         f"stayactive/v1/{victim.device_id}/config", f"$share/{group}/#"],
    )  # fmt: skip
    assert granted == [NOT_AUTHORIZED] * 5
    got: list[str] = []
    hostile.on_message = lambda _c, _u, m: got.append(m.topic)
    sender, rc = _connect(schema.settings, victim, victim.device_id)
    _publish_statuses(sender, victim.device_id, 200)
    wait_until(lambda: count(conn, "device_status", device_id=victim.device_id) == 200, 30)
    _close(hostile, sender)
    assert got == []  # not one message reached the attacker: lost 0 of 200 (was 100)


def test_a_device_cannot_use_another_accounts_client_id(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    victim, attacker = devices(2).values()
    running = ingest_worker()
    disconnects: list[str] = []
    assert running.worker is not None
    running.worker._client.on_disconnect = lambda *a: disconnects.append(str(a[3]))
    sender, _rc = _connect(schema.settings, victim, victim.device_id)
    for stolen in (running.config.client_id, victim.device_id, "ingest"):
        client, rc = _connect(schema.settings, attacker, stolen)
        assert rc == "Not authorized", (stolen, rc)
        _close(client)
    _publish_statuses(sender, victim.device_id, 200)
    wait_until(lambda: count(conn, "device_status", device_id=victim.device_id) == 200, 30)
    _close(sender)
    assert disconnects == []  # ingest was never kicked (was 11 disconnects in 23 s)


def test_provisioning_refuses_device_ids_of_service_accounts(
    schema: Schema, ingest_worker: Callable[..., IngestThread]
) -> None:
    running = ingest_worker()
    accounts = services.broker_accounts(schema.settings)
    for name in (running.config.client_id, "ingest", "stayactive-admin", "Admin"):
        with pytest.raises(AccountConflict):
            provision(
                schema.settings, "test", [NewDevice(name, "walker", "SN-x")], accounts=accounts
            )
    assert {"ingest", "admin", "stayactive-admin"} <= RESERVED_NAMES
    assert running.worker is not None and running.worker.metrics.healthy()["broker"]
    with schema.connect() as conn:
        assert count(conn, "devices", device_id=running.config.client_id) == 0


def test_rotation_refuses_the_old_password_and_kicks_the_open_connection(
    settings: Settings, device_account: Callable[[], DeviceAccount]
) -> None:
    account = device_account()
    me = account.device_id
    accounts = services.broker_accounts(settings)
    client, rc = _connect(settings, account, me)
    assert rc == "Success"
    dropped = threading.Event()
    client.on_disconnect = lambda *_a: dropped.set()
    client.reconnect_delay_set(60, 60)  # so it stays away after the kick
    started = time.monotonic()
    new_password = rotate(accounts, me)
    assert dropped.wait(5), "the open connection was not closed"
    kicked_s = time.monotonic() - started
    _close(client)
    host, port = settings.mqtt_host_port()
    with pytest.raises(ServiceError, match="refused"):
        check_login(host, port, me, account.password, client_id=me)
    check_login(host, port, me, new_password, client_id=me)
    assert kicked_s < 5


def test_a_deactivated_device_is_kicked_and_cannot_log_in(
    settings: Settings, device_account: Callable[[], DeviceAccount]
) -> None:
    account = device_account()
    me = account.device_id
    client, _rc = _connect(settings, account, me)
    dropped = threading.Event()
    client.on_disconnect = lambda *_a: dropped.set()
    client.reconnect_delay_set(60, 60)
    services.broker_accounts(settings).set_enabled(me, False)
    assert dropped.wait(5), "the open connection was not closed"
    _close(client)
    host, port = settings.mqtt_host_port()
    with pytest.raises(ServiceError, match="refused"):
        check_login(host, port, me, account.password, client_id=me)


def test_a_packet_far_over_the_limit_closes_only_the_senders_connection(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    victim, attacker = devices(2).values()
    ingest_worker()
    hostile, _rc = _connect(schema.settings, attacker, attacker.device_id)
    dropped = threading.Event()
    hostile.on_disconnect = lambda *_a: dropped.set()
    hostile.reconnect_delay_set(60, 60)
    for _ in range(20):
        hostile.publish(f"stayactive/v1/{attacker.device_id}/status", b"{" + b" " * (1 << 20))
    assert dropped.wait(5), "the broker kept a connection that sent 1 MiB packets"
    _close(hostile)
    sender, _rc = _connect(schema.settings, victim, victim.device_id)
    _publish_statuses(sender, victim.device_id, 50)
    wait_until(lambda: count(conn, "device_status", device_id=victim.device_id) == 50, 30)
    _close(sender)
    assert count(conn, "ingest_rejects", device_id=attacker.device_id) == 0  # never reached us


def test_worker_accounts_are_bound_to_their_client_id(
    schema: Schema, ingest_worker: Callable[..., IngestThread]
) -> None:
    running = ingest_worker()
    user, password = schema.settings.ingest_credentials(running.config.client_id)
    host, port = schema.settings.mqtt_host_port()
    with pytest.raises(ServiceError, match="refused"):
        check_login(host, port, user, password, client_id="ingest-" + uuid.uuid4().hex[:6])
