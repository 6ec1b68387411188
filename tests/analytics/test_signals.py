"""WalkerSignals: runs, gaps, rate changes, missing values, clipped sensors."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.gait import WalkerSignals, split_runs
from tests.analytics.synthetic import G, signals_of


def _arrays(t: np.ndarray, *, force_n: float = 50.0, odo_m: float = 0.001) -> dict[str, np.ndarray]:
    n = len(t)
    return {
        "t_s": t,
        "acc_mps2": np.tile([0.0, 0.0, G], (n, 1)),
        "gyro_radps": np.zeros((n, 3)),
        "odo_l_m": np.full(n, odo_m),
        "odo_r_m": np.full(n, odo_m),
        "force_l_n": np.full(n, force_n),
        "force_r_n": np.full(n, force_n),
        "brake": np.zeros(n),
    }


def test_split_runs_cuts_at_gaps_and_clock_steps() -> None:
    t = np.concatenate([np.arange(0, 1, 0.02), np.arange(2, 3, 0.02), [2.5, 2.52]])
    runs = split_runs(t)
    assert runs.start.tolist() == [0, 50, 100]
    assert runs.stop.tolist() == [50, 100, 102]
    assert np.allclose(runs.period_s, 0.02)


def test_empty_input_gives_empty_signals() -> None:
    sig = signals_of(_arrays(np.zeros(0)))
    assert len(sig) == 0
    assert sig.sampled_s.shape == (0, 2)


def test_one_sample_counts_as_sampled_time_only() -> None:
    sig = signals_of(_arrays(np.array([100.0])))
    assert len(sig) == 0
    assert sig.sampled_s.shape == (1, 2)
    assert sig.sampled_s[0, 0] == 100.0


def test_short_runs_and_very_slow_rates_are_not_analysed() -> None:
    # 1 Hz for a minute (every sample its own run), then 0.3 s at 50 Hz, then 2 s at 50 Hz.
    t = np.concatenate(
        [np.arange(0.0, 60.0, 1.0), 70 + np.arange(0, 0.3, 0.02), 80 + np.arange(0, 2, 0.02)]
    )
    sig = signals_of(_arrays(t))
    assert len(np.unique(sig.run_id[sig.in_run])) == 1
    assert int(sig.in_run.sum()) == 20
    assert len(sig.sampled_s) == 62


def test_binning_keeps_distance_and_means() -> None:
    t = 1000.0 + np.arange(0, 10, 0.02)
    sig = signals_of(_arrays(t, odo_m=0.002))
    assert sig.odo_l_m.sum() == pytest.approx(0.002 * len(t))
    inside = sig.in_run
    assert inside.sum() == 100  # 10 s of 0.1-s cells
    assert np.allclose(sig.force_l_n[inside], 50.0)
    assert np.all(np.diff(sig.t_s) > 0)
    assert sig.sampled_s[0, 0] == pytest.approx(1000.0)
    assert sig.sampled_s[0, 1] == pytest.approx(1010.0)


def test_rate_change_mid_day_keeps_distance_and_fills_cells() -> None:
    # 50 Hz, then (without a gap) 25 Hz, then after a gap 5 Hz (slower than the grid).
    t = np.concatenate(
        [np.arange(0, 10, 0.02), 10 + np.arange(0, 10, 0.04), 30 + np.arange(0, 10, 0.2)]
    )
    a = _arrays(t, odo_m=0.0)
    a["odo_l_m"] = np.where(t < 10, 0.01, np.where(t < 20, 0.02, 0.1))
    a["odo_r_m"] = a["odo_l_m"].copy()
    sig = signals_of(a)
    assert sig.odo_l_m.sum() == pytest.approx(a["odo_l_m"].sum())
    assert len(np.unique(sig.run_id[sig.in_run])) == 2
    assert np.all(np.isfinite(sig.force_l_n))
    assert np.allclose(sig.force_l_n[sig.in_run], 50.0)
    # Speed is 0.5 m/s in every part, whatever the rate.
    speed = (sig.odo_l_m * sig.fs_hz)[sig.in_run]
    assert np.median(speed) == pytest.approx(0.5, rel=0.01)


def test_nans_are_interpolated_and_flagged_per_sensor() -> None:
    t = np.arange(0, 10, 0.02)
    a = _arrays(t)
    a["force_l_n"][100:110] = np.nan
    a["odo_l_m"][300] = np.nan
    sig = signals_of(a)
    assert np.all(np.isfinite(sig.force_l_n))
    bad_force = ~sig.force_ok & sig.in_run
    assert 2 <= bad_force.sum() <= 3
    assert np.allclose(sig.force_l_n[sig.in_run], 50.0)  # the other samples of a cell count
    assert (~sig.odo_ok & sig.in_run).sum() == 1
    assert sig.imu_ok[sig.in_run].all()


def test_a_channel_missing_throughout_becomes_unusable() -> None:
    t = np.arange(0, 5, 0.02)
    a = _arrays(t)
    a["force_r_n"][:] = np.nan
    sig = signals_of(a)
    assert not sig.force_ok.any()
    assert sig.odo_ok[sig.in_run].all()


def test_clipped_load_and_impacts_are_flagged() -> None:
    t = np.arange(0, 5, 0.02)
    a = _arrays(t)
    a["force_l_n"][50] = 1500.0  # top of the load-cell range
    a["force_r_n"][:] = 0.0  # zero is a hand off the handle, not a clipped reading
    a["acc_mps2"][200] = [156.9, 156.9, -156.9]  # a collision saturating +/-16 g
    sig = signals_of(a)
    assert (~sig.force_ok & sig.in_run).sum() == 1
    assert (~sig.imu_ok & sig.in_run).sum() == 1


def test_overlapping_runs_after_a_clock_step_are_not_double_counted() -> None:
    t = np.concatenate([np.arange(0, 2, 0.02), np.arange(1.6, 3, 0.02)])
    sig = signals_of(_arrays(t, odo_m=0.001))
    # The 0.4 s overlapping the first run are dropped.
    assert sig.odo_l_m.sum() == pytest.approx(0.001 * (100 + 50), abs=1e-9)
    assert sig.sampled_s.tolist() == [[0.0, pytest.approx(3.0)]]


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        WalkerSignals.from_arrays(
            np.arange(3.0), np.zeros((3, 3)), np.zeros((3, 3)), np.zeros(2), np.zeros(3),
            np.zeros(3), np.zeros(3),
        )  # fmt: skip


def _walk_f32(seed: int) -> dict[str, np.ndarray]:
    """Simulated walking as the database stores it: float32 values, 50 Hz frames."""
    from firmware_sim.world import synthesize_bout
    from stayactive.tools.simulated_days import wire_arrays

    a = wire_arrays(synthesize_bout(0.6, 120.0, seed=seed).signals)
    return {k: v if k == "t_s" else v.astype(np.float32).astype(np.float64) for k, v in a.items()}


def _packed(a: dict[str, np.ndarray]) -> np.ndarray:
    columns = [a["acc_mps2"], a["gyro_radps"], a["odo_l_m"], a["odo_r_m"], a["force_l_n"],
               a["force_r_n"]]  # fmt: skip
    return np.ascontiguousarray(np.column_stack(columns).T, dtype=np.float32)


def _assert_identical(x: WalkerSignals, y: WalkerSignals) -> None:
    for name in x.__dataclass_fields__:
        u, v = getattr(x, name), getattr(y, name)
        if isinstance(u, np.ndarray):
            assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes(), name
        else:
            assert u == v, name


@pytest.mark.parametrize("trouble", ["none", "nans", "clock step", "negative zeros", "100 Hz"])
def test_packed_float32_samples_bin_to_exactly_what_the_channel_arrays_give(
    trouble: str,
) -> None:
    a = _walk_f32(3)
    n = len(a["t_s"])
    if trouble == "nans":
        a["force_l_n"][1000:1003] = np.nan
        a["acc_mps2"][2000, 1] = np.nan
    elif trouble == "clock step":  # overlapping runs: the general path
        a["t_s"] = np.concatenate([a["t_s"][: n // 2], a["t_s"][n // 2 :] - 3.0])
    elif trouble == "negative zeros":
        a["odo_l_m"][::3] = -0.0
        a["gyro_radps"][::2] = -0.0
    elif trouble == "100 Hz":  # ten samples a cell: numpy's pairwise summation in reduceat
        a["t_s"] = a["t_s"][0] + np.arange(n) / 100.0
    wanted = WalkerSignals.from_arrays(
        a["t_s"], a["acc_mps2"], a["gyro_radps"], a["odo_l_m"], a["odo_r_m"], a["force_l_n"],
        a["force_r_n"],
    )  # fmt: skip
    _assert_identical(WalkerSignals.from_packed(a["t_s"], _packed(a)), wanted)


def test_packed_samples_must_be_ten_rows() -> None:
    with pytest.raises(ValueError, match=r"shape \(10, n\)"):
        WalkerSignals.from_packed(np.arange(3.0), np.zeros((3, 10), np.float32))
    with pytest.raises(ValueError, match="same length"):
        WalkerSignals.from_packed(np.arange(3.0), np.zeros((10, 2), np.float32))
