"""An MQTT client that reads its socket in large chunks and acknowledges in one write.

paho reads every packet with at least three ``recv`` calls (the command byte, each byte of the
remaining length, then the rest), after a ``select`` of its own; at a thousand telemetry messages
a second that is some five thousand system calls a second and the Python around each, on the
thread that competes with validation for the interpreter. :class:`BufferedSocket` serves those
small reads from one ``recv`` of up to :data:`READ_BYTES`, and reports what it holds through
``pending()``, which paho's loop already asks of TLS sockets so as not to wait in ``select`` for
bytes that have arrived; so nothing waits on data that is already here.

Whole packets are taken from the buffer, too: :meth:`BufferedReadClient._packet_read` hands
every complete QoS 0 or 1 PUBLISH the buffer holds to the callbacks in one call, parsed from the
buffer once (paho reads a packet in at least three calls, copies its body five times while
taking it apart, and goes through ``select`` once per packet). Anything else, and a packet
still arriving, takes paho's own path; the bytes are the same either way.

Acknowledging has the same shape the other way: paho's ``ack`` queues one four-byte PUBACK,
wakes the network thread through a socket pair and has it write that packet alone, for every
message. :meth:`BufferedReadClient.ack_many` queues the PUBACKs of a committed batch as one
write, in the order given.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MessageType, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

#: Bytes asked of the kernel per read: some fifteen telemetry messages of 19 KB.
READ_BYTES = 256 * 1024
# PUBACK: fixed header, remaining length 2, packet id. In MQTT 5 a PUBACK without reason code
# and properties means success (section 3.4.2.1); paho sends the same bytes.
_PUBACK = struct.Struct("!BBH")
_U16 = struct.Struct("!H")
_PUBLISH = 0x30


class BufferedSocket:
    """A connected socket whose ``recv`` is served from a buffer filled by large reads.

    Everything but ``recv`` and ``pending`` goes to the socket itself (``send``, ``fileno``
    for ``select``, ``close``, …). Like the socket's, ``recv`` returns at most ``bufsize``
    bytes and may return fewer; it raises ``BlockingIOError`` only when the buffer is empty
    and the socket has nothing either, and returns ``b""`` once the peer closed.
    """

    def __init__(self, sock: Any, read_bytes: int = READ_BYTES) -> None:
        self._sock = sock
        self._read_bytes = read_bytes
        self._data = b""
        self._at = 0

    def recv(self, bufsize: int) -> bytes:
        if self._at >= len(self._data):
            data = self._sock.recv(self._read_bytes)
            if not data:
                return b""
            self._data, self._at = data, 0
        end = self._at + bufsize
        chunk = self._data[self._at : end]
        self._at = min(end, len(self._data))
        return chunk

    def next_packet(self) -> tuple[int, int, int] | None:
        """The next whole packet held: (its first byte, where its body starts and ends in
        :attr:`data`); None when the buffer holds less than a whole packet. Nothing is taken
        until :meth:`skip`."""
        data, at = self._data, self._at
        end = len(data)
        remaining = _varint(data, at + 1, end)  # the remaining length, after the first byte
        if remaining is None:
            return None  # not all here (or malformed: paho's own path tells)
        length, i = remaining
        if i + length > end:
            return None
        return data[at], i, i + length

    @property
    def data(self) -> bytes:
        """The bytes of the last large read (what :meth:`next_packet` points into)."""
        return self._data

    def skip(self, to: int) -> None:
        """Take the held bytes up to ``to`` (the end of a packet from :meth:`next_packet`)."""
        self._at = to

    def refill(self) -> bool:
        """Read more, keeping the bytes of a packet still arriving; False when the peer has
        closed. May raise what the socket's ``recv`` raises (``BlockingIOError``)."""
        more = self._sock.recv(self._read_bytes)
        if not more:
            return False
        self._data, self._at = self._data[self._at :] + more, 0
        return True

    def held(self) -> int:
        """Bytes read and not yet taken (without a TLS socket's own)."""
        return len(self._data) - self._at

    def pending(self) -> int:
        """Bytes already read and not yet taken (and a TLS socket's own)."""
        inner = getattr(self._sock, "pending", None)
        return len(self._data) - self._at + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BufferedReadClient(mqtt.Client):
    """A paho client whose connection is a :class:`BufferedSocket` (TCP and TLS alike)."""

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if self._transport == "websockets":  # paho's own wrapper buffers frames already
            return sock
        return BufferedSocket(sock)

    def _packet_read(self) -> MQTTErrorCode:
        """Hand every whole QoS 0/1 PUBLISH the buffer holds to the callbacks; paho's own
        read for anything else (and whatever is not whole yet)."""
        sock = self._sock
        if (
            not isinstance(sock, BufferedSocket)
            or self._in_packet["command"] != 0  # paho is in the middle of a packet
            or self._protocol != MQTTProtocolVersion.MQTTv5
        ):
            return super()._packet_read()
        try:
            # Read what has arrived until a whole packet is held: a packet larger than one read
            # would otherwise always go paho's slow way.
            while sock.next_packet() is None:
                if not sock.refill():
                    return super()._packet_read()  # closed: paho says so
        except OSError:  # BlockingIOError included: paho's own read handles it as it does
            return super()._packet_read()
        handled = 0
        while (whole := sock.next_packet()) is not None:
            header, start, end = whole
            message = _publish(header, sock.data, start, end)
            if message is None:
                break  # not a PUBLISH of QoS 0 or 1, or not as expected: paho's path
            sock.skip(end)
            handled += 1
            self._handle_on_message(message)
            if message.qos == 1 and not self._manual_ack:
                rc = self._send_puback(message.mid)
                if rc:
                    return rc
        if not handled:
            return super()._packet_read()
        with self._msgtime_mutex:
            self._last_bytes_received = time.monotonic()
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def ack_many(self, mids: Sequence[int]) -> None:
        """Acknowledge the QoS 1 messages ``mids``, in this order, with one write."""
        if not mids:
            return
        packet = b"".join(_PUBACK.pack(MessageType.PUBACK, 2, mid) for mid in mids)
        self._packet_queue(MessageType.PUBACK, packet, 0, 0)


class _Message(mqtt.MQTTMessage):
    """An incoming message without the ``MQTTMessageInfo`` (and its lock) that paho builds
    for every message and uses for outgoing ones only."""

    __slots__ = ()

    def __init__(self, mid: int, topic: bytes) -> None:
        self.timestamp = time.monotonic()
        self.state = mqtt.mqtt_ms_invalid
        self.dup = False
        self.mid = mid
        self._topic = topic
        self.payload = b""
        self.qos = 0
        self.retain = False
        self.info = None  # type: ignore[assignment]
        self.properties = None


def _publish(header: int, data: bytes, start: int, end: int) -> _Message | None:
    """The MQTT 5 PUBLISH at ``data[start:end]`` (its body; ``header`` its first byte), or
    None for another packet, QoS 2, or anything unexpected (paho's own path decides). Its
    ``properties`` are None when the packet has none (paho gives an empty set)."""
    qos = (header & 0x06) >> 1
    if header & 0xF0 != _PUBLISH or qos == 2 or end - start < 3:
        return None
    (topic_len,) = _U16.unpack_from(data, start)
    at = start + 2 + topic_len
    mid = 0
    if qos:
        if at + 2 > end:
            return None
        (mid,) = _U16.unpack_from(data, at)
        at += 2
    # The properties' length, then the properties.
    props_start = at
    props = _varint(data, at, end)
    if props is None:
        return None
    props_len, at = props
    if at + props_len > end:
        return None
    message = _Message(mid, data[start + 2 : start + 2 + topic_len])
    message.dup = bool(header & 0x08)
    message.qos = qos
    message.retain = bool(header & 0x01)
    if props_len:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.unpack(data[props_start : at + props_len])  # type: ignore[no-untyped-call]
        message.properties = properties
    message.payload = data[at + props_len : end]
    return message


def _varint(data: bytes, at: int, end: int) -> tuple[int, int] | None:
    """The MQTT variable byte integer at ``data[at:]`` (one to four bytes of seven bits, least
    significant first) and where it ends; None if it runs past ``end`` or over four bytes."""
    value, shift = 0, 0
    while at < end and shift <= 21:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7
    return None
