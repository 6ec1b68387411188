"""Validation of the mobility metrics against the simulator's ground truth.

Simulated residents walk whole days at usual gait speeds from 0.2 to 1.0 m/s (sensor noise
and every other signal effect of ``firmware_sim.world`` switched on); their walker samples go
through the rounding and clipping the wire applies (``docs/protocol.md``: acceleration and
rate to 4 decimals, odometry 5, force 1, force clipped to 0-1500 N), then through
:func:`~analytics.mobility.walker_day_metrics`, exactly as ingest would store them and the
runner would read them. The robot's sessions become protocol events for
:func:`~analytics.mobility.robot_day_metrics`. Every figure is compared with the truth.

``stayactive validate analytics --seeds N`` runs it and prints the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.gait import detect_steps
from analytics.mobility import (
    DEFAULT_TZ,
    METRIC_VERSION,
    WalkerDayInput,
    WalkerDayMetrics,
    robot_day_metrics,
    walker_day_metrics,
)
from stayactive.tools.simulated_days import (
    FIRST_DAY,
    SPEEDS_MPS,
    DayTruth,
    RobotTruth,
    SimulatedDay,
    sessions_to_events,
    simulate_days,
    wire_arrays,
    wire_input,
)

__all__ = [
    "FIRST_DAY",
    "IOU_MATCH",
    "SPEEDS_MPS",
    "Check",
    "DayTruth",
    "RobotTruth",
    "SimulatedDay",
    "ValidationReport",
    "match_bouts",
    "sessions_to_events",
    "simulate_days",
    "validate",
    "wire_arrays",
    "wire_input",
]

FloatArray = npt.NDArray[np.float64]

IOU_MATCH = 0.5
"""A detected and a true bout match when their intersection over union is at least this."""


@dataclass(frozen=True)
class Check:
    """One validated figure: the measured error against its bound (lower is better)."""

    name: str
    error: float
    bound: float
    unit: str
    detail: str

    @property
    def passed(self) -> bool:
        """Error within the bound."""
        return bool(self.error <= self.bound)


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of :func:`validate`."""

    seeds: tuple[int, ...]
    resident_days: int
    checks: tuple[Check, ...]
    info: dict[str, float] = field(default_factory=dict)
    metric_version: str = METRIC_VERSION

    @property
    def passed(self) -> bool:
        """Every check within its bound."""
        return all(c.passed for c in self.checks)

    def as_json(self) -> dict[str, dict[str, Any]]:
        """``{metric: {"error", "bound", "passed"}}`` as printed by the CLI."""
        return {
            c.name: {"error": round(c.error, 6), "bound": c.bound, "passed": c.passed}
            for c in self.checks
        }


def _truth_stride_cv(t: DayTruth, min_strides: int = 5) -> float | None:
    """Median stride-time CV over true bouts longer than 10 s (as the metric is defined)."""
    cvs = []
    for a, k, d in zip(
        t.bout_first_step.tolist(),
        t.bout_steps.tolist(),
        (t.bout_end_s - t.bout_start_s).tolist(),
        strict=True,
    ):
        ic = t.ic_s[a : a + k]
        stride = ic[2:] - ic[:-2]
        if d > 10.0 and len(stride) >= min_strides:
            cvs.append(float(np.std(stride, ddof=1) / np.mean(stride)))
    return float(np.median(cvs)) if cvs else None


def match_bouts(
    det_start: FloatArray, det_end: FloatArray, true_start: FloatArray, true_end: FloatArray
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """One-to-one matching of bouts by intersection over union (greedy, best first).

    Returns the index pairs ``(detected, true)`` with IoU of at least :data:`IOU_MATCH`.
    """
    if len(det_start) == 0 or len(true_start) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    inter = np.clip(
        np.minimum(det_end[:, None], true_end[None, :])
        - np.maximum(det_start[:, None], true_start[None, :]),
        0.0,
        None,
    )
    union = (det_end - det_start)[:, None] + (true_end - true_start)[None, :] - inter
    iou = inter / np.maximum(union, 1e-9)
    di, ti = np.nonzero(iou >= IOU_MATCH)
    order = np.argsort(-iou[di, ti], kind="stable")
    used_d: set[int] = set()
    used_t: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for k in order.tolist():
        d, t = int(di[k]), int(ti[k])
        if d not in used_d and t not in used_t:
            used_d.add(d)
            used_t.add(t)
            pairs.append((d, t))
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


@dataclass
class _Tally:
    """Per-resident-day errors collected during a validation run."""

    steps_ape: list[float] = field(default_factory=list)
    distance_ape: list[float] = field(default_factory=list)
    walking_ape: list[float] = field(default_factory=list)
    cadence_ape: list[float] = field(default_factory=list)
    cv_abs: list[float] = field(default_factory=list)
    sts_ape: list[float] = field(default_factory=list)
    speed_day_abs: list[float] = field(default_factory=list)
    bout_speed_abs: list[float] = field(default_factory=list)
    bout_speed_abs_10s: list[float] = field(default_factory=list)
    true_10s: int = 0
    found_10s: int = 0
    det_10s: int = 0
    correct_10s: int = 0
    turns_ape: list[float] = field(default_factory=list)
    robot_abs: list[float] = field(default_factory=list)
    generic_steps_ape: list[float] = field(default_factory=list)
    no_data_failures: int = 0
    no_data_days: int = 0
    days: int = 0


def _ape(measured: float | None, true: float) -> float:
    if measured is None:
        return math.inf
    return abs(measured - true) / true


def _score_walker(m: WalkerDayMetrics, t: DayTruth, tally: _Tally) -> None:
    true_steps = len(t.ic_s)
    if true_steps == 0:
        return
    tally.steps_ape.append(_ape(m.steps_n, true_steps))
    tally.distance_ape.append(_ape(m.distance_m, float(t.bout_distance_m.sum())))
    dur = t.bout_end_s - t.bout_start_s
    tally.walking_ape.append(_ape(m.walking_min, float(dur.sum()) / 60.0))
    tally.cadence_ape.append(_ape(m.cadence_spm, float(np.median(t.bout_cadence_spm))))
    true_cv = _truth_stride_cv(t)
    if true_cv is not None and m.stride_time_cv is not None:
        tally.cv_abs.append(abs(m.stride_time_cv - true_cv))
    if t.n_sit_to_stands:
        tally.sts_ape.append(_ape(m.sit_to_stands_n, t.n_sit_to_stands))
    if t.n_turns:
        tally.turns_ape.append(_ape(m.turns_n, t.n_turns))
    if m.gait_speed_median_mps is not None:
        tally.speed_day_abs.append(
            abs(m.gait_speed_median_mps - float(np.median(t.bout_speed_mps)))
        )
    ds = np.array([b.start_s for b in m.bouts])
    de = np.array([b.end_s for b in m.bouts])
    dv = np.array([b.speed_mps for b in m.bouts])
    di, ti = match_bouts(ds, de, t.bout_start_s, t.bout_end_s)
    err = np.abs(dv[di] - t.bout_speed_mps[ti])
    tally.bout_speed_abs.extend(err.tolist())
    tally.bout_speed_abs_10s.extend(err[dur[ti] > 10.0].tolist())
    true_long = dur > 10.0
    tally.true_10s += int(true_long.sum())
    tally.found_10s += int(true_long[ti].sum())
    det_long = (de - ds) > 10.0
    tally.det_10s += int(det_long.sum())
    tally.correct_10s += int(det_long[di].sum())


def _score_robot(sd: SimulatedDay, tz: str, tally: _Tally) -> None:
    r = robot_day_metrics(sd.events, sd.pseudonym, sd.day, tz)
    rt = sd.robot_truth
    if not r.has_data:
        return
    tally.robot_abs.append(abs((r.sessions_n or 0) - rt.n_sessions))
    tally.robot_abs.append(abs((r.repetitions_n or 0) - rt.n_repetitions))
    tally.robot_abs.append(abs((r.exercise_min or 0.0) - rt.exercise_min))
    if rt.five_sts_s is not None or r.five_sts_s is not None:
        if rt.five_sts_s is None or r.five_sts_s is None:
            tally.robot_abs.append(math.inf)
        else:
            tally.robot_abs.append(abs(r.five_sts_s - rt.five_sts_s))


def _score_no_data(sd: SimulatedDay, tz: str, tally: _Tally) -> None:
    """The same resident-day with nothing received: it must read as "no data"."""
    w = sd.walker
    empty = WalkerDayInput.empty(w.device_id, w.start_s, w.end_s, day=w.day)
    m = walker_day_metrics(empty, tz)
    tally.no_data_days += 1
    if m.has_data or m.steps_n is not None or m.coverage != 0.0 or m.gait_speed_median_mps:
        tally.no_data_failures += 1


def _mean(x: list[float]) -> float:
    return float(np.mean(x)) if x else math.nan


def _p95(x: list[float]) -> float:
    return float(np.percentile(x, 95)) if x else math.nan


def validate(
    seeds: Sequence[int],
    *,
    speeds_mps: Sequence[float] = SPEEDS_MPS,
    days_per_resident: int = 1,
    tz_name: str = DEFAULT_TZ,
    generic: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ValidationReport:
    """Simulate, compute and compare; return the measured error of every metric.

    Parameters
    ----------
    seeds : sequence of int
        One simulated ward per seed (one resident per speed).
    speeds_mps : sequence of float, optional
        Usual gait speeds of the residents (0.2-1.0 m/s by default).
    days_per_resident : int, optional
    tz_name : str, optional
    generic : bool, optional
        Also run the generic accelerometer step detector on the walker frame (slower).
    progress : callable, optional
        Called with a line of text after each seed.

    Returns
    -------
    ValidationReport
        Errors are means over resident-days (absolute percentage errors) or over matched
        bouts (gait speed); bout detection as miss rate (1 - sensitivity) and false rate
        (1 - precision) of bouts over 10 s.
    """
    tally = _Tally()
    for seed in seeds:
        for sd in simulate_days(
            seed, speeds_mps=speeds_mps, days_per_resident=days_per_resident, tz_name=tz_name
        ):
            tally.days += 1
            m = walker_day_metrics(sd.walker, tz_name)
            _score_walker(m, sd.truth, tally)
            _score_robot(sd, tz_name, tally)
            _score_no_data(sd, tz_name, tally)
            if generic and len(sd.truth.ic_s):
                # The walker frame's vertical acceleration is weak: a lower floor than a
                # body-worn sensor's (docs/metrics.md).
                ic = detect_steps(sd.walker.acc_mps2, 50.0, min_rise_mps3=0.15)
                tally.generic_steps_ape.append(
                    abs(len(ic) - len(sd.truth.ic_s)) / len(sd.truth.ic_s)
                )
        if progress is not None:
            progress(f"seed {seed}: {tally.days} resident-days so far")
    sens = tally.found_10s / tally.true_10s if tally.true_10s else math.nan
    prec = tally.correct_10s / tally.det_10s if tally.det_10s else math.nan
    checks = (
        Check(
            "steps",
            _mean(tally.steps_ape),
            0.03,
            "fraction",
            f"mean absolute % error of steps per resident-day (p95 {_p95(tally.steps_ape):.4f})",
        ),
        Check(
            "cadence",
            _mean(tally.cadence_ape),
            0.05,
            "fraction",
            f"mean absolute % error of daily cadence (p95 {_p95(tally.cadence_ape):.4f})",
        ),
        Check(
            "bout_gait_speed",
            _mean(tally.bout_speed_abs),
            0.05,
            "m/s",
            f"MAE of bout gait speed, {len(tally.bout_speed_abs)} matched bouts "
            f"(bouts > 10 s: {_mean(tally.bout_speed_abs_10s):.4f})",
        ),
        Check(
            "distance",
            _mean(tally.distance_ape),
            0.02,
            "fraction",
            f"mean absolute % error of walking distance per resident-day "
            f"(p95 {_p95(tally.distance_ape):.4f})",
        ),
        Check(
            "bouts_10s_sensitivity",
            1.0 - sens,
            0.05,
            "1 - sensitivity",
            f"sensitivity {sens:.4f} over {tally.true_10s} true bouts > 10 s (IoU >= 0.5)",
        ),
        Check(
            "bouts_10s_precision",
            1.0 - prec,
            0.05,
            "1 - precision",
            f"precision {prec:.4f} over {tally.det_10s} detected bouts > 10 s (IoU >= 0.5)",
        ),
        Check(
            "sit_to_stands",
            _mean(tally.sts_ape),
            0.10,
            "fraction",
            f"mean absolute % error of sit-to-stands per resident-day "
            f"(p95 {_p95(tally.sts_ape):.4f})",
        ),
        Check(
            "no_data",
            float(tally.no_data_failures),
            0.0,
            "days",
            f"resident-days without any sample not reported as no data (of {tally.no_data_days})",
        ),
        Check(
            "stride_time_cv",
            _mean(tally.cv_abs),
            0.01,
            "CV",
            f"MAE of daily stride-time CV (our bound; p95 {_p95(tally.cv_abs):.4f})",
        ),
        Check(
            "robot",
            max(tally.robot_abs) if tally.robot_abs else math.nan,
            0.01,
            "count, min, s",
            "largest error of robot sessions, repetitions, exercise minutes, 5xSTS time",
        ),
    )
    info = {
        "walking_min_ape": _mean(tally.walking_ape),
        "turns_ape": _mean(tally.turns_ape),
        "day_gait_speed_mae_mps": _mean(tally.speed_day_abs),
        "steps_ape_max": max(tally.steps_ape) if tally.steps_ape else math.nan,
        "generic_acc_steps_ape": _mean(tally.generic_steps_ape),
    }
    return ValidationReport(tuple(seeds), tally.days, checks, info)
