"""Walker hardware: sensor mounting, sensor errors and wheel geometry, fixed per device."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from firmware_sim.world._rng import derive_rng, derive_seed, str_key

__all__ = ["GRAVITY_MPS2", "WalkerHardware", "make_walker"]

FloatArray = npt.NDArray[np.float64]

GRAVITY_MPS2 = 9.80665


@dataclass(frozen=True)
class WalkerHardware:
    """Per-device constants of a smart walker.

    Frames: the walker body frame has x forward, y left, z up. The IMU's device frame is
    rotated from it by ``mount_rotation`` (columns: device axes expressed in body axes),
    never axis-aligned: a vector ``v_body`` reads ``v_body @ mount_rotation`` in the
    device frame.

    Attributes
    ----------
    device_id : str
    mount_rotation : ndarray, shape (3, 3)
    track_width_m : float
        Distance between the rear wheels carrying the odometry encoders.
    wheel_tick_m : float
        Encoder resolution (travel per count).
    wheel_scale : ndarray, shape (2,)
        Left/right effective wheel-circumference error (tyre wear, pressure).
    acc_bias_mps2, gyro_bias_radps : ndarray, shape (3,)
        Zero offsets (device frame).
    acc_scale : ndarray, shape (3,)
        Scale factor per accelerometer axis.
    force_offset_n, force_gain : ndarray, shape (2,)
        Left/right handle load-cell offset and gain.
    drift_amp : ndarray, shape (8,)
        Amplitudes of slow (thermal) drift: acc x/y/z, gyro x/y/z, force L/R.
    drift_period_s, drift_phase_rad : ndarray, shape (8,)
    frame_resonance_hz : float
        First vertical mode of the frame excited by impacts.
    acc_noise_mps2, gyro_noise_radps, force_noise_n : float
        White-noise standard deviation per sample.
    acc_range_mps2, gyro_range_radps : float
        Full scale (+/-16 g, +/-2000 deg/s); readings clip there.
    force_range_n : tuple of float
        Load-cell range; the firmware clamps readings below zero (offsets) to zero.
    noise_seed : int
    """

    device_id: str
    mount_rotation: FloatArray = field(repr=False)
    track_width_m: float
    wheel_tick_m: float
    wheel_scale: FloatArray = field(repr=False)
    acc_bias_mps2: FloatArray = field(repr=False)
    acc_scale: FloatArray = field(repr=False)
    gyro_bias_radps: FloatArray = field(repr=False)
    force_offset_n: FloatArray = field(repr=False)
    force_gain: FloatArray = field(repr=False)
    drift_amp: FloatArray = field(repr=False)
    drift_period_s: FloatArray = field(repr=False)
    drift_phase_rad: FloatArray = field(repr=False)
    frame_resonance_hz: float
    acc_noise_mps2: float = 0.012
    gyro_noise_radps: float = 0.0015
    force_noise_n: float = 0.4
    acc_range_mps2: float = 16.0 * GRAVITY_MPS2
    gyro_range_radps: float = math.radians(2000.0)
    force_range_n: tuple[float, float] = (0.0, 1000.0)
    noise_seed: int = 0

    def drift(self, t_s: FloatArray) -> FloatArray:
        """Slow sensor drift at absolute times, shape ``(len(t_s), 8)``.

        A deterministic function of time (no state), so it is continuous across chunks,
        excursions and days however the signals are synthesised.
        """
        if len(t_s) == 0:
            return np.zeros((0, 8))
        # Periods are hours: evaluate on knots every 5 s of a global grid and interpolate
        # (error < 1e-5 of the amplitude); the knots do not depend on how time is chunked.
        k0 = math.floor(float(t_s[0]) / 5.0)
        k1 = math.floor(float(t_s[-1]) / 5.0) + 2
        knots = np.arange(k0, k1, dtype=np.float64) * 5.0
        arg = 2.0 * np.pi * knots[:, None] / self.drift_period_s[None, :] + self.drift_phase_rad
        coarse = self.drift_amp * np.sin(arg)
        out: FloatArray = np.column_stack(
            [np.interp(t_s, knots, coarse[:, j]) for j in range(coarse.shape[1])]
        )
        return out


def _rotation(axis: FloatArray, angle_rad: float) -> FloatArray:
    """Rodrigues' rotation matrix about a unit axis."""
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    r: FloatArray = np.eye(3) + math.sin(angle_rad) * k + (1.0 - math.cos(angle_rad)) * (k @ k)
    return r


def make_walker(
    device_id: str,
    seed: int,
    *,
    tilt_range_deg: tuple[float, float] = (4.0, 15.0),
    any_yaw: bool = False,
) -> WalkerHardware:
    """Draw the constants of one walker, deterministically from ``(seed, device_id)``.

    The IMU's axes are nominally the walker's (x forward, y left, z up, as the device
    protocol states) but the board is mounted with a fixed tilt of ``tilt_range_deg``
    about a random axis, so no axis is aligned with gravity or the walking direction
    (a plausible production spread, not a measured one).

    Parameters
    ----------
    device_id : str
    seed : int
    tilt_range_deg : tuple of float, optional
        Range of the mounting tilt angle.
    any_yaw : bool, optional
        Also turn the board by a random multiple of 90 deg about z (for robustness tests
        of orientation-free algorithms; breaks the protocol's nominal axes).
    """
    rng = derive_rng(seed, 7, str_key(device_id))
    quarter = float(rng.integers(0, 4)) if any_yaw else 0.0
    base = _rotation(np.array([0.0, 0.0, 1.0]), quarter * math.pi / 2)
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    tilt = _rotation(axis, math.radians(float(rng.uniform(*tilt_range_deg))))
    drift_amp = np.concatenate(
        [np.full(3, 0.02), np.full(3, 0.002), np.full(2, 1.0)]
    ) * rng.uniform(0.5, 1.5, 8)
    return WalkerHardware(
        device_id=device_id,
        mount_rotation=tilt @ base,
        track_width_m=float(rng.uniform(0.50, 0.56)),
        wheel_tick_m=math.pi * 0.2 / 1024.0,
        wheel_scale=1.0 + 0.01 * rng.standard_normal(2),
        acc_bias_mps2=rng.uniform(-0.3, 0.3, 3),
        acc_scale=1.0 + 0.01 * rng.standard_normal(3),
        gyro_bias_radps=rng.uniform(-0.02, 0.02, 3),
        force_offset_n=rng.uniform(-3.0, 3.0, 2),
        force_gain=1.0 + 0.02 * rng.standard_normal(2),
        drift_amp=drift_amp,
        drift_period_s=rng.uniform(2.0, 8.0, 8) * 3600.0,
        drift_phase_rad=rng.uniform(0.0, 2.0 * math.pi, 8),
        frame_resonance_hz=float(rng.uniform(12.0, 18.0)),
        noise_seed=derive_seed(seed, 8, str_key(device_id)),
    )
