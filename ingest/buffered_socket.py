"""An MQTT client that reads its socket in large chunks and acknowledges in one write.

paho reads every packet with at least three ``recv`` calls (the command byte, each byte of the
remaining length, then the rest), after a ``select`` of its own; at a thousand telemetry messages
a second that is some five thousand system calls a second and the Python around each, on the
thread that competes with validation for the interpreter. :class:`BufferedSocket` serves those
small reads from one ``recv`` of up to :data:`READ_BYTES`, and reports what it holds through
``pending()``, which paho's loop already asks of TLS sockets so as not to wait in ``select`` for
bytes that have arrived; so nothing waits on data that is already here.

Acknowledging has the same shape the other way: paho's ``ack`` queues one four-byte PUBACK,
wakes the network thread through a socket pair and has it write that packet alone, for every
message. :meth:`BufferedReadClient.ack_many` queues the PUBACKs of a committed batch as one
write, in the order given.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MessageType

#: Bytes asked of the kernel per read: some fifteen telemetry messages of 19 KB.
READ_BYTES = 256 * 1024
# PUBACK: fixed header, remaining length 2, packet id. In MQTT 5 a PUBACK without reason code
# and properties means success (section 3.4.2.1); paho sends the same bytes.
_PUBACK = struct.Struct("!BBH")


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

    def ack_many(self, mids: Sequence[int]) -> None:
        """Acknowledge the QoS 1 messages ``mids``, in this order, with one write."""
        if not mids:
            return
        packet = b"".join(_PUBACK.pack(MessageType.PUBACK, 2, mid) for mid in mids)
        self._packet_queue(MessageType.PUBACK, packet, 0, 0)
