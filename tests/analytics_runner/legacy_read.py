"""The runner's read before migration 0011, kept as the oracle the packed read must match.

This is the code that read ``real[]`` walker frames (one binary COPY per device assignment,
``analytics/frames.py`` and ``analytics/runner.py`` until the samples were packed), unchanged
but for its names. It only works on a schema migrated without 0011.
"""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow

from analytics.mobility import (
    CONTEXT_S,
    ResidentDayMetrics,
    WalkerDayInput,
    WalkerDayMetrics,
    local_day_window,
    resident_day,
    robot_day_metrics,
    walker_day_metrics,
)
from analytics.store import Resident, assignments, monitored_intervals, robot_events

FloatArray = npt.NDArray[np.float64]

_PG_EPOCH_S = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_HEADER = 19
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


def legacy_load_frames(
    conn: psycopg.Connection[TupleRow], device_id: str, start: datetime, end: datetime
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """``(t_s, samples (n, 10), brake)`` as the old reader returned them."""
    data = bytearray()
    with conn.cursor().copy(_QUERY, (device_id, start, end)) as copy:
        for chunk in copy:
            data += chunk
    view = memoryview(bytes(data))
    pos = _HEADER
    times: list[float] = []
    rates: list[float] = []
    counts: list[int] = []
    columns: list[list[FloatArray]] = [[] for _ in _CHANNELS]
    brakes: list[npt.NDArray[np.uint8]] = []
    while pos < len(view):
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
        return np.zeros(0), np.zeros((0, len(_CHANNELS))), np.zeros(0, dtype=bool)
    lens = np.asarray(counts)
    first = np.repeat(np.cumsum(lens) - lens, lens)
    t = np.repeat(times, lens) + (np.arange(int(lens.sum())) - first) / np.repeat(rates, lens)
    samples = np.column_stack([np.concatenate(c) for c in columns])
    return t, samples, np.concatenate(brakes).astype(bool)


def legacy_resident_day(
    conn: psycopg.Connection[TupleRow], who: Resident, day: date
) -> tuple[ResidentDayMetrics, str | None]:
    """A resident-day as the runner computed it before 0011: one read per assignment."""
    start_s, end_s = local_day_window(day, who.time_zone)
    best: WalkerDayMetrics | None = None
    best_span = 0.0
    for a in assignments(conn, who.resident_id, _utc(start_s), _utc(end_s)):
        w0 = max(start_s, a.start.timestamp())
        w1 = min(end_s, a.end.timestamp() if a.end else end_s)
        if w1 <= w0:
            continue
        t, s, brake = legacy_load_frames(
            conn, a.device_id, _utc(w0 - CONTEXT_S), _utc(w1 + CONTEXT_S)
        )
        monitored = monitored_intervals(conn, a.device_id, _utc(w0), _utc(w1))
        inp = WalkerDayInput(
            device_id=a.device_id, start_s=w0, end_s=w1, t_s=t, acc_mps2=s[:, 0:3],
            gyro_radps=s[:, 3:6], odo_l_m=s[:, 6], odo_r_m=s[:, 7], force_l_n=s[:, 8],
            force_r_n=s[:, 9], brake=brake, monitored_s=monitored,
        )  # fmt: skip
        metrics = walker_day_metrics(inp, who.time_zone)
        if w1 - w0 > best_span:
            best, best_span = metrics, w1 - w0
    events = robot_events(conn, who.tenant_id, who.pseudonym, _utc(start_s), _utc(end_s))
    robot = robot_day_metrics(events, who.pseudonym, day, who.time_zone) if events else None
    result = resident_day(best, robot, pseudonym=who.pseudonym, day=day)
    return result, best.device_id if best is not None else None


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC)


def legacy_marked(conn: psycopg.Connection[TupleRow]) -> set[tuple[int, date]]:
    """The resident-days the runner's marking found, frame by frame, before 0011."""
    rows = conn.execute(
        """SELECT DISTINCT a.resident_id, (d.t AT TIME ZONE tn.time_zone)::date
           FROM walker_frames f
           CROSS JOIN LATERAL (VALUES (f.time), (f.time - interval '15 minutes')) AS d(t)
           JOIN device_assignments a ON a.device_id = f.device_id AND a.valid @> d.t
           JOIN tenants tn ON tn.tenant_id = a.tenant_id"""
    ).fetchall()
    return {(int(r), d) for r, d in rows}
