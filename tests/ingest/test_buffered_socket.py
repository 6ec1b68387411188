"""The buffered socket gives paho the bytes it asks for, in order, and says what it holds; the
client acknowledges a batch with the bytes paho would send for each message."""

from __future__ import annotations

import socket

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

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


def _publish_packet(
    topic: str, payload: bytes, *, qos: int, mid: int, props: bytes, retain: bool
) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic.encode()
    if qos:
        body += mid.to_bytes(2, "big")
    body += props + payload
    length, n = b"", len(body)
    while True:  # the remaining length, seven bits a byte
        n, digit = divmod(n, 128)
        length += bytes([digit | (0x80 if n else 0)])
        if not n:
            break
    return bytes([0x30 | qos << 1 | retain]) + length + body


Seen = tuple[str, bytes | bytearray, int, int, bool, bool, object]


def _received(
    client_type: type[mqtt.Client], stream: bytes, read_bytes: int
) -> tuple[list[Seen], list[str]]:
    """What on_message sees when ``client_type`` reads ``stream`` (sent in pieces), and the
    class of each message (ours from the buffer, or paho's)."""
    left, right = socket.socketpair()
    got: list[Seen] = []
    kinds: list[str] = []

    def on_message(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        kinds.append(type(m).__name__)
        content_type = getattr(m.properties, "ContentType", None)
        got.append((m.topic, m.payload, m.mid, m.qos, m.retain, m.dup, content_type))

    with left, right:
        right.setblocking(False)
        client = client_type(
            callback_api_version=CallbackAPIVersion.VERSION2,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        client.on_message = on_message
        buffered = BufferedSocket(right, read_bytes) if client_type is BufferedReadClient else None
        client._sock = buffered or right
        for at in range(0, len(stream), 50_000):  # a packet may straddle two sends
            left.sendall(stream[at : at + 50_000])
            # paho's client reads until the socket is empty; ours also until its buffer is
            while client._packet_read() == 0 and (buffered is None or buffered.pending()):
                pass
    return got, kinds


def test_whole_publish_packets_from_the_buffer_reach_on_message_as_paho_gives_them() -> None:
    cbor = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    cbor.ContentType = "application/cbor"
    cbor_props: bytes = cbor.pack()  # type: ignore[no-untyped-call]
    packets = [
        _publish_packet(f"stayactive/v1/W-{i}/telemetry", bytes([i]) * (100 + 997 * i),
                        qos=1 if i % 5 else 0, mid=i + 1,
                        props=cbor_props if i % 3 == 0 else b"\x00", retain=i % 4 == 0)
        for i in range(40)
    ]  # fmt: skip
    packets.insert(7, b"\xd0\x00")  # a PINGRESP among them: paho's own path
    stream = b"".join(packets)
    ours, kinds = _received(BufferedReadClient, stream, read_bytes=16 * 1024)
    # Most came whole from the buffer; those straddling two sends went paho's way: both tested.
    assert kinds.count("_Message") >= 20
    assert "MQTTMessage" in kinds
    theirs, _ = _received(mqtt.Client, stream, read_bytes=0)
    assert len(ours) == 40
    assert ours == theirs
