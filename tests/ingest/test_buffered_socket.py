"""The buffered socket gives paho the bytes it asks for, in order, and says what it holds; the
client acknowledges a batch with the bytes paho would send for each message."""

from __future__ import annotations

import socket

import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ingest.buffered_socket import BufferedReadClient, BufferedSocket


def test_small_reads_come_from_one_large_read_in_order() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        sock = BufferedSocket(right, read_bytes=1024)
        left.sendall(b"\x30\x85\x01" + bytes(range(256)) * 4)
        assert sock.recv(1) == b"\x30"
        assert sock.pending() == 1023  # one recv of 1024 bytes; the rest waits in the buffer
        assert sock.recv(1) + sock.recv(1) == b"\x85\x01"
        body = sock.recv(5000)  # at most what is held: paho asks again for the rest
        assert body == (bytes(range(256)) * 4)[:1021]
        assert sock.pending() == 0
        rest = sock.recv(5000)
        assert body + rest == bytes(range(256)) * 4
        with pytest.raises(BlockingIOError):  # nothing held, nothing on the socket
            sock.recv(1)
        assert sock.fileno() == right.fileno()  # the rest is the socket's: select works on it


def test_a_closed_peer_reads_as_end_of_stream_after_what_was_held() -> None:
    left, right = socket.socketpair()
    with right:
        sock = BufferedSocket(right)
        left.sendall(b"last bytes")
        left.close()
        assert sock.recv(4) == b"last"
        assert sock.recv(100) == b" bytes"
        assert sock.recv(1) == b""


def test_many_acknowledgements_are_the_bytes_of_one_each_in_order() -> None:
    def client() -> BufferedReadClient:
        return BufferedReadClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )

    mids = [7, 1, 65535, 300]
    one_by_one, batched = client(), client()
    for mid in mids:
        one_by_one.ack(mid, 1)
    batched.ack_many(mids)
    # Not connected: the packets stay queued, so their bytes can be compared.
    queued = [p["packet"] for p in one_by_one._out_packet]
    assert len(queued) == len(mids)
    assert [p["packet"] for p in batched._out_packet] == [b"".join(queued)]
