"""Export a device's stored walker frames for a time range as a field-kit recording."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import psycopg
from psycopg.rows import TupleRow

from analytics.frames import load_frames
from stayactive.errors import RejectedInput
from stayactive.tools.validation.recordings import save_recording

__all__ = ["export_recording"]


def export_recording(
    conn: psycopg.Connection[TupleRow],
    device_id: str,
    start: datetime,
    end: datetime,
    out: Path,
) -> int:
    """Write the walker's samples with frame start in ``[start, end)`` to ``out`` (``.npz``).

    The file has every channel as stored (:mod:`stayactive.tools.validation.recordings`),
    sample times in ``t_s`` (epoch s) and the median rate as ``fs_hz``. Returns the number of
    samples; a range without any sample is a RejectedInput (nothing is written).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise RejectedInput("export_naive_time", "give --from and --to with a UTC offset")
    if not end > start:
        raise RejectedInput(
            "export_bad_range", f"{end.isoformat()} is not after {start.isoformat()}"
        )
    frames = load_frames(conn, device_id, start, end)
    n = len(frames.t_s)
    if n == 0:
        raise RejectedInput(
            "export_no_data", f"no walker frames of {device_id} in [{start}, {end})"
        )
    s = frames.samples
    dt = np.diff(frames.t_s)
    fs = float(1.0 / np.median(dt[dt > 0])) if n > 1 and (dt > 0).any() else 50.0
    save_recording(
        out,
        {
            "acc_m_s2": s[:, 0:3], "fs_hz": fs, "t_s": frames.t_s, "gyro_rad_s": s[:, 3:6],
            "odo_l_m": s[:, 6], "odo_r_m": s[:, 7], "force_l_n": s[:, 8], "force_r_n": s[:, 9],
            "brake": frames.brake, "device_id": device_id,
            "placement": "walker frame", "start_utc": start.isoformat(),
        },
    )  # fmt: skip
    return n
