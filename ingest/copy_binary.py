"""PostgreSQL's binary COPY format for walker frames, built with numpy.

psycopg's generic row writer dumps a Python list element by element; a frame carries ten arrays
of 50 floats, so that became most of ingest's CPU time. Here each frame's arrays are laid out in
one numpy record array and written as bytes. Format: PostgreSQL docs, "COPY", section "Binary
Format", and the array wire format of ``array_send`` (ndim, has-nulls flag, element type oid,
then per dimension its length and lower bound, then each element as length + value).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ingest.messages import Frame

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_FLOAT4_OID = 700
_BOOL_OID = 16
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_FLOAT_ELEMENT = np.dtype([("len", ">i4"), ("value", ">f4")])
_BOOL_ELEMENT = np.dtype([("len", ">i4"), ("value", "u1")])
_FIELDS_IN_ROW = 19  # the columns of FRAME_COLUMNS in ingest.store


def _timestamptz(at: datetime) -> bytes:
    return struct.pack("!iq", 8, _micros(at))


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack("!i", len(data)) + data


def _array_header(n_bytes: int, oid: int, n: int) -> bytes:
    # field length, then ndim=1, no nulls, element type, dimension length, lower bound 1
    return struct.pack("!iiiiii", 20 + n_bytes, 1, 0, oid, n, 1)


def frame_row(
    frame: Frame, device_id: str, tenant_id: str, boot: int, seq: int, frame_no: int,
    received_at: datetime,
) -> bytes:  # fmt: skip
    """One walker_frames row in binary COPY format (columns as ingest.store.FRAME_COLUMNS)."""
    samples = frame.samples
    n_channels, n = samples.shape
    floats = np.empty(samples.shape, _FLOAT_ELEMENT)
    floats["len"] = 4
    floats["value"] = samples
    raw = floats.tobytes()
    size = 8 * n
    header = _array_header(size, _FLOAT4_OID, n)
    arrays = b"".join(header + raw[i * size : (i + 1) * size] for i in range(n_channels))
    brake = np.empty(n, _BOOL_ELEMENT)
    brake["len"] = 1
    brake["value"] = frame.brake
    return b"".join((
        struct.pack("!h", _FIELDS_IN_ROW),
        _timestamptz(frame.t0),
        _text(device_id),
        _text(tenant_id),
        struct.pack("!iqiqihif", 8, boot, 8, seq, 2, frame_no, 4, frame.rate_hz),
        arrays,
        _array_header(5 * n, _BOOL_OID, n),
        brake.tobytes(),
        _timestamptz(received_at),
    ))  # fmt: skip


def message_rows(
    frames: Sequence[Frame], device_id: str, tenant_id: str, boot: int, seq: int,
    received_at: datetime,
) -> bytes:  # fmt: skip
    """The walker_frames rows of one message, one after the other.

    Frames of one length are laid out by one copy of a template in which everything that does
    not change between messages of that shape is set already (field lengths, array headers,
    frame numbers), so a message costs a handful of numpy assignments and one ``tobytes``; the
    per-frame calls and joins were a fifth of a worker's time per message.
    """
    shapes = {frame.samples.shape for frame in frames}
    if len(shapes) != 1:
        return b"".join(
            frame_row(f, device_id, tenant_id, boot, seq, no, received_at)
            for no, f in enumerate(frames)
        )
    n_channels, n = shapes.pop()
    ids = _text(device_id) + _text(tenant_id) + struct.pack("!iqiq", 8, boot, 8, seq)
    template, dtype = _template(len(frames), n_channels, n, len(ids))
    # A copy of the template's bytes viewed as rows: numpy copies a structured array of
    # sub-arrays field by field, twenty times slower than this memcpy.
    buffer = bytearray(template)
    rows = np.frombuffer(buffer, dtype)
    rows["time"] = [_micros(frame.t0) for frame in frames]
    rows["ids"] = np.void(ids)
    rows["rate_hz"] = [frame.rate_hz for frame in frames]
    rows["floats"]["elements"]["value"] = np.stack([frame.samples for frame in frames])
    rows["brake"]["elements"]["value"] = np.stack([frame.brake for frame in frames])
    rows["received_at"] = _micros(received_at)
    return bytes(buffer)


def _micros(at: datetime) -> int:
    delta = at - _PG_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@functools.lru_cache(maxsize=64)  # bounded: devices choose the shapes
def _template(
    n_frames: int, n_channels: int, n: int, ids_bytes: int
) -> tuple[bytes, np.dtype[Any]]:
    """Rows of one message's shape with every field that does not vary between messages set,
    as bytes, and their dtype."""
    dtype = np.dtype([
        ("field_count", ">i2"), ("time_len", ">i4"), ("time", ">i8"),
        ("ids", f"V{ids_bytes}"),  # device_id, tenant_id, boot and seq, each with its length
        ("frame_no_len", ">i4"), ("frame_no", ">i2"), ("rate_len", ">i4"), ("rate_hz", ">f4"),
        ("floats", _channel_dtype(_FLOAT_ELEMENT, n), (n_channels,)),
        ("brake", _channel_dtype(_BOOL_ELEMENT, n)),
        ("received_len", ">i4"), ("received_at", ">i8"),
    ])  # fmt: skip
    rows = np.zeros(n_frames, dtype)
    rows["field_count"] = _FIELDS_IN_ROW
    rows["time_len"] = rows["received_len"] = 8
    rows["frame_no_len"], rows["frame_no"] = 2, np.arange(n_frames)
    rows["rate_len"] = 4
    rows["floats"]["header"] = (20 + 8 * n, 1, 0, _FLOAT4_OID, n, 1)
    rows["floats"]["elements"]["len"] = 4
    rows["brake"]["header"] = (20 + 5 * n, 1, 0, _BOOL_OID, n, 1)
    rows["brake"]["elements"]["len"] = 1
    return rows.tobytes(), dtype


@functools.cache
def _channel_dtype(element: np.dtype[np.void], n: int) -> np.dtype[np.void]:
    # One array column as on the wire: field length and array header (6 int4), n elements.
    return np.dtype([("header", ">i4", (6,)), ("elements", element, (n,))])


def stream(rows: Iterable[bytes]) -> bytes:
    """A complete binary COPY stream of ``rows``."""
    return SIGNATURE + b"".join(rows) + TRAILER
