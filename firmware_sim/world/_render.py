"""Rendering of walker sensor arrays from an excursion's motion (see :mod:`.signals`).

Every random number here comes from the device's noise seed and the excursion's seed;
the steps and the motion (and so the truth) are fixed before this stage.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

from firmware_sim.world._motion import Motion, sample_grid
from firmware_sim.world._rng import derive_rng, str_key
from firmware_sim.world.devices import GRAVITY_MPS2, WalkerHardware
from firmware_sim.world.residents import Resident
from firmware_sim.world.routine import Excursion

__all__ = ["SignalChunk", "render", "synthesize_parked"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SignalChunk:
    """Sensor samples of one device over a contiguous stretch of the sample grid.

    Attributes
    ----------
    device_id : str
    fs_hz : float
    t_s : ndarray, shape (N,)
        Sample times, seconds since 1970-01-01T00:00:00Z (true time, no clock error).
    acc_mps2 : ndarray, shape (N, 3)
        Specific force in the device frame, gravity included (~9.81 m/s^2 at rest).
    gyro_radps : ndarray, shape (N, 3)
        Angular rate in the device frame.
    wheel_left_m, wheel_right_m : ndarray, shape (N,)
        Distance rolled by each rear wheel since the previous sample (whole encoder
        ticks; negative when rolling backwards).
    force_left_n, force_right_n : ndarray, shape (N,)
        Vertical load on each handle.
    brake_engaged : ndarray of bool, shape (N,)
    """

    device_id: str
    fs_hz: float
    t_s: FloatArray
    acc_mps2: FloatArray
    gyro_radps: FloatArray
    wheel_left_m: FloatArray
    wheel_right_m: FloatArray
    force_left_n: FloatArray
    force_right_n: FloatArray
    brake_engaged: BoolArray

    def __len__(self) -> int:
        return len(self.t_s)

    def slice(self, start: int, stop: int) -> SignalChunk:
        """Return samples ``start:stop`` (views, no copy)."""
        return replace(
            self,
            t_s=self.t_s[start:stop],
            acc_mps2=self.acc_mps2[start:stop],
            gyro_radps=self.gyro_radps[start:stop],
            wheel_left_m=self.wheel_left_m[start:stop],
            wheel_right_m=self.wheel_right_m[start:stop],
            force_left_n=self.force_left_n[start:stop],
            force_right_n=self.force_right_n[start:stop],
            brake_engaged=self.brake_engaged[start:stop],
        )

    def windows(self, window_s: float) -> Iterator[SignalChunk]:
        """Yield consecutive windows of at most ``window_s`` seconds (e.g. one frame each)."""
        step = max(1, round(window_s * self.fs_hz))
        for i in range(0, len(self), step):
            yield self.slice(i, i + step)

    @classmethod
    def concat(cls, chunks: Iterable[SignalChunk], device_id: str, fs_hz: float) -> SignalChunk:
        """Concatenate chunks of one device (may be empty)."""
        items = list(chunks)

        def cat(name: str, shape: tuple[int, ...]) -> FloatArray:
            if not items:
                return np.zeros(shape)
            out: FloatArray = np.concatenate([getattr(c, name) for c in items])
            return out

        return cls(
            device_id=device_id,
            fs_hz=fs_hz,
            t_s=cat("t_s", (0,)),
            acc_mps2=cat("acc_mps2", (0, 3)),
            gyro_radps=cat("gyro_radps", (0, 3)),
            wheel_left_m=cat("wheel_left_m", (0,)),
            wheel_right_m=cat("wheel_right_m", (0,)),
            force_left_n=cat("force_left_n", (0,)),
            force_right_n=cat("force_right_n", (0,)),
            brake_engaged=(
                np.concatenate([c.brake_engaged for c in items])
                if items
                else np.zeros(0, dtype=bool)
            ),
        )


@functools.lru_cache(maxsize=8)
def _vibration_sos(fs_hz: float) -> tuple[FloatArray, float]:
    """Band-pass 3-22 Hz (kept below Nyquist) and the gain normalising it to unit RMS."""
    hi = min(22.0, 0.45 * fs_hz)
    sos: FloatArray = sps.butter(2, [3.0, hi], btype="bandpass", fs=fs_hz, output="sos")
    impulse = np.zeros(4096)
    impulse[0] = 1.0
    h = sps.sosfilt(sos, impulse)
    return sos, 1.0 / math.sqrt(float(np.sum(h * h)))


@functools.lru_cache(maxsize=8)
def _jostle_sos(fs_hz: float) -> tuple[FloatArray, float]:
    """Band-pass 0.3-3 Hz for handling disturbances, normalised to unit RMS."""
    sos: FloatArray = sps.butter(2, [0.3, 3.0], btype="bandpass", fs=fs_hz, output="sos")
    impulse = np.zeros(8192)
    impulse[0] = 1.0
    h = sps.sosfilt(sos, impulse)
    return sos, 1.0 / math.sqrt(float(np.sum(h * h)))


def _resonate(x: FloatArray, f_hz: float, fs_hz: float, zeta: float = 0.12) -> FloatArray:
    """Ring a damped resonator with impulses ``x`` (peak response ~ impulse height)."""
    w = 2.0 * math.pi * min(f_hz, 0.4 * fs_hz) / fs_hz
    r = math.exp(-zeta * w)
    out: FloatArray = sps.lfilter([math.sin(w)], [1.0, -2.0 * r * math.cos(w), r * r], x)
    return out


def _slow_wander(
    t_s: FloatArray, rng: np.random.Generator, sd: float, f_max_hz: float
) -> FloatArray:
    """Sum of a few random sinusoids below ``f_max_hz`` with total standard deviation sd."""
    k = 4
    amp = sd * math.sqrt(2.0 / k) * np.abs(rng.standard_normal(k))
    freq = f_max_hz * rng.uniform(0.1, 1.0, k)
    ph = rng.uniform(0.0, 2.0 * math.pi, k)
    if len(t_s) < 2:
        return np.zeros(len(t_s))
    # Below 0.1 Hz: evaluate every 0.5 s and interpolate.
    knots = np.arange(float(t_s[0]), float(t_s[-1]) + 0.5, 0.5)
    coarse = (amp * np.sin(2.0 * math.pi * freq * (knots[:, None] - knots[0]) + ph)).sum(axis=1)
    out: FloatArray = np.interp(t_s, knots, coarse)
    return out


def _quantise_clip(x: FloatArray, full_scale: float) -> FloatArray:
    lsb = full_scale / 32768.0
    out: FloatArray = np.clip(np.round(x / lsb) * lsb, -full_scale, full_scale - lsb)
    return out


def render(
    walker: WalkerHardware, resident: Resident, exc: Excursion, mo: Motion, fs_hz: float
) -> SignalChunk:
    """Render sensor arrays from the motion of an excursion.

    1. Total handle load from piecewise-linear levels per segment, plus sit-to-stand peaks.
    2. Walking modulation of the load and its left/right split.
    3. Frame attitude (pitch/roll) from the loads; body-frame acceleration and rate.
    4. Gravity, rotation into the device frame, sensor errors, quantisation, clipping.
    5. Wheel odometry in whole encoder ticks; brake state.
    """
    rng = derive_rng(walker.noise_seed, exc.seed, str_key(walker.device_id))
    t = mo.t_s
    n = len(t)
    g = resident.gait
    mg = resident.body_mass_kg * GRAVITY_MPS2
    segs = exc.segments
    seg_speed = np.array([s.speed_mps for s in segs])[mo.seg_index]
    walk_v = max((s.speed_mps for s in segs if s.kind == "walk"), default=0.4)
    frailty = min(max((0.8 - walk_v) / 0.6, 0.0), 1.0)
    # 1.
    f_rest = float(rng.uniform(8.0, 20.0))
    f_stand = 0.55 * g.device_load_fraction * mg
    staff = exc.purpose == "staff_move"
    hold = float(rng.uniform(10.0, 30.0))  # staff push by the handles, lightly
    kt: list[float] = []
    kf: list[float] = []
    for s in segs:
        d = s.end_s - s.start_s
        if staff:
            lv = {"grab": (0.0, hold), "push": (hold, hold), "release": (hold, 0.0)}
            a, b = lv.get(s.kind, (0.0, 0.0))
            kt += [s.start_s, s.end_s]
            kf += [a, b]
        elif s.kind == "walk":
            share = 1.0 - 0.55 * min(max((s.speed_mps - 0.2) / 0.6, 0.0), 1.0)
            f_walk = g.device_load_fraction * share * mg
            r = min(1.5, d / 3.0)
            kt += [s.start_s, s.start_s + r, s.end_s - r, s.end_s]
            kf += [f_stand, f_walk, f_walk, f_stand]
        else:
            levels = {
                "grab": (0.0, f_rest),
                "sit_to_stand": (f_rest, f_stand),
                "stand": (f_stand, f_stand),
                "stand_to_sit": (f_stand, f_rest),
                "release": (f_rest, 0.0),
            }
            a, b = levels.get(s.kind, (0.0, 0.0))
            kt += [s.start_s, s.end_s]
            kf += [a, b]
    total = np.interp(t, np.array(kt), np.array(kf))
    peak = mg * float(rng.uniform(0.18, 0.30)) * (1.0 + 0.6 * frailty)
    a_x = np.zeros(n)
    for i, s in enumerate(segs):
        if s.kind in ("sit_to_stand", "stand_to_sit"):
            sel = mo.seg_index == i
            tau = (t[sel] - s.start_s) / (s.end_s - s.start_s)
            skew = float(rng.uniform(0.8, 1.25))
            scale = 1.0 if s.kind == "sit_to_stand" else 0.6
            total[sel] += scale * peak * np.sin(np.pi * tau**skew) ** 2
            # The walker is tugged towards the user, then pushed back, as the load peaks.
            a_x[sel] += 0.4 * scale * np.sin(2.0 * np.pi * tau)
    # 2.
    n_steps = len(mo.truth.steps)
    a_step = 0.12 * np.exp(0.25 * rng.standard_normal(n_steps + 1))
    a_lr = 0.22 * np.exp(0.25 * rng.standard_normal(n_steps + 1))
    amp_v = np.exp(0.25 * rng.standard_normal(n_steps + 1))
    heel = g.heel_strike_gain * np.exp(0.3 * rng.standard_normal(n_steps + 1))
    idx = np.where(mo.step_index >= 0, mo.step_index, n_steps)
    wmask = mo.walking.astype(np.float64)
    two_pi_phase = 2.0 * np.pi * mo.step_phase
    total = total * (1.0 + wmask * a_step[idx] * np.cos(two_pi_phase - 0.9))
    total = total * (1.0 + _slow_wander(t, rng, 0.06, 0.08))
    turn_shift = 0.15 * np.clip(mo.yaw_rate_radps / 0.6, -1.0, 1.0)
    share_l = 0.5 * (1.0 + g.handle_asymmetry + wmask * a_lr[idx] * mo.stride_sign) + turn_shift
    share_l = np.clip(share_l, 0.05, 0.95)
    force_l = np.maximum(total, 0.0) * share_l
    force_r = np.maximum(total, 0.0) * (1.0 - share_l)
    # 3.
    pitch = float(rng.normal(0.0, 0.005)) + 3.5e-5 * (force_l + force_r)
    roll = float(rng.normal(0.0, 0.005)) + 3.0e-5 * (force_l - force_r)
    u = mo.speed_mps
    a_x += np.gradient(u) * fs_hz if n > 1 else np.zeros(n)
    a_y = u * mo.yaw_rate_radps + wmask * 0.05 * (seg_speed / 0.5) * mo.stride_sign
    bob = 0.12 * (seg_speed / 0.5) ** 1.3 * math.sqrt(g.heel_strike_gain)
    a_z = wmask * bob * amp_v[idx] * np.cos(two_pi_phase - 0.6)
    impulses = np.zeros(n)
    ic = mo.truth.steps.ic_s
    if n_steps:
        pos = np.clip(np.round((ic - t[0]) * fs_hz).astype(np.int64), 0, n - 1)
        v_at = seg_speed[pos]
        np.add.at(impulses, pos, 0.5 * (v_at / 0.6) ** 2 * heel[:n_steps])
    bumps = np.zeros(n)
    dist = np.cumsum(u) / fs_hz
    if n and dist[-1] > 0:
        marks = rng.uniform(0.0, dist[-1], int(rng.poisson(dist[-1] / 30.0)))
        np.add.at(
            bumps, np.searchsorted(dist, marks).clip(0, n - 1), rng.uniform(1.5, 5.0, len(marks))
        )
        moving = np.flatnonzero(u > 0.1)
        if rng.random() < 0.02 and moving.size:  # walked into a door frame: clips
            bumps[int(rng.choice(moving))] += float(rng.uniform(60.0, 250.0))
        if rng.random() < 0.35:  # tiled floor: both axles knock on every joint
            spacing = float(rng.uniform(0.3, 0.6))
            joints = np.arange(spacing, dist[-1], spacing)
            joints = np.concatenate([joints, joints + 0.45])
            at = np.searchsorted(dist, joints).clip(0, n - 1)
            np.add.at(bumps, at, rng.uniform(0.1, 0.3, len(at)) * np.minimum(u[at] / 0.5, 1.5))
    ring = _resonate(impulses + bumps, walker.frame_resonance_hz, fs_hz)
    sos, gain = _vibration_sos(fs_hz)
    vib = sps.sosfilt(sos, rng.standard_normal((n, 6)), axis=0) * gain
    rough = 0.6 * float(np.exp(0.3 * rng.standard_normal())) * u**1.2
    # Handling: hands on the handles jostle the frame at low frequency, unrelated to steps.
    jsos, jgain = _jostle_sos(fs_hz)
    held = (total > 1.0).astype(np.float64)
    jostle = sps.sosfilt(jsos, rng.standard_normal((n, 3)), axis=0) * jgain * 0.04 * held[:, None]
    a_x += 0.35 * ring + 0.6 * rough * vib[:, 0] + jostle[:, 0]
    a_y += 0.15 * ring + 0.5 * rough * vib[:, 1] + jostle[:, 1]
    a_z += ring + rough * vib[:, 2] + jostle[:, 2]
    grad = (lambda x: np.gradient(x) * fs_hz) if n > 1 else (lambda x: np.zeros(n))
    w_body = np.column_stack(
        [
            grad(roll) + 0.03 * rough * vib[:, 3],
            grad(pitch) + 0.03 * rough * vib[:, 4],
            mo.yaw_rate_radps + 0.02 * rough * vib[:, 5],
        ]
    )
    # 4.
    g_body = GRAVITY_MPS2 * np.column_stack(
        [-np.sin(pitch), np.sin(roll) * np.cos(pitch), np.cos(roll) * np.cos(pitch)]
    )
    f_body = np.column_stack([a_x, a_y, a_z]) + g_body
    drift = walker.drift(t)
    acc = (f_body @ walker.mount_rotation) * walker.acc_scale + walker.acc_bias_mps2
    acc += drift[:, 0:3] + walker.acc_noise_mps2 * rng.standard_normal((n, 3))
    gyro = w_body @ walker.mount_rotation + walker.gyro_bias_radps + drift[:, 3:6]
    gyro += walker.gyro_noise_radps * rng.standard_normal((n, 3))
    lo, hi = walker.force_range_n
    forces = np.column_stack([force_l, force_r]) * walker.force_gain + walker.force_offset_n
    forces += drift[:, 6:8] + walker.force_noise_n * rng.standard_normal((n, 2))
    forces = np.clip(np.round(forces * 10.0) / 10.0, lo, hi)
    # 5.
    half = 0.5 * walker.track_width_m * mo.yaw_rate_radps
    wheels = []
    for j, v in enumerate((u - half, u + half)):
        travel = np.cumsum(v * walker.wheel_scale[j]) / fs_hz
        start = float(rng.uniform(0.0, walker.wheel_tick_m))
        counts = np.floor((travel + start) / walker.wheel_tick_m)
        wheels.append(np.diff(counts, prepend=0.0) * walker.wheel_tick_m)
    brake = np.array([s.brake_engaged for s in segs], dtype=bool)[mo.seg_index]
    return SignalChunk(
        device_id=walker.device_id,
        fs_hz=fs_hz,
        t_s=t,
        acc_mps2=_quantise_clip(acc, walker.acc_range_mps2),
        gyro_radps=_quantise_clip(gyro, walker.gyro_range_radps),
        wheel_left_m=wheels[0],
        wheel_right_m=wheels[1],
        force_left_n=forces[:, 0].copy(),
        force_right_n=forces[:, 1].copy(),
        brake_engaged=brake,
    )


def synthesize_parked(
    walker: WalkerHardware, start_s: float, end_s: float, fs_hz: float = 50.0
) -> SignalChunk:
    """Samples of a parked walker (brake on, no load): e.g. an idle tail before sleep."""
    t = sample_grid(start_s, end_s, fs_hz)
    n = len(t)
    rng = derive_rng(walker.noise_seed, 9, round(start_s * 1000.0))
    pitch, roll = rng.normal(0.0, 0.005, 2)
    g_body = GRAVITY_MPS2 * np.array([-math.sin(pitch), math.sin(roll), math.cos(roll)])
    drift = walker.drift(t)
    acc = (g_body @ walker.mount_rotation) * walker.acc_scale + walker.acc_bias_mps2
    acc = acc + drift[:, 0:3] + walker.acc_noise_mps2 * rng.standard_normal((n, 3))
    gyro = (
        walker.gyro_bias_radps
        + drift[:, 3:6]
        + walker.gyro_noise_radps * rng.standard_normal((n, 3))
    )
    forces = (
        walker.force_offset_n + drift[:, 6:8] + walker.force_noise_n * rng.standard_normal((n, 2))
    )
    lo, hi = walker.force_range_n
    forces = np.clip(np.round(forces * 10.0) / 10.0, lo, hi)
    return SignalChunk(
        device_id=walker.device_id,
        fs_hz=fs_hz,
        t_s=t,
        acc_mps2=_quantise_clip(acc, walker.acc_range_mps2),
        gyro_radps=_quantise_clip(gyro, walker.gyro_range_radps),
        wheel_left_m=np.zeros(n),
        wheel_right_m=np.zeros(n),
        force_left_n=forces[:, 0].copy(),
        force_right_n=forces[:, 1].copy(),
        brake_engaged=np.ones(n, dtype=bool),
    )
