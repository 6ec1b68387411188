"""Small paho-mqtt helpers shared by the services check, ingest and the tests."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from stayactive.errors import ServiceError


def new_client(
    client_id: str,
    username: str,
    password: str,
    *,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
) -> mqtt.Client:
    """A paho client (callback API v2) with credentials set; not yet connected."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
    )
    client.username_pw_set(username, password)
    return client


def check_login(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    timeout_s: float = 5,
    client_id: str | None = None,
) -> None:
    """Connect and disconnect; raise :class:`ServiceError` saying why a login failed.

    ``client_id`` defaults to a fresh one; an account bound to a client id needs that one."""
    result: dict[str, ReasonCode] = {}
    done = threading.Event()

    def on_connect(
        client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
    ) -> None:
        result["reason"] = reason
        done.set()

    client = new_client(client_id or f"check-{uuid.uuid4().hex[:12]}", username, password)
    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=10)
    except OSError as exc:
        raise ServiceError(f"cannot reach the MQTT broker at {host}:{port}: {exc}") from exc
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            raise ServiceError(
                f"the MQTT broker at {host}:{port} did not answer CONNECT in {timeout_s} s"
            )
        reason = result["reason"]
        if reason.is_failure:
            raise ServiceError(f"the MQTT broker at {host}:{port} refused {username!r}: {reason}")
    finally:
        client.disconnect()
        client.loop_stop()
