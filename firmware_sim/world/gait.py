"""Gait model: cadence from speed, step timing with variability, walker kinematics.

Two stages keep the truth exact and independent of sensor rendering:

1. :func:`generate_steps` draws every initial contact (IC) of a walking bout: the
   per-step truth. It does not depend on the sampling rate.
2. :func:`walk_kinematics` turns those steps into the walker's motion on a sample grid:
   forward speed pushed in surges per step, yaw rate in turns, and the step phase the
   signal model locks its per-step waveforms to.

References are listed in ``docs/simulator.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_sim.world.residents import GaitTraits
from firmware_sim.world.truth import STEP_IRREGULAR, STEP_NORMAL, STEP_TURN, StepSequence

__all__ = [
    "Turn",
    "WalkKinematics",
    "cadence_spm",
    "generate_steps",
    "step_length_m",
    "turn_duration_s",
    "walk_kinematics",
]

FloatArray = npt.NDArray[np.float64]

_LEAD_IN_S = 0.3
"""The walker is pushed this long before the first IC (walker users push, then step)."""
_TAIL_S = 0.3
_TURN_STEP_SLOWING = 1.15
_TURN_SPEED_DROP = 0.35


@dataclass(frozen=True)
class Turn:
    """A turn within a bout.

    Attributes
    ----------
    offset_s : float
        Start of the turn after the start of the walking segment.
    duration_s : float
    angle_rad : float
        Heading change; positive is to the left (counter-clockwise seen from above).
    """

    offset_s: float
    duration_s: float
    angle_rad: float


@dataclass(frozen=True)
class WalkKinematics:
    """Walker motion during one walking segment, on the sample grid ``t_s``.

    Attributes
    ----------
    t_s : ndarray
        Sample times (epoch seconds) covering the segment.
    speed_mps : ndarray
        Forward speed of the walker (mid-point of the rear axle).
    yaw_rate_radps : ndarray
        Heading rate, positive to the left.
    step_phase : ndarray
        Continuous step count: 0 at the first IC, k at the k-th IC (extrapolated outside).
    stride_sign : ndarray
        ``cos(pi * step_phase + pi * first_foot)``: +1 at left ICs, -1 at right ICs;
        its fundamental is the stride frequency.
    step_index : ndarray of int64
        Index (within the segment) of the step in progress, -1 before the first IC.
    """

    t_s: FloatArray
    speed_mps: FloatArray
    yaw_rate_radps: FloatArray
    step_phase: FloatArray
    stride_sign: FloatArray
    step_index: npt.NDArray[np.int64]


def cadence_spm(speed_mps: float, walk_ratio_m_per_spm: float = 0.0045) -> float:
    """Return cadence (steps/min) at a gait speed under a constant walk ratio.

    With step length ``L = WR * c`` and speed ``v = L * c / 60``: ``c = sqrt(60 v / WR)``.
    The walk ratio is roughly invariant across speeds in older adults (Bogen et al. 2018,
    0.0060 m/(steps/min) in community-dwelling 70-81-year-olds); 0.0045 is our assumption
    for frail walker users, whose steps are shorter.

    Examples
    --------
    >>> round(cadence_spm(0.2), 1), round(cadence_spm(0.6), 1), round(cadence_spm(1.0), 1)
    (51.6, 89.4, 115.5)
    """
    if speed_mps <= 0:
        raise ValueError(f"speed must be positive, got {speed_mps}")
    return math.sqrt(60.0 * speed_mps / walk_ratio_m_per_spm)


def step_length_m(speed_mps: float, walk_ratio_m_per_spm: float = 0.0045) -> float:
    """Return step length (m) at a gait speed: ``v / step frequency``."""
    return speed_mps * 60.0 / cadence_spm(speed_mps, walk_ratio_m_per_spm)


def turn_duration_s(angle_rad: float, speed_mps: float) -> float:
    """Return how long a walker user takes for a turn: about 40-55 deg/s (assumption)."""
    rate_radps = 0.5 + 0.6 * min(max(speed_mps, 0.1), 1.2)
    return max(abs(angle_rad) / rate_radps, 1.0)


def _in_turns(t_rel_s: FloatArray, turns: tuple[Turn, ...]) -> npt.NDArray[np.bool_]:
    mask = np.zeros(t_rel_s.shape, dtype=bool)
    for turn in turns:
        mask |= (t_rel_s >= turn.offset_s) & (t_rel_s < turn.offset_s + turn.duration_s)
    return mask


def generate_steps(
    start_s: float,
    end_s: float,
    speed_mps: float,
    traits: GaitTraits,
    turns: tuple[Turn, ...],
    rng: np.random.Generator,
) -> StepSequence:
    """Draw the initial contacts of one walking bout.

    1. Nominal step time ``60 / cadence(v)``.
    2. Step-to-step fluctuation: AR(1) (lag-1 correlation 0.3, gait is persistent) with
       marginal CV ``traits.stride_time_cv``.
    3. Irregular steps with probability ``traits.irregular_step_prob``: half short
       shuffles (45-70 % of a step time), half hesitations (140-190 %).
    4. Steps inside a turn are 15 % slower.
    5. ICs from 0.3 s after the segment start (the walker is pushed first) while they fit
       before ``end_s - 0.3 s``; feet alternate from a random first foot.

    Parameters
    ----------
    start_s, end_s : float
        Walking segment (epoch seconds).
    speed_mps : float
        Gait speed of the bout.
    traits : GaitTraits
    turns : tuple of Turn
    rng : numpy.random.Generator

    Returns
    -------
    StepSequence
        At least two steps.
    """
    t0 = 60.0 / cadence_spm(speed_mps, traits.walk_ratio_m_per_spm)
    span = max(end_s - start_s - _LEAD_IN_S - _TAIL_S, 0.0)
    n_max = math.ceil(span / (0.35 * t0)) + 4
    # Every draw has a fixed size so the stream does not depend on where the loop stops.
    z = rng.standard_normal(n_max)
    u_irr = rng.random(n_max)
    u_irr_kind = rng.random(n_max)
    u_irr_size = rng.random(n_max)
    first_foot = int(rng.integers(0, 2))
    # 1.-2.
    phi = 0.3
    eps = np.empty(n_max)
    eps[0] = traits.stride_time_cv * z[0]
    innov = traits.stride_time_cv * math.sqrt(1.0 - phi * phi)
    for k in range(1, n_max):
        eps[k] = phi * eps[k - 1] + innov * z[k]
    factor = 1.0 + eps
    # 3.
    irregular = u_irr < traits.irregular_step_prob
    shuffle = irregular & (u_irr_kind < 0.5)
    hesitate = irregular & ~shuffle
    factor = np.where(shuffle, 0.45 + 0.25 * u_irr_size, factor)
    factor = np.where(hesitate, 1.4 + 0.5 * u_irr_size, factor)
    intervals = t0 * np.clip(factor, 0.35, 2.5)
    # 4. One refinement pass: slow the steps that start inside a turn.
    rel = _LEAD_IN_S + np.concatenate(([0.0], np.cumsum(intervals[:-1])))
    turning = _in_turns(rel, turns)
    intervals = np.where(turning, intervals * _TURN_STEP_SLOWING, intervals)
    # 5.
    rel = _LEAD_IN_S + np.concatenate(([0.0], np.cumsum(intervals[:-1])))
    keep = rel <= (end_s - start_s - _TAIL_S)
    n = max(int(keep.sum()), 2)
    ic = start_s + rel[:n]
    if ic[-1] > end_s:  # segment shorter than two steps: squeeze them in
        ic = np.array([start_s + 0.2 * (end_s - start_s), start_s + 0.7 * (end_s - start_s)])
    turning = _in_turns(ic - start_s, turns)
    kind = np.full(n, STEP_NORMAL, dtype=np.int8)
    kind[turning] = STEP_TURN
    # Interval k ends at IC k+1: that step is the irregular one.
    kind[1:][irregular[: n - 1]] = STEP_IRREGULAR
    foot = ((first_foot + np.arange(n)) % 2).astype(np.int8)
    return StepSequence(ic_s=ic.astype(np.float64), foot=foot, kind=kind)


def _smoothstep(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def walk_kinematics(
    t_s: FloatArray,
    start_s: float,
    end_s: float,
    speed_mps: float,
    turns: tuple[Turn, ...],
    steps: StepSequence,
    traits: GaitTraits,
    rng: np.random.Generator,
) -> WalkKinematics:
    """Compute the walker's motion on ``t_s`` for a walking segment with known steps.

    1. Step phase by linear interpolation of the step count between ICs.
    2. Forward speed ``v * ramp * turn_slowing * (1 + m_k cos(2 pi (phase - 1/4)))``: each
       step pushes the walker in a surge peaking a quarter step after IC; ``m_k`` varies
       per step around ``traits.push_surge_depth`` (halved for irregular steps).
    3. Yaw rate: raised-cosine turn profiles whose integral is the turn angle, a small
       stride-frequency wiggle (the walker is steered left/right with the steps) and a
       slow heading wander.

    Parameters
    ----------
    t_s : ndarray
        Sample times inside ``[start_s, end_s)``.
    start_s, end_s, speed_mps, turns
        The walking segment.
    steps : StepSequence
        From :func:`generate_steps` for the same segment.
    traits : GaitTraits
    rng : numpy.random.Generator

    Returns
    -------
    WalkKinematics
    """
    ic = steps.ic_s
    n = len(ic)
    k = np.arange(n, dtype=np.float64)
    first_dt = ic[1] - ic[0]
    last_dt = ic[-1] - ic[-2]
    # 1.
    phase = np.interp(t_s, ic, k)
    phase = np.where(t_s < ic[0], (t_s - ic[0]) / first_dt, phase)
    phase = np.where(t_s > ic[-1], (n - 1) + (t_s - ic[-1]) / last_dt, phase)
    step_index = np.where(t_s >= ic[0], np.minimum(np.floor(phase), n - 1), -1).astype(np.int64)
    # 2.
    depth = traits.push_surge_depth * np.exp(0.2 * rng.standard_normal(n + 1))
    depth[:n][steps.kind == STEP_IRREGULAR] *= 0.5
    m = depth[np.where(step_index >= 0, step_index, n)]
    ramp_up = _smoothstep((t_s - start_s) / (first_dt + _LEAD_IN_S))
    ramp_down = _smoothstep((end_s - t_s) / (0.5 * last_dt + _TAIL_S))
    rel = t_s - start_s
    slowing = np.ones_like(t_s)
    yaw = np.zeros_like(t_s)
    for turn in turns:
        tau = (rel - turn.offset_s) / turn.duration_s
        inside = (tau >= 0.0) & (tau < 1.0)
        bell = np.where(inside, 1.0 - np.cos(2.0 * np.pi * tau), 0.0)
        yaw += turn.angle_rad / turn.duration_s * bell
        slowing -= _TURN_SPEED_DROP * 0.5 * bell
    surge = 1.0 + m * np.cos(2.0 * np.pi * (phase - 0.25))
    speed = np.maximum(speed_mps * ramp_up * ramp_down * slowing * surge, 0.0)
    # 3.
    first_foot = int(steps.foot[0])
    stride_sign = np.cos(np.pi * phase + np.pi * first_foot)
    wiggle = (0.03 + 0.03 * rng.random()) * np.sin(np.pi * phase + np.pi * first_foot)
    wander_amp = 0.02 * rng.standard_normal(3)
    wander_f = 0.05 + 0.1 * rng.random(3)
    wander = sum(
        (
            wander_amp[j] * np.sin(2.0 * np.pi * wander_f[j] * rel + 6.28 * wander_f[j])
            for j in range(3)
        ),
        start=np.zeros_like(t_s),
    )
    yaw = yaw + (wiggle + wander) * ramp_up * ramp_down
    return WalkKinematics(
        t_s=t_s,
        speed_mps=speed,
        yaw_rate_radps=yaw,
        step_phase=phase,
        stride_sign=stride_sign,
        step_index=step_index,
    )
