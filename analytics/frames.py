"""Walker frames from TimescaleDB straight into numpy, through binary COPY.

Fetching ``real[]`` columns the ordinary way makes a Python float of every sample; a resident-day
with two hours of walking holds about four million. Binary COPY hands over the arrays as bytes,
which ``numpy.frombuffer`` reads without copying them sample by sample. Format: PostgreSQL docs,
"COPY", "Binary Format", and ``array_send`` (ndim, flags, element oid, dimension, lower bound,
then each element as length + value).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow

from analytics.mobility import WalkerDayInput

FloatArray = npt.NDArray[np.float64]

_PG_EPOCH_S = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_HEADER = 19  # signature (11) + flags (4) + header extension length (4)
_FLOAT_ELEMENT = np.dtype([("len", ">i4"), ("value", ">f4")])
_BOOL_ELEMENT = np.dtype([("len", ">i4"), ("value", "u1")])
_ARRAY_HEADER = 20
_CHANNELS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z", "odo_l", "odo_r",
             "force_l", "force_r")  # fmt: skip
_QUERY = (
    "COPY (SELECT time, rate_hz, " + ", ".join(_CHANNELS) + ", brake FROM walker_frames "
    "WHERE device_id = %s AND time >= %s AND time < %s ORDER BY time, boot, seq, frame_no) "
    "TO STDOUT (FORMAT BINARY)"
)


@dataclass(frozen=True)
class FrameArrays:
    """A device's samples over a time range: one row per sample, channels as columns."""

    t_s: FloatArray
    samples: FloatArray  # (n, 10) in the order of _CHANNELS
    brake: npt.NDArray[np.bool_]


def load_frames(
    conn: psycopg.Connection[TupleRow], device_id: str, start: datetime, end: datetime
) -> FrameArrays:
    """The device's samples with frame start in [start, end), in time order."""
    data = bytearray()
    with conn.cursor().copy(_QUERY, (device_id, start, end)) as copy:
        for chunk in copy:
            data += chunk
    return parse(bytes(data))


def parse(data: bytes) -> FrameArrays:
    """Decode a binary COPY stream of (time, rate_hz, 10 float4[] channels, bool[] brake)."""
    view = memoryview(data)
    pos = _HEADER
    times: list[float] = []
    rates: list[float] = []
    counts: list[int] = []
    columns: list[list[FloatArray]] = [[] for _ in _CHANNELS]
    brakes: list[npt.NDArray[np.uint8]] = []
    while pos < len(data):
        (fields,) = struct.unpack_from("!h", view, pos)
        pos += 2
        if fields == -1:
            break
        (_, micros, _, rate) = struct.unpack_from("!iqif", view, pos)
        pos += 20
        times.append(micros / 1e6 + _PG_EPOCH_S)
        rates.append(rate)
        n = 0
        for column in columns:
            (length,) = struct.unpack_from("!i", view, pos)
            (n,) = struct.unpack_from("!i", view, pos + 4 + 12)
            elements = np.frombuffer(view, _FLOAT_ELEMENT, n, pos + 4 + _ARRAY_HEADER)
            column.append(elements["value"].astype(np.float64))
            pos += 4 + length
        (length,) = struct.unpack_from("!i", view, pos)
        brakes.append(np.frombuffer(view, _BOOL_ELEMENT, n, pos + 4 + _ARRAY_HEADER)["value"])
        pos += 4 + length
        counts.append(n)
    if not counts:
        return FrameArrays(np.zeros(0), np.zeros((0, len(_CHANNELS))), np.zeros(0, dtype=bool))
    lens = np.asarray(counts)
    first = np.repeat(np.cumsum(lens) - lens, lens)
    t = np.repeat(times, lens) + (np.arange(int(lens.sum())) - first) / np.repeat(rates, lens)
    samples = np.column_stack([np.concatenate(c) for c in columns])
    return FrameArrays(t, samples, np.concatenate(brakes).astype(bool))


def walker_input(
    device_id: str,
    frames: FrameArrays,
    start_s: float,
    end_s: float,
    *,
    monitored_s: FloatArray | None,
) -> WalkerDayInput:
    """The pure analytics' input for one resident-day window of one device."""
    s = frames.samples
    return WalkerDayInput(
        device_id=device_id, start_s=start_s, end_s=end_s, t_s=frames.t_s,
        acc_mps2=s[:, 0:3], gyro_radps=s[:, 3:6], odo_l_m=s[:, 6], odo_r_m=s[:, 7],
        force_l_n=s[:, 8], force_r_n=s[:, 9], brake=frames.brake, monitored_s=monitored_s,
    )  # fmt: skip
