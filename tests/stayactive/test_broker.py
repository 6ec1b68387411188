"""The broker's accounts and ACLs, tested with real clients on the real Mosquitto."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest

from stayactive.errors import ServiceError
from stayactive.mqtt import check_login, new_client
from stayactive.settings import Settings
from tests.fixtures.services import DeviceAccount, Subscriber


def test_device_publishes_only_under_its_own_prefix(
    device_account: Callable[[], DeviceAccount],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_subscriber: Callable[[str], Subscriber],
) -> None:
    mine, other = device_account(), device_account()
    sub = ingest_subscriber("stayactive/v1/+/telemetry")  # not status: retained ones linger
    client = device_client(mine)
    client.publish(
        f"stayactive/v1/{other.device_id}/telemetry", b"spoofed", qos=1
    ).wait_for_publish(5)
    client.publish(f"stayactive/v1/{mine.device_id}/telemetry", b"genuine", qos=1).wait_for_publish(
        5
    )
    received = sub.wait_for(1)
    # Wait past the genuine one a little so a late spoofed delivery would be seen too.
    sub.wait_for(2, timeout_s=0.5)
    assert [(m.topic, m.payload) for m in sub.messages] == [
        (f"stayactive/v1/{mine.device_id}/telemetry", b"genuine")
    ]
    assert len(received) == 1


def test_device_reads_only_its_own_config(
    settings: Settings,
    device_account: Callable[[], DeviceAccount],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    service_account: Callable[[], DeviceAccount],
) -> None:
    mine, other = device_account(), device_account()
    svc = service_account()
    backend = new_client(svc.device_id, svc.device_id, svc.password)
    backend.connect(*settings.mqtt_host_port())
    backend.loop_start()
    try:
        for account in (mine, other):
            topic = f"stayactive/v1/{account.device_id}/config"
            backend.publish(topic, account.device_id.encode(), qos=1, retain=True).wait_for_publish(
                5
            )
        client = device_client(mine)
        got: list[tuple[str, bytes]] = []
        both_acked = threading.Event()
        client.on_message = lambda _c, _u, m: got.append((m.topic, m.payload))
        client.on_subscribe = lambda *_a: both_acked.set()
        client.subscribe(
            [
                (f"stayactive/v1/{mine.device_id}/config", 1),
                (f"stayactive/v1/{other.device_id}/config", 1),
            ]
        )
        assert both_acked.wait(5)
        time.sleep(0.5)  # give a wrongly allowed retained message time to arrive
        assert got == [(f"stayactive/v1/{mine.device_id}/config", mine.device_id.encode())]
    finally:
        for account in (mine, other):  # clear the retained messages
            backend.publish(
                f"stayactive/v1/{account.device_id}/config", b"", retain=True
            ).wait_for_publish(5)
        backend.disconnect()
        backend.loop_stop()


def test_wrong_password_is_refused_at_connect(
    settings: Settings, device_account: Callable[[], DeviceAccount]
) -> None:
    account = device_account()
    host, port = settings.mqtt_host_port()
    me = account.device_id
    with pytest.raises(ServiceError, match="refused"):
        check_login(host, port, me, account.password + "x", client_id=me)
    check_login(host, port, me, account.password, client_id=me)


def test_anonymous_login_is_refused(settings: Settings) -> None:
    host, port = settings.mqtt_host_port()
    client = new_client("anon-" + uuid.uuid4().hex[:6], "", "")
    client.username_pw_set(None, None)
    refused = threading.Event()
    client.on_connect = lambda _c, _u, _f, reason, _p: refused.set() if reason.is_failure else None
    client.connect(host, port)
    client.loop_start()
    try:
        assert refused.wait(5)
    finally:
        client.disconnect()
        client.loop_stop()
