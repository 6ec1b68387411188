"""PostgreSQL's binary COPY format for walker frames, built with numpy.

psycopg's generic row writer dumps a Python list element by element; a frame carries ten
channels of 50 floats, so that became most of ingest's CPU time. Here a frame's samples go in
the packed layout of :mod:`stayactive.db.walker_samples` (two ``bytea`` values), which numpy
writes in one call and PostgreSQL stores without looking at each value. Format: PostgreSQL
docs, "COPY", section "Binary Format" (per row the field count, then each field as length +
value).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from datetime import UTC, datetime

from ingest.messages import Frame
from stayactive.db import walker_samples

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_FIELDS_IN_ROW = 10  # the columns of FRAME_COLUMNS in ingest.store


def _timestamptz(at: datetime) -> bytes:
    delta = at - _PG_EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return struct.pack("!iq", 8, micros)


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack("!i", len(data)) + data


def _bytea(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def frame_row(
    frame: Frame, device_id: str, tenant_id: str, boot: int, seq: int, frame_no: int,
    received_at: datetime,
) -> bytes:  # fmt: skip
    """One walker_frames row in binary COPY format (columns as ingest.store.FRAME_COLUMNS)."""
    return b"".join((
        struct.pack("!h", _FIELDS_IN_ROW),
        _timestamptz(frame.t0),
        _text(device_id),
        _text(tenant_id),
        struct.pack("!iiiqihif", 4, boot, 8, seq, 2, frame_no, 4, frame.rate_hz),
        _bytea(walker_samples.pack_samples(frame.samples)),
        _bytea(walker_samples.pack_brake(frame.brake)),
        _timestamptz(received_at),
    ))  # fmt: skip


def stream(rows: Iterable[bytes]) -> bytes:
    """A complete binary COPY stream of ``rows``."""
    return SIGNATURE + b"".join(rows) + TRAILER
