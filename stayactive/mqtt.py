"""Small paho-mqtt helpers shared by the services check, ingest and the tests."""

from __future__ import annotations

import socket
import ssl
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from stayactive.errors import ConfigurationError, ServiceError


def tls_context(ca_file: Path) -> ssl.SSLContext:
    """A client-side TLS context that trusts only ``ca_file`` and checks the broker's name
    (TLS 1.2 or newer); :class:`ConfigurationError` when the file is missing or no CA."""
    try:
        context = ssl.create_default_context(cafile=str(ca_file))
    except (FileNotFoundError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"cannot use {ca_file} as the broker's CA ({exc}): set STAYACTIVE_MQTT_CA_FILE, or "
            "run `stayactive services up` for the local broker's"
        ) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def check_tls(host: str, port: int, ca_file: Path, *, timeout_s: float = 5) -> None:
    """Complete a TLS handshake with the broker, trusting only ``ca_file``; raise
    :class:`ServiceError` saying why it failed (an untrusted or misnamed certificate)."""
    context = tls_context(ca_file)
    try:
        with (
            socket.create_connection((host, port), timeout=timeout_s) as sock,
            context.wrap_socket(sock, server_hostname=host),
        ):
            return
    except ssl.SSLError as exc:
        raise ServiceError(f"TLS with the MQTT broker at {host}:{port} failed: {exc}") from exc
    except OSError as exc:
        raise ServiceError(f"cannot reach the MQTT broker at {host}:{port}: {exc}") from exc


def new_client(
    client_id: str,
    username: str,
    password: str,
    *,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
    ca_file: Path | None = None,
) -> mqtt.Client:
    """A paho client (callback API v2) with credentials set, and TLS trusting ``ca_file`` when
    given; not yet connected."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
    )
    client.username_pw_set(username, password)
    if ca_file is not None:
        client.tls_set_context(tls_context(ca_file))
    return client


def connack(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    timeout_s: float = 5,
    client_id: str | None = None,
    ca_file: Path | None = None,
) -> ReasonCode:
    """Connect, wait for the broker's CONNACK and disconnect; return its reason code. Raise
    :class:`ServiceError` when the broker cannot be reached or does not answer in time.

    ``client_id`` defaults to a fresh one. The login leaves no session behind: it starts clean,
    with no session expiry (MQTT 5: the new session ends with the connection), so with a client
    id that had a session it takes over that client's connection, ends its session and drops
    what the broker queued for it (:func:`ingest.end_session`)."""
    result: dict[str, ReasonCode] = {}
    done = threading.Event()

    def on_connect(
        client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
    ) -> None:
        result["reason"] = reason
        done.set()

    if ca_file is not None:
        check_tls(host, port, ca_file, timeout_s=timeout_s)
    client = new_client(
        client_id or f"check-{uuid.uuid4().hex[:12]}", username, password, ca_file=ca_file
    )
    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=10, clean_start=True)
    except OSError as exc:
        raise ServiceError(f"cannot reach the MQTT broker at {host}:{port}: {exc}") from exc
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            raise ServiceError(
                f"the MQTT broker at {host}:{port} did not answer CONNACK in {timeout_s} s"
            )
        return result["reason"]
    finally:
        client.disconnect()
        client.loop_stop()


def check_login(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    timeout_s: float = 5,
    client_id: str | None = None,
    ca_file: Path | None = None,
) -> None:
    """Log in and out as :func:`connack` does; raise :class:`ServiceError` saying why a login
    failed. An account bound to a client id needs that one."""
    reason = connack(
        host, port, username, password, timeout_s=timeout_s, client_id=client_id, ca_file=ca_file
    )
    if reason.is_failure:
        raise ServiceError(f"the MQTT broker at {host}:{port} refused {username!r}: {reason}")
