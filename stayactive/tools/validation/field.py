"""The field validation kit (``stayactive validate field``): device against hand counts.

A physiotherapist walks with the resident and counts steps (and measures the distance) per
trial, the protocol in ``docs/metrics.md``. Each trial is a row of a CSV file::

    trial,recording,start_s,end_s,steps,distance_m
    r01-10mwt-1,walker-0007_2026-05-04.npz,12.0,31.5,24,10
    r01-2mwt,walker-0007_2026-05-04.npz,95.0,215.0,151,61.5

``recording`` names a ``.npz`` in the recordings folder
(:mod:`stayactive.tools.validation.recordings`); ``start_s``/``end_s`` are seconds from its first
sample. For a device export, columns
``start``/``end`` with clock times (ISO 8601 with a UTC offset, as noted by the watch) may be
given instead. ``steps`` and ``distance_m`` may be empty when not counted.

The device's figure for a trial is what the product reports:

* a walker export (odometry and handle loads present): the steps and distance of the walking
  bouts that start inside the trial (:func:`analytics.mobility.walker_day_metrics`);
* an acceleration-only recording: the steps of :func:`analytics.gait.detect_steps` inside the
  trial (no distance).

Agreement is summarised by Bland-Altman limits with confidence intervals
(:func:`analytics.agreement.bland_altman`), in counts and in percent of the hand count.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from analytics.agreement import BlandAltman, bland_altman, json_number
from analytics.gait import detect_steps
from analytics.mobility import WalkerDayInput, walker_day_metrics
from stayactive.errors import RejectedInput
from stayactive.tools.validation._text import figure
from stayactive.tools.validation.recordings import Recording, load_recording

__all__ = [
    "FieldReport",
    "Trial",
    "TrialResult",
    "measure_trial",
    "parse_counts",
    "text",
    "validate_field",
]

_COLUMNS = ("trial", "recording", "steps", "distance_m")
_RELATIVE = ("start_s", "end_s")
_CLOCK = ("start", "end")


@dataclass(frozen=True)
class Trial:
    """One counted trial (a row of the counts file)."""

    trial: str
    recording: str
    start_s: float
    end_s: float
    steps: float
    distance_m: float
    clock: bool = False
    """``start_s``/``end_s`` are epoch seconds (clock times), not seconds from the start."""


@dataclass(frozen=True)
class TrialResult:
    """The device's figures for a trial next to the hand counts."""

    trial: Trial
    steps: float
    distance_m: float


def _number(text: str, what: str, line: int) -> float:
    if text.strip() == "":
        return math.nan
    try:
        value = float(text)
    except ValueError as exc:
        raise RejectedInput("counts_bad_value", f"line {line}: {what} {text!r}") from exc
    if not math.isfinite(value) or value < 0:
        raise RejectedInput("counts_bad_value", f"line {line}: {what} {text!r}")
    return value


def _clock(text: str, what: str, line: int) -> float:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise RejectedInput("counts_bad_value", f"line {line}: {what} {text!r}") from exc
    if when.tzinfo is None:
        raise RejectedInput("counts_bad_value", f"line {line}: {what} {text!r} has no UTC offset")
    return when.timestamp()


def parse_counts(path: Path) -> list[Trial]:
    """Read the counts CSV (header with the columns above; extra columns are ignored)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RejectedInput("counts_unreadable", f"{path}: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    names = reader.fieldnames or []
    clock = all(c in names for c in _CLOCK) and not all(c in names for c in _RELATIVE)
    missing = [c for c in (*_COLUMNS, *(_CLOCK if clock else _RELATIVE)) if c not in names]
    if missing:
        raise RejectedInput("counts_missing_column", f"{path.name}: no {', '.join(missing)}")
    trials = []
    for line, row in enumerate(reader, start=2):
        if clock:
            start, end = _clock(row["start"], "start", line), _clock(row["end"], "end", line)
        else:
            start = _number(row["start_s"], "start_s", line)
            end = _number(row["end_s"], "end_s", line)
        if not (end > start):
            raise RejectedInput("counts_bad_value", f"line {line}: end is not after start")
        trials.append(
            Trial(
                trial=row["trial"].strip() or f"line {line}",
                recording=row["recording"].strip(),
                start_s=start,
                end_s=end,
                steps=_number(row["steps"], "steps", line),
                distance_m=_number(row["distance_m"], "distance_m", line),
                clock=clock,
            )
        )
    if not trials:
        raise RejectedInput("counts_empty", f"{path.name}: no trial")
    return trials


def measure_trial(rec: Recording, trial: Trial) -> TrialResult:
    """The device's steps and distance for ``trial`` (see the module docstring)."""
    if trial.clock:
        if rec.t_s is None:
            raise RejectedInput("recording_no_clock", f"{rec.name} has no sample times (t_s)")
        t0 = float(rec.t_s[0])
        trial = replace(trial, start_s=trial.start_s - t0, end_s=trial.end_s - t0, clock=False)
    t = rec.times_s
    if rec.walker is not None and rec.t_s is not None:
        w = rec.walker
        t0 = float(rec.t_s[0])
        window = WalkerDayInput(
            device_id=w.device_id or rec.name,
            start_s=t0 + trial.start_s,
            end_s=t0 + trial.end_s,
            t_s=rec.t_s,
            acc_mps2=rec.acc_mps2,
            gyro_radps=w.gyro_radps,
            odo_l_m=w.odo_l_m,
            odo_r_m=w.odo_r_m,
            force_l_n=w.force_l_n,
            force_r_n=w.force_r_n,
            brake=w.brake,
        )
        m = walker_day_metrics(window, "UTC")
        steps = math.nan if m.steps_n is None else float(m.steps_n)
        dist = math.nan if m.distance_m is None else float(m.distance_m)
        return TrialResult(trial, steps, dist)
    ic = t[detect_steps(rec.acc_mps2, rec.fs_hz)]
    inside = (ic >= trial.start_s) & (ic < trial.end_s)
    return TrialResult(trial, float(np.count_nonzero(inside)), math.nan)


@dataclass(frozen=True)
class FieldReport:
    """Every trial's figures and the agreement over them."""

    results: list[TrialResult]
    rejected: list[str]
    steps: BlandAltman
    steps_pct: BlandAltman
    distance: BlandAltman
    distance_pct: BlandAltman

    def as_json(self) -> dict[str, Any]:
        """Agreement figures, trials and rejected rows."""

        return {
            "steps": self.steps.as_json(),
            "steps_pct": self.steps_pct.as_json(),
            "distance_m": self.distance.as_json(),
            "distance_pct": self.distance_pct.as_json(),
            "trials": [
                {
                    "trial": r.trial.trial,
                    "recording": r.trial.recording,
                    "steps_counted": json_number(r.trial.steps),
                    "steps_device": json_number(r.steps),
                    "distance_measured_m": json_number(r.trial.distance_m),
                    "distance_device_m": json_number(r.distance_m),
                }
                for r in self.results
            ],
            "rejected": self.rejected,
        }


def validate_field(
    recordings_dir: Path, trials: Sequence[Trial], *, level: float = 0.95
) -> FieldReport:
    """Measure every trial and summarise the agreement.

    A trial whose recording is missing or unreadable is rejected (listed with its reason,
    the others still count).
    """
    cache: dict[str, Recording] = {}
    results: list[TrialResult] = []
    rejected: list[str] = []
    for trial in trials:
        try:
            if trial.recording not in cache:
                path = recordings_dir / trial.recording
                if not path.is_file():
                    raise RejectedInput("recording_not_found", f"{trial.recording}")
                cache[trial.recording] = load_recording(path)
            results.append(measure_trial(cache[trial.recording], trial))
        except RejectedInput as exc:
            rejected.append(f"{trial.trial}: {exc}")
    counted = np.array([r.trial.steps for r in results])
    device = np.array([r.steps for r in results])
    measured = np.array([r.trial.distance_m for r in results])
    dist = np.array([r.distance_m for r in results])
    return FieldReport(
        results=results,
        rejected=rejected,
        steps=bland_altman(device, counted, level=level),
        steps_pct=bland_altman(device, counted, level=level, relative=True),
        distance=bland_altman(dist, measured, level=level),
        distance_pct=bland_altman(dist, measured, level=level, relative=True),
    )


def text(report: FieldReport) -> str:
    """The printed report: every trial, then the agreement with its 95 % intervals."""
    lines = [
        f"{'trial':32s} {'steps counted':>13s} {'device':>7s}  {'m measured':>10s} {'device':>7s}"
    ]
    for r in report.results:
        lines.append(
            f"{r.trial.trial[:32]:32s} {figure(r.trial.steps, '13.0f')} {figure(r.steps, '7.0f')}  "
            f"{figure(r.trial.distance_m, '10.2f')} {figure(r.distance_m, '7.2f')}"
        )
    lines.append("")
    for label, ba, unit in (
        ("steps", report.steps, "steps"),
        ("steps, % of count", report.steps_pct, "%"),
        ("distance", report.distance, "m"),
        ("distance, % of measured", report.distance_pct, "%"),
    ):
        f = [figure(v, "+.2f") for v in (ba.bias, *ba.bias_ci, ba.lower, *ba.lower_ci,
                                           ba.upper, *ba.upper_ci)]  # fmt: skip
        lines.append(
            f"{label:24s} n={ba.n:3d}  bias {f[0]} {unit} [{f[1]}, {f[2]}]  "
            f"limits of agreement {f[3]} [{f[4]}, {f[5]}] to {f[6]} [{f[7]}, {f[8]}] "
            f"({ba.level:.0%} intervals)"
        )
    lines += [f"rejected {reason}" for reason in report.rejected]
    return "\n".join(lines)
