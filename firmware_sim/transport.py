"""Many simulated devices' MQTT connections, served by one thread.

Each device has its own paho client (its own credentials, client id and last will), but no
network thread of its own: :meth:`Fleet.poll` serves every socket through one selector, so a
thousand devices cost a thousand sockets, not a thousand threads. A QoS 1 publication counts as
delivered only when its PUBACK arrives; what is still unacknowledged when a connection drops is
handed back to the caller, which replays it (the source of realistic QoS 1 duplicates).
"""

from __future__ import annotations

import contextlib
import logging
import resource
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

#: What the caller tags a publication with; it gets the tag back on delivery or on a drop.
T = TypeVar("T")


@dataclass(frozen=True)
class Publication:
    """One MQTT publication a device makes."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass
class _Link(Generic[T]):
    device_id: str
    client: mqtt.Client
    sock: socket.socket | None = None
    connected: bool = False
    refused: str | None = None
    lost: bool = False
    max_packet_bytes: int | None = None  # the broker's Maximum Packet Size, from CONNACK
    in_flight: dict[int, T] = field(default_factory=dict)


class DevicesRefused(ConnectionRefusedError):
    """The broker refused some devices' logins; ``refused`` maps each to the broker's reason."""

    def __init__(self, refused: dict[str, str]) -> None:
        super().__init__(f"the broker refused {refused}")
        self.refused = refused


def raise_open_files_limit() -> None:
    """Lift the soft limit on open files to the hard one: a socket per device adds up."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Fleet(Generic[T]):
    """The MQTT connections of a set of devices on one broker."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        on_delivered: Callable[[str, T], None] | None = None,
        on_message: Callable[[str, str, bytes], None] | None = None,
        max_in_flight: int = 50,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: connect with TLS (a context that trusts the broker's CA; a device with a
        client certificate passes its own context to :meth:`connect`)."""
        self.host, self.port = host, port
        self._tls = tls
        self._selector = selectors.DefaultSelector()
        self._links: dict[str, _Link[T]] = {}
        self.on_delivered = on_delivered
        self._on_message = on_message
        self._max_in_flight = max_in_flight
        self._last_misc = 0.0
        raise_open_files_limit()

    # --- connections -----------------------------------------------------------------------

    def connect(
        self,
        device_id: str,
        password: str | None,
        *,
        will: Publication | None = None,
        subscribe: tuple[str, ...] = (),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """Open the device's connection (CONNACK arrives through :meth:`poll`). ``password``
        None: the device logs in with the client certificate of its ``tls`` context."""
        if device_id in self._links:
            raise RuntimeError(f"{device_id} is already connected")
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=device_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if password is not None:
            client.username_pw_set(device_id, password)
        if (tls or self._tls) is not None:
            client.tls_set_context(tls or self._tls)
        client.max_inflight_messages_set(self._max_in_flight)
        client.max_queued_messages_set(0)
        if will is not None:
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        link: _Link[T] = _Link(device_id, client)

        def on_connect(
            c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, props: object
        ) -> None:
            if rc.is_failure:
                link.refused = str(rc)
                return
            link.max_packet_bytes = getattr(props, "MaximumPacketSize", None)
            link.connected = True
            if subscribe:
                c.subscribe([(t, 1) for t in subscribe])

        def on_publish(_c: mqtt.Client, _u: object, mid: int, rc: ReasonCode, _p: object) -> None:
            if mid in link.in_flight:
                tag = link.in_flight.pop(mid)
                if self.on_delivered is not None:
                    self.on_delivered(device_id, tag)

        def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
            if self._on_message is not None:
                self._on_message(device_id, message.topic, bytes(message.payload))

        client.on_connect = on_connect
        client.on_publish = on_publish
        client.on_message = on_message
        client.connect(self.host, self.port, keepalive=60)
        sock = client.socket()
        assert isinstance(sock, socket.socket)
        link.sock = sock
        self._selector.register(sock, selectors.EVENT_READ, link)
        self._links[device_id] = link

    def wait_connected(self, device_ids: list[str], timeout_s: float = 10.0) -> None:
        """Serve the sockets until every one of ``device_ids`` is connected (or refused)."""
        deadline = time.monotonic() + timeout_s
        while True:
            pending = [d for d in device_ids if not self._links[d].connected]
            refused = {d: self._links[d].refused for d in pending if self._links[d].refused}
            if refused:
                raise DevicesRefused({d: str(r) for d, r in refused.items()})
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} devices not connected after {timeout_s} s")
            self.poll(0.05)

    def is_connected(self, device_id: str) -> bool:
        link = self._links.get(device_id)
        return link is not None and link.connected

    def disconnect(self, device_id: str) -> list[T]:
        """Orderly disconnect (no last will); return the publications never acknowledged."""
        link = self._links.get(device_id)
        if link is None:
            return []
        link.client.disconnect()
        self._flush(link)
        return self._close(link)

    def drop(self, device_id: str) -> list[T]:
        """Lose the connection without DISCONNECT, as a network failure would: the broker
        publishes the last will. Return the publications never acknowledged."""
        link = self._links.get(device_id)
        if link is None:
            return []
        return self._close(link, abort=True)

    def lost(self) -> list[str]:
        """Devices whose connection broke (the broker closed it, or the socket failed)."""
        return [d for d, link in self._links.items() if link.lost]

    def _mark_lost(self, link: _Link[T]) -> None:
        # Unregister at once: paho closes the socket, and a new connection may get its number.
        if not link.lost:
            log.info("%s: connection lost", link.device_id)
            if link.sock is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(link.sock)
        link.connected = False
        link.lost = True

    def _close(self, link: _Link[T], *, abort: bool = False) -> list[T]:
        sock = link.client.socket()
        if isinstance(sock, socket.socket) and not link.lost:
            self._selector.unregister(sock)
            if abort:
                sock.close()
                with contextlib.suppress(OSError):
                    link.client.loop_read()  # lets paho notice the closed socket
        del self._links[link.device_id]
        unacknowledged = list(link.in_flight.values())  # in the order they were sent
        link.in_flight.clear()
        return unacknowledged

    def close(self) -> None:
        """Disconnect every device in order."""
        for device_id in list(self._links):
            self.disconnect(device_id)

    # --- publishing ------------------------------------------------------------------------

    def can_publish(self, device_id: str) -> bool:
        """True when the device is connected and below its in-flight window."""
        link = self._links.get(device_id)
        return link is not None and link.connected and len(link.in_flight) < self._max_in_flight

    def fits(self, device_id: str, publication: Publication) -> bool:
        """Whether the publication's packet is within the broker's Maximum Packet Size (MQTT 5
        forbids sending a larger one; the broker would close the connection)."""
        limit = self._links[device_id].max_packet_bytes
        if limit is None:
            return True
        # Fixed header (at most 5 bytes), topic length and name, packet id, properties length.
        overhead = 5 + 2 + len(publication.topic.encode()) + 2 + 1
        return overhead + len(publication.payload) <= limit

    def publish(self, device_id: str, publication: Publication, tag: T) -> None:
        """Send ``publication`` now; the device must be connected (see :meth:`can_publish`).

        ``tag`` comes back through ``on_delivered`` at the PUBACK, or from :meth:`drop` and
        :meth:`disconnect` when none came."""
        link = self._links[device_id]
        info = link.client.publish(
            publication.topic, publication.payload, qos=publication.qos, retain=publication.retain
        )
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self._mark_lost(link)
            raise ConnectionError(f"{device_id}: publish failed ({mqtt.error_string(info.rc)})")
        if publication.qos > 0:
            link.in_flight[info.mid] = tag
        self._flush(link)

    def in_flight(self) -> int:
        """Publications sent and not yet acknowledged, over all devices."""
        return sum(len(link.in_flight) for link in self._links.values())

    # --- the loop --------------------------------------------------------------------------

    def poll(self, timeout_s: float = 0.0) -> None:
        """Serve every socket once: read what arrived, write what is queued, keep alive."""
        for key, _mask in self._selector.select(timeout_s if self._links else 0):
            link: _Link[T] = key.data
            if link.client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                self._mark_lost(link)
        # TLS: what arrived may be decrypted already and waiting in the SSL object, where the
        # selector does not see it (paho's own loop checks pending() the same way).
        for link in list(self._links.values()):
            while not link.lost and isinstance(link.sock, ssl.SSLSocket) and link.sock.pending():
                if link.client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                    self._mark_lost(link)
        for link in list(self._links.values()):
            self._flush(link)
        now = time.monotonic()
        if now - self._last_misc >= 1.0:
            self._last_misc = now
            for link in self._links.values():
                link.client.loop_misc()
        if not self._links and timeout_s:
            time.sleep(timeout_s)

    def _flush(self, link: _Link[T]) -> None:
        if link.lost or not link.client.want_write():
            return
        if link.client.loop_write() != mqtt.MQTT_ERR_SUCCESS:
            self._mark_lost(link)
