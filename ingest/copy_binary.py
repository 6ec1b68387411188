"""PostgreSQL's binary COPY format for walker frames, built with numpy.

psycopg's generic row writer dumps a Python list element by element; a frame carries ten
channels of 50 floats, so that became most of ingest's CPU time. Here a frame's samples go in
the packed layout of :mod:`stayactive.db.walker_samples` (two ``bytea`` values), which numpy
writes in one call and PostgreSQL stores without looking at each value. Format: PostgreSQL
docs, "COPY", section "Binary Format" (per row the field count, then each field as length +
value).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ingest.messages import Frame
from stayactive.db import walker_samples

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_FIELDS_IN_ROW = 10  # the columns of FRAME_COLUMNS in ingest.store


def _micros(at: datetime) -> int:
    delta = at - _PG_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _timestamptz(at: datetime) -> bytes:
    return struct.pack("!iq", 8, _micros(at))


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack("!i", len(data)) + data


def _bytea(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def _ids(device_id: str, tenant_id: str, boot: int, seq: int) -> bytes:
    # device_id, tenant_id, boot and seq (both bigint), each with its length
    return _text(device_id) + _text(tenant_id) + struct.pack("!iqiq", 8, boot, 8, seq)


def frame_row(
    frame: Frame, device_id: str, tenant_id: str, boot: int, seq: int, frame_no: int,
    received_at: datetime,
) -> bytes:  # fmt: skip
    """One walker_frames row in binary COPY format (columns as ingest.store.FRAME_COLUMNS)."""
    return b"".join((
        struct.pack("!h", _FIELDS_IN_ROW),
        _timestamptz(frame.t0),
        _ids(device_id, tenant_id, boot, seq),
        struct.pack("!ihif", 2, frame_no, 4, frame.rate_hz),
        _bytea(walker_samples.pack_samples(frame.samples)),
        _bytea(walker_samples.pack_brake(frame.brake)),
        _timestamptz(received_at),
    ))  # fmt: skip


def message_rows(
    frames: Sequence[Frame], device_id: str, tenant_id: str, boot: int, seq: int,
    received_at: datetime,
) -> bytes:  # fmt: skip
    """The walker_frames rows of one message, one after the other, as :func:`frame_row` would
    lay them out.

    Frames of one length are laid out by one copy of a template in which everything that does
    not change between messages of that shape is set already (field lengths, frame numbers), so
    a message costs a handful of numpy assignments and no per-frame joins.
    """
    shapes = {frame.samples.shape for frame in frames}
    if len(shapes) != 1 or next(iter(shapes))[0] != len(walker_samples.CHANNELS):
        return b"".join(
            frame_row(f, device_id, tenant_id, boot, seq, no, received_at)
            for no, f in enumerate(frames)
        )
    n_channels, n = shapes.pop()
    ids = _ids(device_id, tenant_id, boot, seq)
    template, dtype = _template(len(frames), n_channels, n, len(ids))
    # A copy of the template's bytes viewed as rows: numpy copies a structured array of
    # sub-arrays field by field, twenty times slower than this memcpy.
    buffer = bytearray(template)
    rows = np.frombuffer(buffer, dtype)
    rows["time"] = [_micros(frame.t0) for frame in frames]
    rows["ids"] = np.void(ids)
    rows["rate_hz"] = [frame.rate_hz for frame in frames]
    # Stored sample-major: per sample its ten channels (walker_samples).
    rows["samples"] = np.stack([frame.samples for frame in frames]).transpose(0, 2, 1)
    rows["brake"] = np.stack([frame.brake for frame in frames])
    rows["received_at"] = _micros(received_at)
    return bytes(buffer)


@functools.lru_cache(maxsize=64)  # bounded: devices choose the shapes
def _template(
    n_frames: int, n_channels: int, n: int, ids_bytes: int
) -> tuple[bytes, np.dtype[Any]]:
    """Rows of one message's shape with every field that does not vary between messages set,
    as bytes, and their dtype."""
    value = walker_samples.SAMPLE_DTYPE
    dtype = np.dtype([
        ("field_count", ">i2"), ("time_len", ">i4"), ("time", ">i8"), ("ids", f"V{ids_bytes}"),
        ("frame_no_len", ">i4"), ("frame_no", ">i2"), ("rate_len", ">i4"), ("rate_hz", ">f4"),
        ("samples_len", ">i4"), ("samples", value, (n, n_channels)),
        ("brake_len", ">i4"), ("brake", "u1", (n,)),
        ("received_len", ">i4"), ("received_at", ">i8"),
    ])  # fmt: skip
    rows = np.zeros(n_frames, dtype)
    rows["field_count"] = _FIELDS_IN_ROW
    rows["time_len"] = rows["received_len"] = 8
    rows["frame_no_len"], rows["frame_no"] = 2, np.arange(n_frames)
    rows["rate_len"] = 4
    rows["samples_len"] = n * n_channels * value.itemsize
    rows["brake_len"] = n
    return rows.tobytes(), dtype


def stream(rows: Iterable[bytes]) -> bytes:
    """A complete binary COPY stream of ``rows``."""
    return SIGNATURE + b"".join(rows) + TRAILER
