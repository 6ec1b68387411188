"""Ending an ingest worker's broker session from outside the worker.

A worker's session is persistent: while it is away the broker queues what its subscription
matches, and hands it over when it comes back. For a worker that will not come back in the
same role (a demo started afresh, whose devices are provisioned anew) what is queued belongs
to a world that is gone; connecting once with the worker's client id and a clean start ends
the session and drops the queue.
"""

from __future__ import annotations

import threading

from paho.mqtt.client import Client, ConnectFlags
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from stayactive.errors import ServiceError
from stayactive.mqtt import tls_context
from stayactive.settings import Settings


def end_session(settings: Settings, worker_id: str, timeout_s: float = 10.0) -> None:
    """End worker ``worker_id``'s session on the broker, dropping what it queued.

    Raises :class:`~stayactive.errors.ServiceError` if the broker cannot be reached or
    refuses the worker's account."""
    connected = threading.Event()
    outcome: list[ReasonCode] = []

    def on_connect(
        _c: Client, _u: object, _f: ConnectFlags, reason: ReasonCode, _p: Properties | None
    ) -> None:
        outcome.append(reason)
        connected.set()

    client = Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=worker_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.username_pw_set(*settings.ingest_credentials(worker_id))
    ca_file = settings.mqtt_tls_ca()
    if ca_file is not None:
        client.tls_set_context(tls_context(ca_file))
    client.on_connect = on_connect
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0  # the new, empty session ends with this connection
    host, port = settings.mqtt_host_port()
    try:
        client.connect(host, port, keepalive=30, clean_start=True, properties=props)
    except OSError as exc:
        raise ServiceError(f"could not reach the broker at {host}:{port}: {exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            raise ServiceError(f"the broker at {host}:{port} did not answer within {timeout_s} s")
        if outcome[0].is_failure:
            raise ServiceError(f"the broker refused ingest worker {worker_id!r}: {outcome[0]}")
        client.disconnect()
    finally:
        client.loop_stop()
