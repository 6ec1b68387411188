"""Walker step detector and bouts: hand-made signals with known steps, then simulated bouts."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.gait import (
    BoutDetectorOdometry,
    StepDetectorWalker,
    WalkerMotion,
    stride_time_cv,
)
from stayactive.tools.validation.analytics import wire_arrays
from tests.analytics.synthetic import signals_of, step_times, walker_walk


def _detect(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, object]:
    sig = signals_of(arrays)
    mo = WalkerMotion.from_signals(sig)
    steps = StepDetectorWalker().detect(sig, mo)
    bouts = BoutDetectorOdometry().detect(steps.ic_s_, steps.side_, sig, mo).bouts_
    t0 = arrays["t_s"][0] if len(arrays["t_s"]) else 0.0
    return steps.ic_s_ - t0, steps.side_, bouts


@pytest.mark.parametrize(
    ("cadence_spm", "speed_mps"), [(40, 0.15), (52, 0.2), (90, 0.6), (115, 1.0), (150, 1.2)]
)
def test_hand_made_walk_known_steps(cadence_spm: float, speed_mps: float) -> None:
    rng = np.random.default_rng(1)
    ic = step_times(cadence_spm, 30, rng, start_s=4.0, cv=0.04)
    found, side, bouts = _detect(walker_walk(ic, speed_mps, rng=rng))
    assert abs(len(found) - len(ic)) <= 1
    err = np.array([np.min(np.abs(found - x)) for x in ic])
    assert np.median(err) < 0.05
    assert len(bouts) == 1
    assert bouts.n_steps[0] >= len(ic) - 1
    # The left/right swing: even contacts are left (+1), odd right (-1).
    near = np.array([np.argmin(np.abs(ic - f)) for f in found])
    expected = np.where(near % 2 == 0, 1, -1)
    assert np.mean(side == expected) >= 0.9


def test_irregular_steps_are_counted() -> None:
    rng = np.random.default_rng(4)
    ic = step_times(60, 40, rng, start_s=4.0, cv=0.08, irregular_prob=0.1)
    found, _, _ = _detect(walker_walk(ic, 0.35, rng=rng))
    assert abs(len(found) - len(ic)) <= 2


def test_empty_and_one_sample() -> None:
    rng = np.random.default_rng(0)
    arrays = walker_walk(step_times(80, 10, rng, start_s=4.0), 0.5, rng=rng)
    for n in (0, 1):
        cut = {k: v[:n] for k, v in arrays.items()}
        found, side, bouts = _detect(cut)
        assert len(found) == 0 and len(side) == 0 and len(bouts) == 0


def test_standing_walker_and_staff_push_give_no_steps() -> None:
    rng = np.random.default_rng(2)
    ic = step_times(80, 20, rng, start_s=4.0)
    still = walker_walk(ic, 0.5, rng=rng)
    for k in ("odo_l_m", "odo_r_m"):
        still[k] = np.zeros_like(still[k])  # all the load waves, but the walker never rolls
    assert len(_detect(still)[0]) == 0
    push = walker_walk(ic, 0.8, rng=rng, load_n=20.0, swing=0.0, wave=0.0, surge=0.0)
    _found, _, bouts = _detect(push)  # rolled by staff with a light grip: no steps, no bout
    assert len(bouts) == 0


def test_missing_loads_fall_back_to_odometry_surges() -> None:
    rng = np.random.default_rng(3)
    ic = step_times(80, 30, rng, start_s=4.0)
    arrays = walker_walk(ic, 0.5, rng=rng, surge=0.3)
    arrays["force_l_n"] = np.full_like(arrays["force_l_n"], np.nan)
    found, side, bouts = _detect(arrays)
    assert abs(len(found) - len(ic)) <= 2
    assert np.all(side == 0)
    assert len(bouts) == 1


def test_clipped_loads_fall_back_too() -> None:
    rng = np.random.default_rng(3)
    ic = step_times(80, 30, rng, start_s=4.0)
    arrays = walker_walk(ic, 0.5, rng=rng, surge=0.3, load_n=1700.0)
    arrays["force_l_n"] = np.clip(arrays["force_l_n"], 0, 1500.0)
    arrays["force_r_n"] = np.clip(arrays["force_r_n"], 0, 1500.0)
    found, _, bouts = _detect(arrays)
    assert abs(len(found) - len(ic)) <= 3
    assert len(bouts) == 1


def test_rate_change_mid_walk() -> None:
    rng = np.random.default_rng(6)
    ic = step_times(90, 40, rng, start_s=4.0)
    a = walker_walk(ic, 0.6, rng=rng)
    t = a["t_s"] - a["t_s"][0]
    # From 15 s on the device sends 25 Hz: keep every other sample, odometry summed.
    keep = (t < 15.0) | (np.arange(len(t)) % 2 == 0)
    b = {k: v[keep].copy() for k, v in a.items()}
    tail = np.flatnonzero(keep & (t >= 15.0))
    for k in ("odo_l_m", "odo_r_m"):
        b[k][t[keep] >= 15.0] = a[k][tail] + a[k][np.minimum(tail + 1, len(t) - 1)]
    found, _, bouts = _detect(b)
    assert abs(len(found) - len(ic)) <= 1
    assert len(bouts) == 1


def test_data_gap_splits_a_bout() -> None:
    rng = np.random.default_rng(8)
    ic = step_times(80, 40, rng, start_s=4.0)
    a = walker_walk(ic, 0.5, rng=rng)
    t = a["t_s"] - a["t_s"][0]
    keep = (t < 15.0) | (t >= 17.0)  # two frames lost
    _, _, bouts = _detect({k: v[keep] for k, v in a.items()})
    assert len(bouts) == 2


def test_bout_distance_speed_and_cadence() -> None:
    rng = np.random.default_rng(12)
    ic = 4.0 + np.arange(31) * 0.75  # 80 steps/min exactly
    a = walker_walk(ic, 0.5, rng=rng, surge=0.0)
    _, _, bouts = _detect(a)
    assert len(bouts) == 1
    assert bouts.distance_m[0] == pytest.approx(0.5 * bouts.duration_s[0], rel=0.02)
    assert bouts.speed_mps[0] == pytest.approx(0.5, rel=0.02)
    assert bouts.cadence_spm[0] == pytest.approx(80.0, rel=0.02)


def test_stride_time_cv_known_answer() -> None:
    from analytics.gait import Bouts

    # Strides alternate 1.0 and 1.2 s apart... built from steps of 0.5, 0.5, 0.6, 0.6, ...
    steps = np.array([0.5, 0.5, 0.6, 0.6] * 5)
    ic = np.concatenate(([0.0], np.cumsum(steps)))
    bouts = Bouts(
        start_s=np.array([ic[0]]),
        end_s=np.array([ic[-1]]),
        n_steps=np.array([len(ic)]),
        distance_m=np.array([10.0]),
        first_step=np.array([0]),
    )
    stride = ic[2:] - ic[:-2]
    expected = np.std(stride, ddof=1) / np.mean(stride)
    assert stride_time_cv(ic, bouts)[0] == pytest.approx(expected)
    assert np.isnan(stride_time_cv(ic, bouts, min_strides=100)[0])


@pytest.mark.parametrize("speed_mps", [0.2, 0.5, 0.9])
def test_simulated_bout_any_orientation(speed_mps: float) -> None:
    from firmware_sim.world import make_walker, synthesize_bout

    for seed in (31, 32):
        walker = make_walker("walker-any", seed, any_yaw=True)
        exc = synthesize_bout(speed_mps, 40.0, seed=seed, walker=walker)
        w = wire_arrays(exc.signals)
        found, _, bouts = _detect(w)
        truth = exc.truth
        assert abs(len(found) - len(truth.steps)) <= 1
        assert len(bouts) == 1
        b = truth.bouts[0]
        assert bouts.speed_mps[0] == pytest.approx(b.mean_speed_mps, abs=0.03)


def _alternate_by_sorting(ext_i, ext_sign, x):  # type: ignore[no-untyped-def]
    """The first implementation of ``_alternate``: a lexsort by group and score."""
    order = np.argsort(ext_i, kind="stable")
    ext_i, ext_sign = ext_i[order], ext_sign[order]
    new_group = np.concatenate(([True], ext_sign[1:] != ext_sign[:-1]))
    group = np.cumsum(new_group) - 1
    score = ext_sign * x[ext_i]
    best = np.lexsort((-score, group))
    first = np.concatenate(([True], group[best][1:] != group[best][:-1]))
    keep = np.sort(best[first])
    return ext_i[keep], ext_sign[keep]


def _stop_index_for_every_cell(moving, speed, stop_mps, reach):  # type: ignore[no-untyped-def]
    """The first implementation of ``_stop_index``: computed for every cell."""
    n = len(speed)
    idx = np.arange(n)
    last_fast = np.maximum.accumulate(np.where(speed > stop_mps, idx, -1))
    d = np.diff(np.concatenate(([0], moving.astype(np.int8), [0])))
    stops = np.flatnonzero(d == -1)
    if len(stops) == 0:
        return np.full(n, n)
    run_stop = last_fast[np.minimum(stops + reach, n) - 1] + 1
    which = np.searchsorted(stops, idx, side="right")
    return np.where(which < len(stops), run_stop[np.minimum(which, len(stops) - 1)], n)


@pytest.mark.parametrize("seed", range(40))
def test_faster_helpers_choose_exactly_what_the_first_ones_did(seed: int) -> None:
    from analytics.gait._steps_walker import _alternate, _stop_index

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 2000))
    x = np.round(rng.normal(size=n), int(rng.integers(0, 3)))  # ties happen
    k = int(rng.integers(0, n + 1))
    ext_i = rng.choice(n, size=k, replace=False).astype(np.int64)
    ext_sign = rng.choice([-1, 1], size=k).astype(np.int64)
    for got, want in zip(
        _alternate(ext_i, ext_sign, x), _alternate_by_sorting(ext_i, ext_sign, x), strict=True
    ):
        assert np.array_equal(got, want)
    moving = rng.random(n) < rng.uniform(0, 1)
    speed = np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 0.1, n))
    ic = np.sort(rng.choice(n, size=min(n, 50), replace=False)).astype(np.int64)
    every = _stop_index_for_every_cell(moving, speed, 0.04, 5)
    assert np.array_equal(_stop_index(moving, speed, 0.04, 5, ic), every[ic])
    assert np.array_equal(_stop_index(moving, speed, 0.04, 5), every)
