"""Motion of the walker during one excursion, and the excursion's truth.

This is the stage between the plan and the sensors: it draws the steps (from the
excursion's own seed, independent of the device) and the walker's motion on the sample
grid. Signals are rendered from it; the truth is read off it. Both therefore agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_sim.world._rng import derive_rng
from firmware_sim.world.gait import generate_steps, walk_kinematics
from firmware_sim.world.residents import Resident
from firmware_sim.world.routine import Excursion
from firmware_sim.world.truth import (
    BoutTruth,
    ExcursionTruth,
    StepSequence,
    TransitionTruth,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Motion:
    """Walker motion of an excursion on its sample grid (all arrays of length N)."""

    t_s: FloatArray
    seg_index: IntArray
    speed_mps: FloatArray
    yaw_rate_radps: FloatArray
    step_phase: FloatArray
    stride_sign: FloatArray
    step_index: IntArray
    walking: BoolArray
    truth: ExcursionTruth


def sample_grid(start_s: float, end_s: float, fs_hz: float) -> FloatArray:
    """Sample times ``n / fs`` (n integer) in ``[start_s, end_s)``.

    The grid is global (anchored at the epoch), so consecutive excursions or chunks never
    produce overlapping or misaligned samples.
    """
    n0 = math.ceil(start_s * fs_hz - 1e-6)
    n1 = math.ceil(end_s * fs_hz - 1e-6)
    grid: FloatArray = np.arange(n0, max(n1, n0), dtype=np.float64) / fs_hz
    return grid


def _smooth_ramp(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    out: FloatArray = x * x * (3.0 - 2.0 * x)
    return out


def excursion_motion(exc: Excursion, resident: Resident, fs_hz: float) -> Motion:
    """Draw the steps and compute the walker motion of one excursion.

    1. Sample grid and the segment of every sample.
    2. Per walking segment: steps (:func:`~firmware_sim.world.gait.generate_steps`),
       kinematics, and a bout record (first to last IC, integrated distance).
    3. Per push segment (staff moving the walker): a smooth speed profile, no steps.
    4. Sit-to-stand and stand-to-sit transitions straight from the plan.
    """
    # 1.
    t = sample_grid(exc.start_s, exc.end_s, fs_hz)
    n = len(t)
    starts = np.array([s.start_s for s in exc.segments])
    seg_index = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
    speed = np.zeros(n)
    yaw = np.zeros(n)
    phase = np.zeros(n)
    stride = np.zeros(n)
    step_index = np.full(n, -1, dtype=np.int64)
    walking = np.zeros(n, dtype=bool)
    rng = derive_rng(exc.seed, 1)
    parts: list[StepSequence] = []
    bouts: list[BoutTruth] = []
    transitions: list[TransitionTruth] = []
    offset = 0
    for seg in exc.segments:
        a, b = np.searchsorted(t, [seg.start_s, seg.end_s])
        if seg.kind == "walk":
            # 2.
            steps = generate_steps(
                seg.start_s, seg.end_s, seg.speed_mps, resident.gait, seg.turns, rng
            )
            kin = walk_kinematics(
                t[a:b], seg.start_s, seg.end_s, seg.speed_mps, seg.turns, steps, resident.gait, rng
            )
            speed[a:b] = kin.speed_mps
            yaw[a:b] = kin.yaw_rate_radps
            phase[a:b] = kin.step_phase
            stride[a:b] = kin.stride_sign
            step_index[a:b] = np.where(kin.step_index >= 0, kin.step_index + offset, -1)
            walking[a:b] = True
            ic0, ic1 = float(steps.ic_s[0]), float(steps.ic_s[-1])
            inside = (kin.t_s >= ic0) & (kin.t_s < ic1)
            distance = float(kin.speed_mps[inside].sum()) / fs_hz
            duration = ic1 - ic0
            bouts.append(
                BoutTruth(
                    start_s=ic0,
                    end_s=ic1,
                    n_steps=len(steps),
                    first_step=offset,
                    distance_m=distance,
                    mean_speed_mps=distance / duration if duration > 0 else 0.0,
                    cadence_spm=60.0 * (len(steps) - 1) / duration if duration > 0 else 0.0,
                    n_turns=len(seg.turns),
                )
            )
            parts.append(steps)
            offset += len(steps)
        elif seg.kind == "push":
            # 3.
            tt = t[a:b]
            ramp = min(1.0, 0.3 * (seg.end_s - seg.start_s))
            env = _smooth_ramp((tt - seg.start_s) / ramp) * _smooth_ramp((seg.end_s - tt) / ramp)
            speed[a:b] = seg.speed_mps * env
            angle = float(rng.uniform(-math.pi / 2, math.pi / 2))
            yaw[a:b] = angle / (seg.end_s - seg.start_s) * env
        elif seg.kind == "sit_to_stand":
            # 4.
            transitions.append(TransitionTruth("sit_to_stand", seg.start_s, seg.end_s))
        elif seg.kind == "stand_to_sit":
            transitions.append(TransitionTruth("stand_to_sit", seg.start_s, seg.end_s))
    truth = ExcursionTruth(
        pseudonym=resident.pseudonym,
        purpose=exc.purpose,
        start_s=exc.start_s,
        end_s=exc.end_s,
        steps=StepSequence.concat(parts),
        bouts=tuple(bouts),
        transitions=tuple(transitions),
    )
    return Motion(
        t_s=t,
        seg_index=seg_index.astype(np.int64),
        speed_mps=speed,
        yaw_rate_radps=yaw,
        step_phase=phase,
        stride_sign=stride,
        step_index=step_index,
        walking=walking,
        truth=truth,
    )
