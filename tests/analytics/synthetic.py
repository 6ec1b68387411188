"""Hand-made signals with known answers for the signal-layer tests.

Nothing here comes from the simulator's walker model: a lower-back accelerometer during gait is
modelled as one vertical and antero-posterior cycle per step (time-warped between the steps, so
irregular steps stay irregular) plus a heel-strike transient, a medio-lateral cycle per stride,
turned into a random sensor orientation with gravity and white noise.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
G = 9.80665


def random_rotation(rng: np.random.Generator) -> FloatArray:
    """A uniformly random rotation matrix (QR of a Gaussian matrix, sign-fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    out: FloatArray = q
    return out


def step_times(
    cadence_spm: float,
    n_steps: int,
    rng: np.random.Generator,
    *,
    start_s: float = 3.0,
    cv: float = 0.04,
    irregular_prob: float = 0.0,
) -> FloatArray:
    """Initial-contact times: nominal step time with Gaussian jitter and irregular steps.

    An irregular step is a shuffle (0.5 of a step time) or a hesitation (1.7 step times).
    """
    t0 = 60.0 / cadence_spm
    f = 1.0 + cv * rng.standard_normal(n_steps - 1)
    odd = rng.random(n_steps - 1) < irregular_prob
    f = np.where(odd, np.where(rng.random(n_steps - 1) < 0.5, 0.5, 1.7), f)
    out: FloatArray = start_s + np.concatenate(([0.0], np.cumsum(t0 * f)))
    return out


def lower_back_acc(
    ic_s: FloatArray,
    fs_hz: float,
    rng: np.random.Generator,
    *,
    amplitude_mps2: float = 1.0,
    pad_s: float = 3.0,
    noise_mps2: float = 0.03,
    rotate: bool = True,
    step_gain: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Lower-back acceleration (n, 3) with gravity around the given initial contacts.

    Standing still for ``pad_s`` before the first and after the last contact (with slow
    postural sway). ``step_gain`` scales each step's vertical and antero-posterior cycle and
    heel strike (an asymmetric gait: e.g. 1 and 0.3 alternating). Returns ``(t_s, acc_mps2)``;
    ``t_s`` starts at 0.
    """
    t = np.arange(0.0, float(ic_s[-1]) + pad_s, 1.0 / fs_hz)
    k = np.arange(len(ic_s), dtype=np.float64)
    last_step = float(ic_s[-1] - ic_s[-2]) if len(ic_s) > 1 else 1.0
    phase = np.interp(t, ic_s, k, left=np.nan, right=np.nan)
    # The last step's loading response runs on for half a step, then the person stands.
    tail = (t > ic_s[-1]) & (t <= ic_s[-1] + 0.5 * last_step)
    phase[tail] = len(ic_s) - 1 + (t[tail] - ic_s[-1]) / last_step
    walking = np.isfinite(phase)
    ph = np.where(walking, phase, 0.0)
    w = walking.astype(np.float64)
    gain = np.ones(len(ic_s)) if step_gain is None else np.asarray(step_gain, dtype=np.float64)
    amp = amplitude_mps2 * w * gain[np.clip(np.floor(ph).astype(int), 0, len(ic_s) - 1)]
    vert = amp * np.cos(2.0 * np.pi * (ph - 0.1))
    ap = 0.7 * amp * np.cos(2.0 * np.pi * (ph - 0.35))
    ml = 0.4 * amp * np.cos(np.pi * ph)
    # Heel strike: a decaying 15 Hz ring at every contact.
    imp = np.zeros(len(t))
    idx = np.clip(np.round(ic_s * fs_hz).astype(int), 0, len(t) - 1)
    imp[idx] = 0.8 * amplitude_mps2 * gain
    tau = np.arange(0.0, 0.2, 1.0 / fs_hz)
    ring = np.exp(-tau / 0.04) * np.cos(2.0 * np.pi * min(15.0, 0.4 * fs_hz) * tau)
    vert = vert + np.convolve(imp, ring)[: len(t)]
    sway = 0.05 * np.sin(2.0 * np.pi * 0.3 * t + rng.uniform(0, 2 * math.pi))
    body = np.column_stack([ap + sway, ml, vert + G])
    rot = random_rotation(rng) if rotate else np.eye(3)
    acc: FloatArray = body @ rot + noise_mps2 * rng.standard_normal((len(t), 3))
    return t, acc


def walker_walk(
    ic_s: FloatArray,
    speed_mps: float,
    *,
    fs_hz: float = 50.0,
    pad_s: float = 4.0,
    load_n: float = 150.0,
    swing: float = 0.2,
    wave: float = 0.1,
    surge: float = 0.2,
    rng: np.random.Generator | None = None,
    t0_s: float = 1_767_225_600.0,
) -> dict[str, FloatArray]:
    """Hand-made walker samples around given initial contacts (times from 0).

    The walker stands braked for ``pad_s`` (hands resting at 20 N), rolls at ``speed_mps``
    from 0.3 s before the first contact to 0.5 s after the last with a surge of ``surge``
    per step, the load rises to ``load_n`` over the second before the first contact (and
    falls over the second after the rolling) with a ``wave`` per step, and the left/right share
    swings by ``swing`` per stride (left at even contacts). Returns protocol-named arrays with
    absolute times from ``t0_s``.
    """
    rng = rng or np.random.default_rng(0)
    t = np.arange(0.0, float(ic_s[-1]) + 0.5 + pad_s, 1.0 / fs_hz)
    k = np.arange(len(ic_s), dtype=np.float64)
    step = float(np.median(np.diff(ic_s)))
    phase = np.interp(t, ic_s, k)
    phase = np.where(t < ic_s[0], (t - ic_s[0]) / step, phase)
    phase = np.where(t > ic_s[-1], len(ic_s) - 1 + (t - ic_s[-1]) / step, phase)
    on = (t >= ic_s[0] - 0.3) & (t <= ic_s[-1] + 0.5)
    w = on.astype(np.float64)
    v = speed_mps * w * (1.0 + surge * np.cos(2.0 * np.pi * (phase - 0.25)))
    # The user leans in over a second before the first step and off after the last.
    lean = np.clip(np.minimum((t - ic_s[0] + 1.0) / 1.0, (ic_s[-1] + 1.5 - t) / 1.0), 0.0, 1.0)
    lean = lean * lean * (3.0 - 2.0 * lean)
    total = 20.0 + (load_n - 20.0) * lean * (1.0 + w * wave * np.cos(2.0 * np.pi * phase - 0.5))
    share = 0.5 * (1.0 + swing * w * np.cos(np.pi * phase))
    fl = total * share + 0.3 * rng.standard_normal(len(t))
    fr = total * (1.0 - share) + 0.3 * rng.standard_normal(len(t))
    acc = np.column_stack(
        [
            0.02 * rng.standard_normal(len(t)),
            0.02 * rng.standard_normal(len(t)),
            G + 0.02 * rng.standard_normal(len(t)),
        ]
    )
    gyro = 0.002 * rng.standard_normal((len(t), 3))
    odo = v / fs_hz
    return {
        "t_s": t0_s + t,
        "acc_mps2": acc,
        "gyro_radps": gyro,
        "odo_l_m": odo.copy(),
        "odo_r_m": odo.copy(),
        "force_l_n": np.clip(fl, 0.0, 1500.0),
        "force_r_n": np.clip(fr, 0.0, 1500.0),
        "brake": (~on).astype(np.float64),
    }


def signals_of(arrays: dict[str, FloatArray], **kw: float):  # type: ignore[no-untyped-def]
    """``WalkerSignals`` of hand-made arrays."""
    from analytics.gait import WalkerSignals

    return WalkerSignals.from_arrays(
        arrays["t_s"],
        arrays["acc_mps2"],
        arrays["gyro_radps"],
        arrays["odo_l_m"],
        arrays["odo_r_m"],
        arrays["force_l_n"],
        arrays["force_r_n"],
        arrays.get("brake"),
        **kw,
    )
