"""What the walker frame did, cell by cell: travel, speed, heading rate, handle use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.gait._arrays import BoolArray, FloatArray, close_gaps, drop_short, moving_mean
from analytics.gait._signals import WalkerSignals

__all__ = ["WalkerMotion"]


def _cells(seconds: float, fs_hz: float) -> int:
    return max(round(seconds * fs_hz), 1)


@dataclass(frozen=True)
class WalkerMotion:
    """Derived motion on the working grid, shared by the walker algorithms.

    Attributes
    ----------
    travel_m : ndarray
        Cumulative forward travel of the rear-axle midpoint (mean of both wheels) at the end
        of each cell, from 0 at the start of the day.
    speed_mps : ndarray
        Forward speed over a centred 0.3-s window.
    moving : ndarray of bool
        Rolling: forward speed over 1 s above ``move_mps``, gaps under 0.5 s closed,
        stretches under 0.5 s dropped.
    yaw_rate_radps : ndarray
        Rate of turn about the vertical (gyro projected on the gravity direction), positive to
        the left; the gyro bias is removed as the median rate while standing still.
    total_force_n : ndarray
        Left plus right handle load.
    held : ndarray of bool
        Total handle load above ``hold_n`` with valid load-cell readings.
    """

    travel_m: FloatArray
    speed_mps: FloatArray
    moving: BoolArray
    yaw_rate_radps: FloatArray
    total_force_n: FloatArray
    held: BoolArray

    @classmethod
    def from_signals(
        cls,
        s: WalkerSignals,
        *,
        move_mps: float = 0.04,
        hold_n: float = 10.0,
        gravity_window_s: float = 2.0,
    ) -> WalkerMotion:
        """Compute the motion.

        1. Forward travel per cell: mean of both wheels (0 where odometry is missing).
        2. Speed over 0.3 s and over 1 s; rolling where the 1-s speed exceeds ``move_mps``.
        3. Gravity direction from the moving mean of the acceleration; yaw rate = gyro
           projected on it, minus its median while the walker stands still (bias).
        4. Total handle load and whether the handles are held.
        """
        fs = s.fs_hz
        # 1.
        step_m = np.where(s.odo_ok, 0.5 * (s.odo_l_m + s.odo_r_m), 0.0)
        travel = np.cumsum(step_m)
        # 2.
        speed = moving_mean(step_m, _cells(0.3, fs)) * fs
        speed_1s = moving_mean(step_m, _cells(1.0, fs)) * fs
        half = _cells(0.5, fs)
        moving = drop_short(close_gaps(speed_1s > move_mps, half), half)
        # 3.
        acc, gyro = s.acc_mps2, s.gyro_radps
        w = _cells(gravity_window_s, fs)
        g = np.column_stack([moving_mean(acc[:, j], w) for j in range(3)])
        g_norm = np.sqrt(np.einsum("ij,ij->i", g, g))
        yaw = np.einsum("ij,ij->i", gyro, g) / np.where(g_norm > 0, g_norm, 1.0)
        yaw = np.where(s.imu_ok, yaw, 0.0)
        still = (np.abs(speed) < 0.005) & s.imu_ok
        if still.sum() > fs:
            yaw = yaw - float(np.median(yaw[still]))
        yaw = np.where(s.in_run, yaw, 0.0)
        # 4.
        total = s.force_l_n + s.force_r_n
        return cls(
            travel_m=travel,
            speed_mps=speed,
            moving=moving,
            yaw_rate_radps=yaw,
            total_force_n=total,
            held=(total > hold_n) & s.force_ok,
        )
