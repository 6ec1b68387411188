"""Generic step detector: any orientation, slow and irregular gait, missing data."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.gait import StepDetectorVerticalAcc, detect_steps, vertical_acceleration
from tests.analytics.synthetic import G, lower_back_acc, random_rotation, step_times


def _match(found_s: np.ndarray, true_s: np.ndarray, tol_s: float = 0.3) -> tuple[int, int]:
    """True positives (one-to-one within ``tol_s``) and false positives."""
    used: set[int] = set()
    tp = 0
    for f in found_s:
        j = int(np.argmin(np.abs(true_s - f)))
        if abs(true_s[j] - f) <= tol_s and j not in used:
            used.add(j)
            tp += 1
    return tp, len(found_s) - tp


def test_contract_returns_increasing_int_indices() -> None:
    rng = np.random.default_rng(0)
    ic = step_times(100, 20, rng)
    _, acc = lower_back_acc(ic, 50.0, rng)
    out = detect_steps(acc, 50.0)
    assert out.dtype == np.int64
    assert np.all(np.diff(out) > 0)
    det = StepDetectorVerticalAcc().detect(acc, sampling_rate_hz=50.0)
    assert np.array_equal(det.ic_list_, out)
    assert det.sequences_.shape[1] == 2


@pytest.mark.parametrize(
    ("cadence_spm", "amplitude_mps2"),
    [(40, 0.3), (52, 0.4), (70, 0.6), (100, 1.0), (130, 1.5), (173, 2.5)],
)
def test_known_steps_across_cadences_any_orientation(
    cadence_spm: float, amplitude_mps2: float
) -> None:
    found = 0
    false = 0
    total = 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        ic = step_times(cadence_spm, 30, rng, cv=0.05)
        _, acc = lower_back_acc(ic, 50.0, rng, amplitude_mps2=amplitude_mps2)
        tp, fp = _match(detect_steps(acc, 50.0) / 50.0, ic)
        found, false, total = found + tp, false + fp, total + len(ic)
    assert found / total >= 0.97
    assert false / total <= 0.03


def test_irregular_gait_shuffles_and_hesitations() -> None:
    found = total = false = 0
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        ic = step_times(60, 40, rng, cv=0.08, irregular_prob=0.1)
        _, acc = lower_back_acc(ic, 50.0, rng, amplitude_mps2=0.5)
        tp, fp = _match(detect_steps(acc, 50.0) / 50.0, ic)
        found, false, total = found + tp, false + fp, total + len(ic)
    assert found / total >= 0.93
    assert false / total <= 0.03


@pytest.mark.parametrize("cadence_spm", [45, 70, 110])
def test_asymmetric_gait_keeps_the_weak_leg(cadence_spm: float) -> None:
    # One leg loads the trunk a third as much as the other (a limp, an MS gait): the weak
    # steps must be found, not swallowed by the strong ones beside them.
    found = false = total = 0
    for seed in range(5):
        rng = np.random.default_rng(200 + seed)
        ic = step_times(cadence_spm, 30, rng, cv=0.05)
        gain = np.where(np.arange(len(ic)) % 2 == 0, 1.0, 0.3)
        _, acc = lower_back_acc(ic, 100.0, rng, amplitude_mps2=1.0, step_gain=gain)
        tp, fp = _match(detect_steps(acc, 100.0) / 100.0, ic)
        found, false, total = found + tp, false + fp, total + len(ic)
    assert found / total >= 0.95
    assert false / total <= 0.03


def test_orientation_does_not_matter() -> None:
    rng = np.random.default_rng(3)
    ic = step_times(90, 30, rng)
    _, acc = lower_back_acc(ic, 50.0, rng, rotate=False)
    base = detect_steps(acc, 50.0)
    for k in range(4):
        turned = acc @ random_rotation(np.random.default_rng(k))
        assert np.array_equal(detect_steps(turned, 50.0), base)


def test_standing_still_gives_no_steps() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(0, 60, 0.02)
    sway = 0.05 * np.sin(2 * np.pi * 0.3 * t)
    acc = np.column_stack([sway, 0 * t, G + 0 * t]) + 0.03 * rng.standard_normal((len(t), 3))
    assert len(detect_steps(acc @ random_rotation(rng), 50.0)) == 0


def test_empty_one_sample_and_all_nan() -> None:
    assert detect_steps(np.zeros((0, 3)), 50.0).tolist() == []
    assert detect_steps(np.array([[0.0, 0.0, G]]), 50.0).tolist() == []
    assert detect_steps(np.full((500, 3), np.nan), 50.0).tolist() == []


def test_nan_stretch_splits_the_signal_and_hides_no_steps_elsewhere() -> None:
    rng = np.random.default_rng(7)
    ic = step_times(80, 60, rng)
    _, acc = lower_back_acc(ic, 50.0, rng)
    gap = slice(20 * 50, 26 * 50)
    acc[gap] = np.nan
    out = detect_steps(acc, 50.0)
    assert not np.any((out >= gap.start) & (out < gap.stop))
    outside = ic[(ic < 20 - 2) | (ic > 26 + 2)]
    tp, _ = _match(out / 50.0, outside)
    assert tp / len(outside) >= 0.95


def test_clipped_impact_does_not_make_steps() -> None:
    rng = np.random.default_rng(9)
    t = np.arange(0, 30, 0.02)
    acc = np.tile([0.0, 0.0, G], (len(t), 1)) + 0.03 * rng.standard_normal((len(t), 3))
    acc[700] = [156.9, -156.9, 156.9]  # a knock that saturates +/-16 g
    assert len(detect_steps(acc, 50.0)) == 0


@pytest.mark.parametrize("fs_hz", [25.0, 100.0])
def test_other_sampling_rates(fs_hz: float) -> None:
    rng = np.random.default_rng(11)
    ic = step_times(100, 30, rng)
    _, acc = lower_back_acc(ic, fs_hz, rng)
    tp, fp = _match(detect_steps(acc, fs_hz) / fs_hz, ic)
    assert tp >= 29
    assert fp <= 1


def test_vertical_acceleration_is_gravity_free_in_any_orientation() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(0, 10, 0.02)
    body = np.column_stack([0 * t, 0 * t, G + 0.5 * np.sin(2 * np.pi * 1.5 * t)])
    v = vertical_acceleration(body @ random_rotation(rng), 50.0, 2.0)
    assert np.allclose(v[100:-100], 0.5 * np.sin(2 * np.pi * 1.5 * t[100:-100]), atol=0.05)
