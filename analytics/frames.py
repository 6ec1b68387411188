"""Walker frames from TimescaleDB straight into numpy: one binary COPY per resident-day.

Frames are stored packed (:mod:`stayactive.db.walker_samples`: per frame a ``bytea`` of
``n x 10`` big-endian float32, sample-major, and one of ``n`` brake bytes). The read asks
PostgreSQL to concatenate them per device and minute (``string_agg`` of the ``bytea``, in frame
order), so a heavy resident-day of ~9,500 frames arrives as ~250 COPY rows instead of one row
per frame (psycopg hands over each message at a fixed cost), and the samples of a minute come
as one contiguous block: one ``np.frombuffer`` copy each turns it into native float32, one row
per channel, as the analytics bin them. No Python loop over frames or values. Format:
PostgreSQL docs, "COPY", "Binary Format".

All windows of a resident-day (one per device assigned to the resident that day) come in one
COPY, ordered by window and then as the analytics expect: frame start, boot, seq, frame number.
Each row of the stream holds one window's frames of one minute:

``k``
    The window (``int4``).
``heads``
    Per frame, 16 bytes: the frame start (``timestamptz_send``: microseconds since
    2000-01-01, ``int8``), ``rate_hz`` (``float4``) and the number of samples (``int4``).
``samples``, ``brakes``
    The frames' ``samples`` and ``brake_mask`` values, concatenated in the same order.

The three aggregates sort by the same key, which is unique per device (the table's unique key is
``(device_id, boot, seq, frame_no, time)``), so they list the frames in the same order.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from analytics.mobility import WalkerDayInput
from stayactive.db.walker_samples import BYTES_PER_SAMPLE, CHANNELS, SAMPLE_DTYPE

__all__ = ["FrameArrays", "FrameStreamError", "Window", "load_frames", "load_windows", "parse"]

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]

_PG_EPOCH_S = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = 19  # signature (11) + flags (4) + header extension length (4)
_FIELDS = 4  # k, heads, samples, brakes
_N_CHANNELS = len(CHANNELS)
_BUCKET = "1 minute"
"""Frames concatenated into one COPY row: at most 60 s x 200 Hz x 41 bytes (0.5 MB), sorted
in the server's memory (well inside the default ``work_mem``)."""
_FRAME_ORDER = "ORDER BY time, boot, seq, frame_no"
_WINDOW = sql.SQL(
    "SELECT {k}::int4 AS k, time_bucket({bucket}::interval, time) AS bucket, "
    "string_agg(timestamptz_send(time) || float4send(rate_hz) || int4send(length(brake_mask)), "
    "''::bytea " + _FRAME_ORDER + ") AS heads, "
    "string_agg(samples, ''::bytea " + _FRAME_ORDER + ") AS samples, "
    "string_agg(brake_mask, ''::bytea " + _FRAME_ORDER + ") AS brakes "
    "FROM walker_frames WHERE device_id = {device} AND time >= {start} AND time < {end} "
    "GROUP BY bucket"
)
_HEAD = np.dtype([("t_us", ">i8"), ("rate_hz", ">f4"), ("n", ">i4")])
_ROW_START = struct.Struct("!hii")  # fields, length of k, k
_LENGTH = struct.Struct("!i")


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

    Attributes
    ----------
    t_s : ndarray, shape (n,)
        Sample times, epoch seconds (``t0 + i / rate_hz`` of each frame).
    values : ndarray of float32, shape (10, n)
        One row per channel of :data:`~stayactive.db.walker_samples.CHANNELS` (native byte
        order, C-contiguous): what the analytics bin, all channels at once.
    brake : ndarray of bool, shape (n,)

    The per-channel properties are float64 copies (C-contiguous), in the units of
    :class:`~analytics.mobility.WalkerDayInput`.
    """

    t_s: FloatArray
    values: Float32Array
    brake: BoolArray

    def __len__(self) -> int:
        return len(self.t_s)

    def _channels(self, lo: int, hi: int) -> FloatArray:
        out: FloatArray = np.ascontiguousarray(self.values[lo:hi].T, dtype=np.float64)
        return out

    @property
    def samples(self) -> FloatArray:
        """The ten channels side by side, ``(n, 10)`` float64 in storage order (a copy)."""
        return self._channels(0, _N_CHANNELS)

    @property
    def acc_mps2(self) -> FloatArray:
        """``(n, 3)``, a copy."""
        return self._channels(0, 3)

    @property
    def gyro_radps(self) -> FloatArray:
        """``(n, 3)``, a copy."""
        return self._channels(3, 6)

    @property
    def odo_l_m(self) -> FloatArray:
        """A copy."""
        return self._channels(6, 7).reshape(-1)

    @property
    def odo_r_m(self) -> FloatArray:
        """A copy."""
        return self._channels(7, 8).reshape(-1)

    @property
    def force_l_n(self) -> FloatArray:
        """A copy."""
        return self._channels(8, 9).reshape(-1)

    @property
    def force_r_n(self) -> FloatArray:
        """A copy."""
        return self._channels(9, 10).reshape(-1)


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
            bucket=sql.Literal(_BUCKET),
            device=sql.Literal(w.device_id),
            start=sql.Literal(w.start),
            end=sql.Literal(w.end),
        )
        for k, w in enumerate(windows)
    ]
    query = sql.SQL(
        "COPY (SELECT k, heads, samples, brakes FROM ({}) AS w ORDER BY k, bucket) "
        "TO STDOUT (FORMAT BINARY)"
    ).format(sql.SQL(" UNION ALL ").join(parts))
    with conn.cursor().copy(query) as copy:
        chunks = list(copy)
    return parse(chunks, len(windows))


_Row = tuple[int, memoryview, memoryview, memoryview]


def _rows_in(view: memoryview, pos: int, *, whole: bool) -> tuple[list[_Row], int]:
    """The complete rows of ``view`` from byte ``pos`` on, and where they end.

    With ``whole`` every byte must belong to a row (or to the trailer); without it a row cut
    off at the end of ``view`` ends the scan there.
    """
    rows: list[_Row] = []
    size = len(view)
    while pos < size:
        if size - pos == 2 and bytes(view[pos:]) == b"\xff\xff":
            return rows, pos
        if pos + _ROW_START.size > size:
            break
        fields, k_len, k = _ROW_START.unpack_from(view, pos)
        if fields != _FIELDS or k_len != 4:
            raise FrameStreamError(f"unexpected row at byte {pos}")
        at = pos + _ROW_START.size
        values: list[memoryview] = []
        for _ in range(3):
            if at + 4 > size:
                break
            (length,) = _LENGTH.unpack_from(view, at)
            if length < 0:
                raise FrameStreamError(f"a NULL field in the row at byte {pos}")
            if at + 4 + length > size:
                break
            values.append(view[at + 4 : at + 4 + length])
            at += 4 + length
        if len(values) < 3:
            break
        rows.append((k, values[0], values[1], values[2]))
        pos = at
    if whole and pos != size:
        raise FrameStreamError(f"the stream ends inside a row at byte {pos}")
    return rows, pos


def _rows(chunks: Sequence[bytes | bytearray | memoryview]) -> list[_Row]:
    """Every row of the stream, and the check of its header and trailer.

    PostgreSQL sends each row as a COPY message of its own, so each chunk is read on its own
    (no copy of the ~20 MB of a day); if a row ever spans chunks, the chunks are joined.
    """
    views = [memoryview(c).cast("B") for c in chunks if len(c)]
    if not views or bytes(views[0][: len(_SIGNATURE)]) != _SIGNATURE:
        raise FrameStreamError("not a binary COPY stream")
    if len(views[-1]) < 2 or bytes(views[-1][-2:]) != b"\xff\xff":
        raise FrameStreamError("the stream does not end with its trailer")
    rows: list[_Row] = []
    for i, view in enumerate(views):
        start = _HEADER if i == 0 else 0
        if i == 0 and len(view) < _HEADER:
            break
        found, end = _rows_in(view, start, whole=False)
        rows.extend(found)
        trailer = i == len(views) - 1 and end == len(view) - 2
        if end != len(view) and not trailer:
            break
    else:
        return rows
    joined = memoryview(b"".join(views))
    if len(joined) < _HEADER + 2:
        raise FrameStreamError("the stream ends inside its header")
    found, end = _rows_in(joined, _HEADER, whole=True)
    if end != len(joined) - 2:
        raise FrameStreamError("the rows do not end where the trailer starts")
    return found


def parse(
    data: bytes | bytearray | Sequence[bytes | bytearray | memoryview], n_windows: int = 1
) -> list[FrameArrays]:
    """Decode a binary COPY stream of (window, heads, samples, brakes) rows (module docstring).

    1. Split the stream into rows: each COPY message (``data`` as a list of chunks) on its
       own, or the whole stream when a row spans messages.
    2. Check every row: window order, and as many samples and brake bytes as its frame heads
       say.
    3. Copy the samples of each row into the day's ``(10, n)`` float32 array (one row per
       channel), allocated once, swapping them to native byte order on the way; the brake
       bytes likewise.
    4. Sample times ``t0 + i / rate_hz`` as the frames give them; split by window.

    Raises
    ------
    FrameStreamError
        If the stream is not a binary COPY of such rows.
    """
    # 1.
    rows = _rows([data] if isinstance(data, bytes | bytearray) else data)
    # 2.
    window = np.array([r[0] for r in rows], dtype=np.int64)
    if len(window) and (np.any(np.diff(window) < 0) or window[0] < 0 or window[-1] >= n_windows):
        raise FrameStreamError("rows are not in window order")
    head_bytes = [len(r[1]) for r in rows]
    if any(n % _HEAD.itemsize for n in head_bytes) or 0 in head_bytes:
        raise FrameStreamError("a row's frame heads are cut off")
    heads = np.frombuffer(b"".join(r[1] for r in rows), _HEAD)
    counts = heads["n"].astype(np.int64)
    frames_per_row = np.asarray(head_bytes, dtype=np.int64) // _HEAD.itemsize
    row_edges = np.concatenate(([0], np.cumsum(frames_per_row)))
    per_row = np.add.reduceat(counts, row_edges[:-1]) if len(rows) else counts
    bad = (
        (per_row * BYTES_PER_SAMPLE != [len(r[2]) for r in rows])
        | (per_row != [len(r[3]) for r in rows])
        | (np.minimum.reduceat(counts, row_edges[:-1]) <= 0 if len(rows) else False)
    )
    if np.any(bad):
        raise FrameStreamError(f"row {int(np.argmax(bad))} does not hold what its heads say")
    # 3.
    total = int(counts.sum())
    values = np.empty((_N_CHANNELS, total), dtype=np.float32)
    brake = np.empty(total, dtype=np.bool_)
    at = 0
    for (_k, _heads, samples, brakes), n in zip(rows, per_row.tolist(), strict=True):
        values[:, at : at + n] = np.frombuffer(samples, SAMPLE_DTYPE).reshape(n, _N_CHANNELS).T
        np.not_equal(np.frombuffer(brakes, np.uint8), 0, out=brake[at : at + n])
        at += n
    # 4. As the old reader: microseconds to float seconds, then the epoch.
    t0_s = heads["t_us"].astype(np.float64) / 1e6 + _PG_EPOCH_S
    rate_hz = heads["rate_hz"].astype(np.float64)
    if len(counts) and (rate_hz == rate_hz[0]).all():
        # One rate (the usual case): the same divisions and additions, on a (frames, samples)
        # grid, without the shorter frames' unused cells.
        longest = int(counts.max())
        grid = t0_s[:, None] + np.arange(longest) / rate_hz[0]
        t = (
            grid.reshape(-1)
            if (counts == longest).all()
            else grid[np.arange(longest) < counts[:, None]]
        )
    else:
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        t = np.repeat(t0_s, counts) + within / np.repeat(rate_hz, counts)
    frame_window = np.repeat(window, frames_per_row)
    frame_edges = np.searchsorted(frame_window, np.arange(n_windows + 1))
    sample_edges = np.concatenate(([0], np.cumsum(counts)))[frame_edges]
    return [
        FrameArrays(t_s=t[a:b], values=np.ascontiguousarray(values[:, a:b]), brake=brake[a:b])
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
    return WalkerDayInput.from_packed(
        device_id, start_s, end_s, frames.t_s, frames.values, frames.brake,
        monitored_s=monitored_s,
    )  # fmt: skip
