"""Walker frames from TimescaleDB straight into numpy: one binary COPY per resident-day.

Frames are stored packed (:mod:`stayactive.db.walker_samples`: per frame a ``bytea`` of
``n x 10`` big-endian float32, sample-major, and one of ``n`` brake bytes), so PostgreSQL sends
them as they lie on disk, and the COPY stream of a resident-day is, row after row, a fixed
header and the frame's bytes. Rows with the same number of samples have the same layout, so a
run of them is read as one numpy record array: no Python loop over frames or values. The
samples go from there into arrays allocated once for the whole day, one per channel group,
contiguous, as the analytics use them. Format: PostgreSQL docs, "COPY", "Binary Format".

All windows of a resident-day (one per device assigned to the resident that day) come in one
COPY, ordered by window and then as the analytics expect: frame start, boot, seq, frame number.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from analytics.mobility import WalkerDayInput
from stayactive.db.walker_samples import BYTES_PER_SAMPLE, CHANNELS, SAMPLE_DTYPE

__all__ = ["FrameArrays", "FrameStreamError", "Window", "load_frames", "load_windows", "parse"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_PG_EPOCH_S = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = 19  # signature (11) + flags (4) + header extension length (4)
_FIELDS = 5  # window, time, rate_hz, samples, brake_mask
_N_CHANNELS = len(CHANNELS)
_WINDOW = sql.SQL(
    "SELECT {k}::int4 AS k, time, boot, seq, frame_no, rate_hz, samples, brake_mask "
    "FROM walker_frames WHERE device_id = {device} AND time >= {start} AND time < {end}"
)


class FrameStreamError(RuntimeError):
    """The COPY stream is not what the query asked for (a server or driver fault)."""


@dataclass(frozen=True)
class Window:
    """A device's frames whose first sample falls in ``[start, end)``."""

    device_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class FrameArrays:
    """A device's samples over a window: one row per sample, in frame order.

    Each array is C-contiguous (the analytics would copy strided views); channel units as in
    :class:`~analytics.mobility.WalkerDayInput`.
    """

    t_s: FloatArray
    acc_mps2: FloatArray  # (n, 3)
    gyro_radps: FloatArray  # (n, 3)
    odo_l_m: FloatArray
    odo_r_m: FloatArray
    force_l_n: FloatArray
    force_r_n: FloatArray
    brake: BoolArray

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def samples(self) -> FloatArray:
        """The ten channels side by side, ``(n, 10)`` in storage order (a copy)."""
        out: FloatArray = np.column_stack(
            [self.acc_mps2, self.gyro_radps, self.odo_l_m, self.odo_r_m, self.force_l_n,
             self.force_r_n]
        )  # fmt: skip
        return out


def load_frames(
    conn: psycopg.Connection[TupleRow], device_id: str, start: datetime, end: datetime
) -> FrameArrays:
    """The device's samples with frame start in [start, end), in frame order."""
    return load_windows(conn, [Window(device_id, start, end)])[0]


def load_windows(
    conn: psycopg.Connection[TupleRow], windows: Sequence[Window]
) -> list[FrameArrays]:
    """The samples of each window, in one COPY; one :class:`FrameArrays` per window."""
    if not windows:
        return []
    # One SELECT per window, so each is planned with its own bounds (TimescaleDB excludes the
    # chunks outside them); UNION ALL and one ORDER BY make it one statement.
    parts = [
        _WINDOW.format(
            k=sql.Literal(k),
            device=sql.Literal(w.device_id),
            start=sql.Literal(w.start),
            end=sql.Literal(w.end),
        )
        for k, w in enumerate(windows)
    ]
    query = sql.SQL(
        "COPY (SELECT k, time, rate_hz, samples, brake_mask FROM ({}) AS w "
        "ORDER BY k, time, boot, seq, frame_no) TO STDOUT (FORMAT BINARY)"
    ).format(sql.SQL(" UNION ALL ").join(parts))
    data = bytearray()
    chunk_starts: list[int] = []
    with conn.cursor().copy(query) as copy:
        for chunk in copy:
            chunk_starts.append(len(data))
            data += chunk
    # PostgreSQL sends one COPY message per row: where the chunks start is where rows start.
    return parse(data, len(windows), row_starts=chunk_starts)


#: The fixed part of a row, up to and including the length of ``samples``.
_ROW_HEAD = np.dtype(
    [
        ("fields", ">i2"),
        ("k_len", ">i4"), ("k", ">i4"),
        ("t_len", ">i4"), ("t_us", ">i8"),
        ("rate_len", ">i4"), ("rate_hz", ">f4"),
        ("samples_len", ">i4"),
    ]
)  # fmt: skip


def _at(view: memoryview, dtype: np.dtype[Any], offsets: npt.NDArray[np.int64]) -> Any:
    """Values of ``dtype`` starting at the given byte offsets of ``view`` (a gather, copied)."""
    every_byte = np.ndarray(
        (max(len(view) - dtype.itemsize + 1, 0),), dtype, buffer=view, strides=(1,)
    )
    return every_byte[offsets]


def _row_ends(view: memoryview, at: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Where the rows starting at ``at`` end, by the length of their samples."""
    n_bytes = _at(view, np.dtype(">i4"), at + _ROW_HEAD.itemsize - 4).astype(np.int64)
    ends: npt.NDArray[np.int64] = (
        at + _ROW_HEAD.itemsize + n_bytes + 4 + n_bytes // BYTES_PER_SAMPLE
    )
    return ends


def _checked_starts(view: memoryview, hint: Sequence[int]) -> npt.NDArray[np.int64] | None:
    """Row starts from where the COPY messages started, if every row fits between them."""
    size = len(view)
    at = np.asarray(hint, dtype=np.int64)
    at = np.union1d(at[(at > _HEADER) & (at < size - 2)], [_HEADER] if size > _HEADER + 2 else [])
    at = at.astype(np.int64)
    if len(at) and (at[-1] + _ROW_HEAD.itemsize > size):
        return None
    if not np.array_equal(_row_ends(view, at), np.append(at[1:], size - 2)):
        return None
    return at


def _scan(view: memoryview) -> list[int]:
    """Row starts, found one row after the other."""
    size = len(view)
    starts: list[int] = []
    pos = _HEADER
    samples_len = struct.Struct("!i").unpack_from
    while pos < size - 2:
        if pos + _ROW_HEAD.itemsize > size:
            raise FrameStreamError(f"the stream ends inside a row at byte {pos}")
        starts.append(pos)
        n_bytes = max(samples_len(view, pos + _ROW_HEAD.itemsize - 4)[0], 0)
        pos += _ROW_HEAD.itemsize + n_bytes + 4 + n_bytes // BYTES_PER_SAMPLE
    if pos != size - 2:
        raise FrameStreamError(f"the rows do not end where the trailer starts ({pos}, {size})")
    return starts


def parse(
    data: bytes | bytearray, n_windows: int = 1, *, row_starts: Sequence[int] | None = None
) -> list[FrameArrays]:
    """Decode a binary COPY stream of (window, time, rate_hz, samples, brake_mask) rows.

    1. Find where each row starts: from ``row_starts`` (where the COPY messages started)
       when every row fits exactly between them, else one row after the other.
    2. Check every row's field count and lengths at once.
    3. Gather the samples (40 bytes each) and brake bytes of all rows in one numpy step each,
       and convert them into the day's arrays, allocated once.
    4. Sample times ``t0 + i / rate_hz`` as the frames give them; split by window.

    Raises
    ------
    FrameStreamError
        If the stream is not a binary COPY of such rows.
    """
    view = memoryview(data)
    size = len(view)
    if bytes(view[: len(_SIGNATURE)]) != _SIGNATURE:
        raise FrameStreamError("not a binary COPY stream")
    # 1.
    if size < _HEADER + 2 or bytes(view[size - 2 :]) != b"\xff\xff":
        raise FrameStreamError("the stream does not end with its trailer")
    at = None if row_starts is None else _checked_starts(view, row_starts)
    if at is None:
        at = np.asarray(_scan(view), dtype=np.int64)
    # 2.
    head = _at(view, _ROW_HEAD, at)
    n_bytes = head["samples_len"].astype(np.int64)
    counts = n_bytes // BYTES_PER_SAMPLE
    brake_at = at + _ROW_HEAD.itemsize + n_bytes
    bad = (
        (head["fields"] != _FIELDS) | (head["k_len"] != 4) | (head["t_len"] != 8)
        | (head["rate_len"] != 4) | (n_bytes <= 0) | (n_bytes % BYTES_PER_SAMPLE != 0)
        | (_at(view, np.dtype(">i4"), brake_at) != counts)
    )  # fmt: skip
    if bad.any():
        raise FrameStreamError(f"unexpected row at byte {at[int(np.argmax(bad))]}")
    window = head["k"].astype(np.int64)
    if len(window) and (np.any(np.diff(window) < 0) or window[0] < 0 or window[-1] >= n_windows):
        raise FrameStreamError("rows are not in window order")
    # 3.
    total = int(counts.sum())
    first = np.repeat(np.cumsum(counts) - counts, counts)
    within = np.arange(total) - first
    # Sample i of the day lies 40 * i bytes after where its frame's shift puts it.
    shift = at + _ROW_HEAD.itemsize - BYTES_PER_SAMPLE * (np.cumsum(counts) - counts)
    offsets = np.repeat(shift, counts)
    offsets += BYTES_PER_SAMPLE * np.arange(total)
    # Swapped to native order in the gathered copy first: numpy casts from native float32
    # to float64 faster than from big-endian.
    gathered = _at(view, np.dtype((SAMPLE_DTYPE, (len(CHANNELS),))), offsets)  # (total, 10)
    del offsets
    values = gathered.byteswap(inplace=True).view(SAMPLE_DTYPE.newbyteorder("="))
    acc, gyro = np.empty((total, 3)), np.empty((total, 3))
    singles = np.empty((4, total))  # odo_l, odo_r, force_l, force_r
    acc[:] = values[:, 0:3]
    gyro[:] = values[:, 3:6]
    singles[:] = values[:, 6:10].T
    del values, gathered
    brake = _at(view, np.dtype(np.uint8), np.repeat(brake_at + 4, counts) + within) != 0
    # 4. As the old reader: microseconds to float seconds, then the epoch.
    t0_s = head["t_us"].astype(np.float64) / 1e6 + _PG_EPOCH_S
    rate_hz = head["rate_hz"].astype(np.float64)
    t = np.repeat(t0_s, counts) + within / np.repeat(rate_hz, counts)
    frame_edges = np.searchsorted(window, np.arange(n_windows + 1))
    sample_edges = np.concatenate(([0], np.cumsum(counts)))[frame_edges]
    return [
        FrameArrays(
            t_s=t[a:b],
            acc_mps2=acc[a:b],
            gyro_radps=gyro[a:b],
            odo_l_m=singles[0, a:b],
            odo_r_m=singles[1, a:b],
            force_l_n=singles[2, a:b],
            force_r_n=singles[3, a:b],
            brake=brake[a:b],
        )
        for a, b in itertools.pairwise(sample_edges)
    ]


def walker_input(
    device_id: str,
    frames: FrameArrays,
    start_s: float,
    end_s: float,
    *,
    monitored_s: FloatArray | None,
) -> WalkerDayInput:
    """The pure analytics' input for one resident-day window of one device."""
    return WalkerDayInput(
        device_id=device_id, start_s=start_s, end_s=end_s, t_s=frames.t_s,
        acc_mps2=frames.acc_mps2, gyro_radps=frames.gyro_radps, odo_l_m=frames.odo_l_m,
        odo_r_m=frames.odo_r_m, force_l_n=frames.force_l_n, force_r_n=frames.force_r_n,
        brake=frames.brake, monitored_s=monitored_s,
    )  # fmt: skip
