"""Walker telemetry: frames of IMU, odometry and handle-force samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from firmware_sim.protocol._common import (
    _DECIMALS,
    _MAX_FRAMES,
    _MAX_SAMPLES,
    Message,
    ProtocolError,
    _header,
    _number,
    format_timestamp,
)


@dataclass(frozen=True, eq=False)
class WalkerFrame:
    """One frame of walker samples at a fixed rate, in SI units and the device's axes.

    Sample ``i`` was taken at ``t0 + i / rate_hz``. Axes: x forward (walking direction),
    y to the left, z up; acceleration includes gravity (about +9.81 m/s² on z at rest).

    Attributes
    ----------
    t0 : datetime
        Time of the first sample, timezone-aware.
    rate_hz : float
        Sampling rate, 1..200 Hz.
    acc_m_s2 : ndarray, shape (n, 3)
        Acceleration x, y, z in m/s².
    gyro_rad_s : ndarray, shape (n, 3)
        Angular rate about x, y, z in rad/s.
    odo_m : ndarray, shape (n, 2)
        Distance travelled by the left and right wheel since the previous sample, metres.
    force_n : ndarray, shape (n, 2)
        Force on the left and right handle, newtons.
    brake : ndarray, shape (n,)
        Parking brake engaged (true or 1) per sample.

    Notes
    -----
    Values are sent as given (only rounded); the frame does not clip them, so a sensor model
    should saturate at :data:`SAMPLE_LIMITS` as real hardware does.
    """

    t0: datetime
    rate_hz: float
    acc_m_s2: npt.NDArray[np.float64]
    gyro_rad_s: npt.NDArray[np.float64]
    odo_m: npt.NDArray[np.float64]
    force_n: npt.NDArray[np.float64]
    brake: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        if self.t0.tzinfo is None or self.t0.utcoffset() is None:
            raise ProtocolError("frame t0 must be timezone-aware")
        if not 1 <= self.rate_hz <= 200:
            raise ProtocolError(f"rate_hz {self.rate_hz} outside 1..200")
        if np.ndim(self.brake) != 1:
            raise ProtocolError(f"brake must be one-dimensional, has shape {np.shape(self.brake)}")
        n = self.n_samples
        if not 1 <= n <= _MAX_SAMPLES:
            raise ProtocolError(f"a frame holds 1..{_MAX_SAMPLES} samples, not {n}")
        shapes = {
            "acc_m_s2": (np.shape(self.acc_m_s2), (n, 3)),
            "gyro_rad_s": (np.shape(self.gyro_rad_s), (n, 3)),
            "odo_m": (np.shape(self.odo_m), (n, 2)),
            "force_n": (np.shape(self.force_n), (n, 2)),
            "brake": (np.shape(self.brake), (n,)),
        }
        for name, (got, want) in shapes.items():
            if got != want:
                raise ProtocolError(f"{name} has shape {got}, expected {want}")

    @property
    def n_samples(self) -> int:
        """Number of samples in the frame."""
        return len(self.brake)

    @property
    def duration_s(self) -> float:
        """Time covered by the frame: ``n_samples / rate_hz`` seconds."""
        return self.n_samples / self.rate_hz


def _samples(values: npt.ArrayLike, decimals: int) -> list[float]:
    # Adding 0.0 turns the -0.0 that rounding produces for tiny negatives into 0.0, so the same
    # reading always encodes to the same bytes.
    rounded = np.round(np.asarray(values, dtype=np.float64), decimals) + 0.0
    return list(rounded.tolist())  # Python floats, as float(x) each, in one call


def _frame_to_wire(frame: WalkerFrame) -> dict[str, Any]:
    acc, gyro = frame.acc_m_s2, frame.gyro_rad_s
    odo, force = frame.odo_m, frame.force_n
    d = _DECIMALS
    return {
        "t0": format_timestamp(frame.t0),
        "rate_hz": _number(frame.rate_hz),
        "acc_x": _samples(acc[:, 0], d["acc"]),
        "acc_y": _samples(acc[:, 1], d["acc"]),
        "acc_z": _samples(acc[:, 2], d["acc"]),
        "gyro_x": _samples(gyro[:, 0], d["gyro"]),
        "gyro_y": _samples(gyro[:, 1], d["gyro"]),
        "gyro_z": _samples(gyro[:, 2], d["gyro"]),
        "odo_l": _samples(odo[:, 0], d["odo"]),
        "odo_r": _samples(odo[:, 1], d["odo"]),
        "force_l": _samples(force[:, 0], d["force"]),
        "force_r": _samples(force[:, 1], d["force"]),
        "brake": np.asarray(frame.brake, dtype=np.int64).clip(0, 1).tolist(),
    }


def walker_telemetry(
    device_id: str, boot: int, seq: int, sent_at: datetime, frames: Sequence[WalkerFrame]
) -> Message:
    """A ``walker.telemetry`` message holding ``frames`` (oldest first).

    Parameters
    ----------
    device_id, boot, seq, sent_at
        The common header; ``sent_at`` is the device clock when the message is built.
    frames
        1..60 frames. Samples are rounded to a fixed number of decimals per quantity.

    Raises
    ------
    ProtocolError
        If there are no frames or more than 60.
    """
    if not 1 <= len(frames) <= _MAX_FRAMES:
        raise ProtocolError(f"a message holds 1..{_MAX_FRAMES} frames, not {len(frames)}")
    msg = _header("walker.telemetry", device_id, boot, seq, sent_at)
    msg["frames"] = [_frame_to_wire(f) for f in frames]
    return msg
