"""Walker sensor signals: IMU, wheel odometry, handle forces and brake, with realistic errors.

Signals are synthesised per excursion (one use of the walker, i.e. one awake period of
the device), so a day can be streamed one excursion (or one window) at a time. Sample
times are on a global grid ``n / fs_hz`` seconds since 1970-01-01T00:00:00Z.

Model outline (parameters and sources in ``docs/simulator.md``):

* handle forces: leaning load that falls with gait speed, a step-frequency loading wave
  on both hands, a stride-frequency left/right weight shift, grip wander, a push-up peak
  of several tenths of body weight in every sit-to-stand;
* acceleration (body frame, then rotated into the tilted device frame, with gravity):
  walker surges per step (fore-aft), a weak step-frequency vertical wave, heel-strike
  transients ringing the frame (weak at slow speed), speed-dependent rolling vibration,
  door-sill bumps, rare collisions that clip at +/-16 g, centripetal acceleration in turns;
* gyro: yaw rate of turns and steering wiggle, roll/pitch of the loaded frame, vibration;
* sensor errors: bias, scale, slow thermal drift, white noise, 16-bit quantisation,
  full-scale clipping; wheel encoders count whole ticks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_sim.world._motion import excursion_motion
from firmware_sim.world._render import SignalChunk, render, synthesize_parked
from firmware_sim.world._rng import derive_rng
from firmware_sim.world.devices import WalkerHardware, make_walker
from firmware_sim.world.gait import Turn
from firmware_sim.world.residents import GaitTraits, Resident
from firmware_sim.world.routine import DayPlan, Excursion, Segment, SegmentKind
from firmware_sim.world.truth import ExcursionTruth

__all__ = [
    "DaySignals",
    "ExcursionSignals",
    "SignalChunk",
    "excursion_truth",
    "iter_day_signals",
    "reference_resident",
    "synthesize_bout",
    "synthesize_day",
    "synthesize_excursion",
    "synthesize_parked",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ExcursionSignals:
    """Signals and truth of one excursion (one awake period of the walker's device)."""

    excursion: Excursion
    signals: SignalChunk
    truth: ExcursionTruth


@dataclass(frozen=True)
class DaySignals:
    """All awake samples of a walker's day, the truth, and when the device slept."""

    plan: DayPlan
    signals: SignalChunk
    truths: tuple[ExcursionTruth, ...]
    parked_periods: tuple[tuple[float, float], ...]

    @property
    def n_steps(self) -> int:
        """Number of steps in the truth (= steps generated)."""
        return sum(len(t.steps) for t in self.truths)


def reference_resident(pseudonym: str = "R-00000000", body_mass_kg: float = 70.0) -> Resident:
    """Return a resident with median traits, for tests and single-bout synthesis."""
    return Resident(
        pseudonym=pseudonym,
        birth_year=1941,
        sex="F",
        body_mass_kg=body_mass_kg,
        height_m=1.65,
        activity_propensity=1.0,
        gait=GaitTraits(
            walk_ratio_m_per_spm=0.0045,
            stride_time_cv=0.045,
            irregular_step_prob=0.03,
            device_load_fraction=0.2,
            handle_asymmetry=0.03,
            heel_strike_gain=1.0,
            push_surge_depth=0.25,
        ),
    )


def excursion_truth(exc: Excursion, resident: Resident, fs_hz: float = 50.0) -> ExcursionTruth:
    """Return the truth of an excursion without rendering sensors (cheap).

    Identical to ``synthesize_excursion(...).truth`` for the same ``fs_hz``.
    """
    return excursion_motion(exc, resident, fs_hz).truth


def synthesize_excursion(
    walker: WalkerHardware, resident: Resident, exc: Excursion, fs_hz: float = 50.0
) -> ExcursionSignals:
    """Synthesise the samples of one excursion and return them with its truth."""
    mo = excursion_motion(exc, resident, fs_hz)
    return ExcursionSignals(exc, render(walker, resident, exc, mo, fs_hz), mo.truth)


def iter_day_signals(
    walker: WalkerHardware, plan: DayPlan, fs_hz: float = 50.0
) -> Iterator[ExcursionSignals]:
    """Yield the day's excursions one at a time, in time order (bounded memory).

    Between two yielded excursions the walker is parked and its device asleep; use
    ``plan.parked_periods()`` for those intervals. Excursions are independent of each
    other (own seeds), so the result does not depend on how far the iteration goes.
    """
    for exc in plan.excursions:
        yield synthesize_excursion(walker, plan.stay.resident, exc, fs_hz)


def synthesize_day(walker: WalkerHardware, plan: DayPlan, fs_hz: float = 50.0) -> DaySignals:
    """Synthesise every awake sample of a walker's day (concatenated, time-ordered)."""
    parts = list(iter_day_signals(walker, plan, fs_hz))
    return DaySignals(
        plan=plan,
        signals=SignalChunk.concat((p.signals for p in parts), walker.device_id, fs_hz),
        truths=tuple(p.truth for p in parts),
        parked_periods=tuple(plan.parked_periods()),
    )


def synthesize_bout(
    speed_mps: float,
    duration_s: float,
    *,
    seed: int = 0,
    fs_hz: float = 50.0,
    start_s: float = 1_767_225_600.0,
    resident: Resident | None = None,
    walker: WalkerHardware | None = None,
    turns: tuple[Turn, ...] = (),
    sit_to_stand: bool = True,
) -> ExcursionSignals:
    """Synthesise a single walking bout (with its sit-to-stand before and after).

    Parameters
    ----------
    speed_mps : float
        Gait speed of the bout (0.2-1.0 m/s is the modelled range).
    duration_s : float
        Walking time.
    seed : int, optional
        Fixes the steps and the sensor noise.
    fs_hz : float, optional
    start_s : float, optional
        When the walker is first touched (epoch seconds; default 2026-01-01T00:00:00Z).
    resident : Resident, optional
        Defaults to :func:`reference_resident`.
    walker : WalkerHardware, optional
        Defaults to ``make_walker("walker-test", seed)``.
    turns : tuple of Turn, optional
    sit_to_stand : bool, optional
        Start seated (sit-to-stand) and end seated (stand-to-sit).

    Returns
    -------
    ExcursionSignals
    """
    resident = resident or reference_resident()
    walker = walker or make_walker("walker-test", seed)
    rng = derive_rng(seed, 11)
    segs: list[Segment] = []
    t = start_s

    def add(
        kind: SegmentKind, dur: float, brake: bool, v: float = 0.0, tr: tuple[Turn, ...] = ()
    ) -> None:
        nonlocal t
        segs.append(Segment(kind, t, t + dur, brake, v, tr))
        t += dur

    add("grab", 1.5, True)
    if sit_to_stand:
        add("sit_to_stand", 2.5, True)
    add("stand", 2.0, True)
    add("walk", duration_s, False, speed_mps, turns)
    add("stand", 2.0, True)
    if sit_to_stand:
        add("stand_to_sit", 2.3, True)
    add("release", 1.0, True)
    exc = Excursion(start_s, t, "bout", tuple(segs), int(rng.integers(0, 2**62)))
    return synthesize_excursion(walker, resident, exc, fs_hz)
