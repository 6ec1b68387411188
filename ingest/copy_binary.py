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
_FIELD_COUNT = struct.pack("!h", _FIELDS_IN_ROW)


def _timestamptz(at: datetime) -> bytes:
    delta = at - _PG_EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return struct.pack("!iq", 8, micros)


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
) -> list[bytes]:  # fmt: skip
    """The walker_frames rows of one message; frames of one length are laid out in one go (the
    per-frame numpy calls were a fifth of ingest's time per message)."""
    lengths = {frame.samples.shape for frame in frames}
    if len(lengths) != 1:
        return [
            frame_row(f, device_id, tenant_id, boot, seq, no, received_at)
            for no, f in enumerate(frames)
        ]
    n_channels, n = lengths.pop()
    n_frames = len(frames)
    floats = np.empty((n_frames, n_channels), _channel_dtype(_FLOAT_ELEMENT, n))
    floats["header"] = (20 + 8 * n, 1, 0, _FLOAT4_OID, n, 1)
    floats["elements"]["len"] = 4
    floats["elements"]["value"] = np.stack([f.samples for f in frames])
    brakes = np.empty(n_frames, _channel_dtype(_BOOL_ELEMENT, n))
    brakes["header"] = (20 + 5 * n, 1, 0, _BOOL_OID, n, 1)
    brakes["elements"]["len"] = 1
    brakes["elements"]["value"] = np.stack([f.brake for f in frames])
    float_bytes, brake_bytes = floats.tobytes(), brakes.tobytes()
    float_size, brake_size = len(float_bytes) // n_frames, len(brake_bytes) // n_frames
    ids = _text(device_id) + _text(tenant_id)
    tail = _timestamptz(received_at)
    return [
        b"".join(
            (
                _FIELD_COUNT,
                _timestamptz(frame.t0),
                ids,
                struct.pack("!iqiqihif", 8, boot, 8, seq, 2, no, 4, frame.rate_hz),
                float_bytes[no * float_size : (no + 1) * float_size],
                brake_bytes[no * brake_size : (no + 1) * brake_size],
                tail,
            )
        )
        for no, frame in enumerate(frames)
    ]


@functools.cache
def _channel_dtype(element: np.dtype[np.void], n: int) -> np.dtype[np.void]:
    # One array column as on the wire: field length and array header (6 int4), n elements.
    return np.dtype([("header", ">i4", (6,)), ("elements", element, (n,))])


def stream(rows: Iterable[bytes]) -> bytes:
    """A complete binary COPY stream of ``rows``."""
    return SIGNATURE + b"".join(rows) + TRAILER
