"""Turns, sit-to-stand transitions and handle load on hand-made signals."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.gait import (
    Bouts,
    SitToStandDetectorForce,
    TurnDetectorGyro,
    WalkerMotion,
    handle_load,
    walking_mask,
)
from tests.analytics.synthetic import G, random_rotation, signals_of


def _still(seconds: float, fs: float = 50.0, t0: float = 1_767_225_600.0) -> dict[str, np.ndarray]:
    n = int(seconds * fs)
    return {
        "t_s": t0 + np.arange(n) / fs,
        "acc_mps2": np.tile([0.0, 0.0, G], (n, 1)),
        "gyro_radps": np.zeros((n, 3)),
        "odo_l_m": np.zeros(n),
        "odo_r_m": np.zeros(n),
        "force_l_n": np.full(n, 30.0),
        "force_r_n": np.full(n, 30.0),
        "brake": np.ones(n),
    }


@pytest.mark.parametrize("angle_deg", [90.0, -180.0])
def test_turn_of_known_angle_in_any_orientation(angle_deg: float) -> None:
    a = _still(20.0)
    t = a["t_s"] - a["t_s"][0]
    dur = 2.5
    bell = np.where((t >= 8) & (t < 8 + dur), 1 - np.cos(2 * np.pi * (t - 8) / dur), 0.0)
    yaw = np.radians(angle_deg) / dur * bell
    rot = random_rotation(np.random.default_rng(1))
    a["gyro_radps"] = np.column_stack([0 * t, 0 * t, yaw]) @ rot + [0.01, -0.02, 0.015]
    a["acc_mps2"] = a["acc_mps2"] @ rot
    sig = signals_of(a)
    turns = TurnDetectorGyro().detect(sig, WalkerMotion.from_signals(sig)).turns_
    assert len(turns) == 1
    assert turns.angle_deg[0] == pytest.approx(angle_deg, abs=8.0)
    assert turns.start_s[0] - a["t_s"][0] == pytest.approx(8.3, abs=0.6)


def test_wiggle_is_not_a_turn() -> None:
    a = _still(20.0)
    t = a["t_s"] - a["t_s"][0]
    a["gyro_radps"][:, 2] = 0.05 * np.sin(2 * np.pi * 0.5 * t)
    sig = signals_of(a)
    assert len(TurnDetectorGyro().detect(sig, WalkerMotion.from_signals(sig)).turns_) == 0


def _push(
    a: dict[str, np.ndarray], at_s: float, peak_n: float, before: float, after: float
) -> None:
    t = a["t_s"] - a["t_s"][0]
    dur = 2.5
    tau = np.clip((t - at_s) / dur, 0.0, 1.0)
    level = before + (after - before) * tau
    bump = np.where((t >= at_s) & (t < at_s + dur), peak_n * np.sin(np.pi * tau) ** 2, 0.0)
    sel = t >= at_s
    total = np.where(sel, level + bump, a["force_l_n"] + a["force_r_n"])
    a["force_l_n"] = np.where(sel, total / 2, a["force_l_n"])
    a["force_r_n"] = np.where(sel, total / 2, a["force_r_n"])


def test_sit_to_stand_and_stand_to_sit() -> None:
    a = _still(40.0)
    a["force_l_n"][:] = a["force_r_n"][:] = 7.0  # hands resting while seated
    _push(a, 5.0, 150.0, 14.0, 80.0)  # rise: rest -> push -> standing lean
    _push(a, 25.0, 90.0, 80.0, 14.0)  # sit down: lean -> push -> rest
    sig = signals_of(a)
    tr = SitToStandDetectorForce().detect(sig, WalkerMotion.from_signals(sig)).transitions_
    assert tr.rising.tolist() == [True, False]
    assert tr.n_sit_to_stand == 1
    assert tr.peak_s[0] - a["t_s"][0] == pytest.approx(6.25, abs=0.5)
    assert 1.0 <= tr.duration_s[0] <= 2.5


def test_small_or_moving_pushes_are_not_transitions() -> None:
    a = _still(40.0)
    _push(a, 5.0, 25.0, 60.0, 60.0)  # a small lean, under 40 N
    b = _still(40.0)
    _push(b, 5.0, 150.0, 14.0, 80.0)
    b["odo_l_m"][:] = b["odo_r_m"][:] = 0.01  # the walker rolls at 0.5 m/s meanwhile
    for arrays in (a, b):
        sig = signals_of(arrays)
        tr = SitToStandDetectorForce().detect(sig, WalkerMotion.from_signals(sig)).transitions_
        assert len(tr) == 0


def test_handle_load_known_answer_and_clipping() -> None:
    a = _still(20.0)
    a["force_l_n"][:] = 60.0
    a["force_r_n"][:] = 40.0
    a["force_l_n"][500:550] = 1500.0  # one second at the top of the range
    sig = signals_of(a)
    mo = WalkerMotion.from_signals(sig)
    t0 = a["t_s"][0]
    bouts = Bouts(
        start_s=np.array([t0 + 2.0]),
        end_s=np.array([t0 + 18.0]),
        n_steps=np.array([20]),
        distance_m=np.array([8.0]),
        first_step=np.array([0]),
    )
    load = handle_load(sig, mo, walking_mask(sig, bouts))
    assert load.mean_n == pytest.approx(100.0)
    assert load.asymmetry == pytest.approx(0.2)
    assert load.clipped_fraction == pytest.approx(1.0 / 16.0, abs=0.01)
    assert load.walking_s == pytest.approx(16.0, abs=0.2)
    none = handle_load(sig, mo, np.zeros(len(sig), dtype=bool))
    assert none.mean_n is None and none.walking_s == 0.0
