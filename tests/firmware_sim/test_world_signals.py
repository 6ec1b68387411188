"""Walker signals: exact step truth, spectral content at the step frequency, sensor sanity."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy import signal as sps

from firmware_sim.world import (
    GRAVITY_MPS2,
    ExcursionSignals,
    SignalChunk,
    TruthLog,
    excursion_truth,
    iter_day_signals,
    make_walker,
    plan_day,
    read_truth,
    synthesize_bout,
    synthesize_day,
    synthesize_parked,
    write_truth,
)
from tests.firmware_sim.world_helpers import make_stay

FS_HZ = 50.0


def peak_hz(x: npt.NDArray[np.float64], lo_hz: float = 0.3, hi_hz: float = 5.0) -> float:
    """Frequency of the Welch PSD maximum in ``[lo_hz, hi_hz]`` (0.05 Hz resolution)."""
    f, p = sps.welch(x, fs=FS_HZ, nperseg=1024)
    band = (f >= lo_hz) & (f <= hi_hz)
    return float(f[band][np.argmax(p[band])])


def walking_part(b: ExcursionSignals) -> npt.NDArray[np.bool_]:
    bout = b.truth.bouts[0]
    t = b.signals.t_s
    return (t >= bout.start_s) & (t <= bout.end_s)


def vertical(acc: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Project the device-frame acceleration on the mean gravity direction."""
    g = acc.mean(axis=0)
    out: npt.NDArray[np.float64] = acc @ (g / np.linalg.norm(g))
    return out


@pytest.mark.parametrize("speed", [0.35, 0.5, 0.7, 0.9])
@pytest.mark.parametrize("seed", [1, 2])
def test_force_and_vertical_acc_peak_at_step_frequency(speed: float, seed: int) -> None:
    b = synthesize_bout(speed, 90.0, seed=seed)
    bout = b.truth.bouts[0]
    step_hz = bout.cadence_spm / 60.0
    stride_hz = step_hz / 2.0
    w = walking_part(b)
    s = b.signals
    tol = 0.12
    assert abs(peak_hz(vertical(s.acc_mps2[w])) - step_hz) <= tol
    assert abs(peak_hz(s.force_left_n[w] + s.force_right_n[w]) - step_hz) <= tol
    # Each hand's load shifts left/right once per stride.
    assert abs(peak_hz(s.force_left_n[w], 0.2) - stride_hz) <= tol
    assert abs(peak_hz(s.force_right_n[w], 0.2) - stride_hz) <= tol


def test_steps_in_truth_equal_steps_generated(tmp_path: Path) -> None:
    stay = make_stay(0.55, date(2026, 4, 1))
    walker = make_walker("walker-ward-a-01", 3)
    plan = plan_day(stay, date(2026, 4, 3), seed=3)
    assert plan is not None
    day = synthesize_day(walker, plan)
    generated = sum(len(t.steps) for t in day.truths)
    assert generated == day.n_steps > 100
    assert generated == sum(b.n_steps for t in day.truths for b in t.bouts)
    # The truth without signals is the same truth.
    for exc, truth in zip(plan.excursions, day.truths, strict=True):
        cheap = excursion_truth(exc, stay.resident)
        np.testing.assert_array_equal(cheap.steps.ic_s, truth.steps.ic_s)
        assert cheap.bouts == truth.bouts
    log = TruthLog()
    for truth in day.truths:
        log.add_excursion(walker.device_id, truth)
    path = tmp_path / "truth.jsonl"
    assert write_truth(path, log) == len(log.records)
    records = list(read_truth(path))
    steps = [r for r in records if r["type"] == "step"]
    assert len(steps) == generated
    assert {r["foot"] for r in steps} == {"L", "R"}
    bouts = [r for r in records if r["type"] == "bout"]
    assert sum(r["n_steps"] for r in bouts) == generated
    for r in steps:
        assert r["t"].endswith("Z") and r["device_id"] == walker.device_id


def test_chunked_day_equals_whole_day_and_is_deterministic() -> None:
    stay = make_stay(0.4, date(2026, 10, 20))
    walker = make_walker("walker-ward-a-02", 5)
    plan = plan_day(stay, date(2026, 10, 25), seed=5)  # a 25-hour day
    assert plan is not None
    whole = synthesize_day(walker, plan).signals
    again = synthesize_day(walker, plan).signals
    np.testing.assert_array_equal(whole.acc_mps2, again.acc_mps2)
    parts = [w for e in iter_day_signals(walker, plan) for w in e.signals.windows(1.0)]
    assert all(len(p) <= FS_HZ for p in parts)
    streamed = SignalChunk.concat(parts, walker.device_id, FS_HZ)
    for name in ("t_s", "acc_mps2", "gyro_radps", "wheel_left_m", "force_right_n", "brake_engaged"):
        np.testing.assert_array_equal(getattr(streamed, name), getattr(whole, name))
    # One global sample grid: strictly increasing, every time an integer multiple of 1/fs.
    assert np.all(np.diff(whole.t_s) > 0)
    n = whole.t_s * FS_HZ
    np.testing.assert_allclose(n, np.round(n), atol=1e-3)
    # No sample falls in a parked period.
    for a, b in plan.parked_periods():
        assert not np.any((whole.t_s >= a + 1e-6) & (whole.t_s < b - 1e-6))


def test_sensor_sanity() -> None:
    b = synthesize_bout(0.5, 60.0, seed=7)
    s = b.signals
    at_rest = s.acc_mps2[: int(FS_HZ)]  # hands arriving, brake on, walker still
    g = at_rest.mean(axis=0)
    assert np.linalg.norm(g) == pytest.approx(GRAVITY_MPS2, abs=0.5)
    assert np.sum(np.abs(g) > 0.5) >= 2  # the mounting is not axis-aligned ...
    assert g[2] > 9.0  # ... but nominally z up, as the device protocol says
    assert s.force_left_n.min() >= 0.0
    assert np.all(np.abs(s.acc_mps2) <= 16 * GRAVITY_MPS2)
    # Odometry matches the truth distance (lead-in/out adds a little).
    bout = b.truth.bouts[0]
    odo = 0.5 * (s.wheel_left_m.sum() + s.wheel_right_m.sum())
    assert bout.distance_m <= odo <= bout.distance_m + 1.0
    assert bout.mean_speed_mps == pytest.approx(0.5, rel=0.1)
    # Brake on while standing up, and no wheel motion then.
    sts = next(t for t in b.truth.transitions if t.kind == "sit_to_stand")
    during = (s.t_s >= sts.start_s) & (s.t_s < sts.end_s)
    assert s.brake_engaged[during].all()
    assert not s.brake_engaged[walking_part(b)].any()
    assert np.all(s.wheel_left_m[s.brake_engaged] == 0)
    # Push-up on both handles during sit-to-stand exceeds the walking load.
    total = s.force_left_n + s.force_right_n
    assert total[during].max() > 1.2 * np.median(total[walking_part(b)])
    assert s.force_left_n[during].max() > 50 and s.force_right_n[during].max() > 50


def test_parked_samples_show_gravity_and_brake() -> None:
    walker = make_walker("walker-x", 1)
    chunk = synthesize_parked(walker, 1_780_000_000.0, 1_780_000_010.0)
    assert len(chunk) == 500
    assert chunk.brake_engaged.all()
    assert np.linalg.norm(chunk.acc_mps2.mean(axis=0)) == pytest.approx(GRAVITY_MPS2, abs=0.5)
    assert np.all(chunk.wheel_left_m == 0)


def test_slow_walking_is_weak() -> None:
    """At 0.2 m/s heel strikes are soft: far weaker vertical step component than at 0.8."""
    amps = []
    for speed in (0.2, 0.8):
        b = synthesize_bout(speed, 90.0, seed=4)
        v = vertical(b.signals.acc_mps2[walking_part(b)])
        f, p = sps.welch(v - v.mean(), fs=FS_HZ, nperseg=1024)
        step_hz = b.truth.bouts[0].cadence_spm / 60.0
        near = np.abs(f - step_hz) <= 0.1
        amps.append(float(np.sqrt(p[near].sum() * (f[1] - f[0]))))
    assert amps[0] < 0.3 * amps[1]


def test_two_hours_of_walking_synthesise_quickly() -> None:
    # No timing assertion; printed with -s.
    stay = make_stay(0.6, date(2026, 4, 1))
    plan = plan_day(stay, date(2026, 4, 5), seed=1, walking_min=120.0)
    assert plan is not None
    t0 = time.perf_counter()
    day = synthesize_day(make_walker("walker-bench", 1), plan)
    elapsed = time.perf_counter() - t0
    print(
        f"synthesize_day, {plan.walking_s / 60:.0f} min walking, {len(day.signals)} samples: "
        f"{elapsed:.3f} s"
    )
    assert plan.walking_s >= 7200.0
    assert day.signals.t_s[0] >= plan.day_start_s and day.signals.t_s[-1] < plan.day_end_s
