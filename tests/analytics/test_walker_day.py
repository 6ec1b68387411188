"""Resident-day walker metrics: no data, attribution to the day, coverage, DST, frames."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from analytics.mobility import (
    METRIC_VERSION,
    WalkerDayInput,
    WalkerFrame,
    local_day_window,
    walker_day_metrics,
)
from tests.analytics.synthetic import step_times, walker_walk

DAY = date(2026, 3, 24)
LO, HI = local_day_window(DAY)


def _input(arrays: dict[str, np.ndarray], **kw: object) -> WalkerDayInput:
    return WalkerDayInput(
        device_id="walker-t",
        start_s=kw.pop("start_s", LO),  # type: ignore[arg-type]
        end_s=kw.pop("end_s", HI),  # type: ignore[arg-type]
        t_s=arrays["t_s"],
        acc_mps2=arrays["acc_mps2"],
        gyro_radps=arrays["gyro_radps"],
        odo_l_m=arrays["odo_l_m"],
        odo_r_m=arrays["odo_r_m"],
        force_l_n=arrays["force_l_n"],
        force_r_n=arrays["force_r_n"],
        brake=arrays["brake"],
        **kw,  # type: ignore[arg-type]
    )


def _walk(t0_s: float, n_steps: int = 40, cadence: float = 80.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    ic = step_times(cadence, n_steps, rng, start_s=4.0)
    return walker_walk(ic, 0.5, rng=rng, t0_s=t0_s)


def test_no_data_is_not_zero_steps() -> None:
    m = walker_day_metrics(WalkerDayInput.empty("walker-t", LO, HI))
    assert not m.has_data
    assert m.coverage == 0.0
    assert m.steps_n is None and m.distance_m is None and m.gait_speed_median_mps is None
    assert m.metric_version == METRIC_VERSION
    assert m.day == DAY


def test_monitored_day_without_use_is_zero_steps() -> None:
    m = walker_day_metrics(
        WalkerDayInput.empty("walker-t", LO, HI, monitored_s=np.array([[LO, HI]]))
    )
    assert m.has_data and m.coverage == pytest.approx(1.0)
    assert m.steps_n == 0 and m.bouts_n == 0 and m.walking_min == 0.0
    assert m.gait_speed_median_mps is None and m.cadence_spm is None


def test_a_walk_is_counted_with_its_figures() -> None:
    m = walker_day_metrics(_input(_walk(LO + 36_000.0)))
    assert m.has_data
    assert m.steps_n is not None and abs(m.steps_n - 40) <= 1
    assert m.bouts_n == 1 and m.bouts_10s_n == 1 and m.bouts_30s_n == 0
    assert m.gait_speed_median_mps == pytest.approx(0.5, abs=0.03)
    assert m.cadence_spm == pytest.approx(80.0, rel=0.05)
    assert m.distance_m == pytest.approx(0.5 * 39 * 0.75, rel=0.05)
    assert m.handle_load_n is not None and m.handle_load_n > 100.0
    assert m.analysed_fraction == pytest.approx(1.0)
    assert len(m.bouts) == 1
    # Coverage without status: only the sampled time counts as monitored.
    assert m.coverage == pytest.approx(m.in_use_s / (HI - LO))


def test_bout_across_midnight_counts_on_the_day_it_starts() -> None:
    a = _walk(HI - 20.0)  # starts 16 s before midnight, walks about 30 s
    today = walker_day_metrics(_input(a))
    nxt_lo, nxt_hi = local_day_window(date(2026, 3, 25))
    tomorrow = walker_day_metrics(_input(a, start_s=nxt_lo, end_s=nxt_hi))
    assert today.bouts_n == 1 and today.steps_n is not None and today.steps_n >= 39
    assert tomorrow.bouts_n == 0 and tomorrow.steps_n == 0
    assert tomorrow.has_data  # it has samples in its window


def test_dst_day_is_23_hours() -> None:
    lo, hi = local_day_window(date(2026, 3, 29))
    assert hi - lo == 23 * 3600
    m = walker_day_metrics(
        WalkerDayInput.empty("walker-t", lo, hi, monitored_s=np.array([[lo - 3600, hi + 3600]]))
    )
    assert m.coverage == pytest.approx(1.0)
    assert m.day == date(2026, 3, 29)


def test_partial_monitoring() -> None:
    m = walker_day_metrics(
        WalkerDayInput.empty("walker-t", LO, HI, monitored_s=np.array([[LO, LO + 6 * 3600]]))
    )
    assert m.coverage == pytest.approx(0.25)


def test_from_frames_builds_sample_times_with_rate_changes() -> None:
    def frame(t0: float, rate: float, n: int) -> WalkerFrame:
        z = [0.0] * n
        return WalkerFrame(t0, rate, z, z, [9.8] * n, z, z, z, z, z, [5.0] * n, [5.0] * n, [1] * n)

    inp = WalkerDayInput.from_frames(
        "walker-t", [frame(LO + 10, 50.0, 50), frame(LO + 11, 25.0, 25)], LO, HI
    )
    assert len(inp.t_s) == 75
    assert inp.t_s[49] == pytest.approx(LO + 10.98)
    assert inp.t_s[50] == pytest.approx(LO + 11.0)
    assert inp.t_s[-1] == pytest.approx(LO + 11.96)
    m = walker_day_metrics(inp)
    assert m.has_data and m.steps_n == 0
    assert m.in_use_s == pytest.approx(2.0, abs=0.05)
    empty = WalkerDayInput.from_frames("walker-t", [], LO, HI)
    assert len(empty.t_s) == 0


def test_input_is_checked() -> None:
    a = _walk(LO + 100.0)
    a["force_l_n"] = a["force_l_n"][:-1]
    with pytest.raises(ValueError, match="force_l_n"):
        _input(a)
    with pytest.raises(ValueError, match="window"):
        WalkerDayInput.empty("walker-t", HI, LO)


def test_unreadable_odometry_is_not_zero_steps() -> None:
    a = _walk(LO + 36_000.0)
    a["odo_l_m"] = np.full_like(a["odo_l_m"], np.nan)
    m = walker_day_metrics(_input(a))
    assert m.has_data and m.in_use_s > 0
    assert m.steps_n is None and m.distance_m is None
    assert m.analysed_fraction == 0.0
