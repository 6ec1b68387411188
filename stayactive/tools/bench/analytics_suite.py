"""`stayactive bench analytics`: the resident-day analytics, alone and end to end, with peers.

Three measurements in one run:

1. **Compute** (:mod:`stayactive.tools.bench.analytics`): simulated resident-days through
   :func:`~analytics.mobility.walker_day_metrics` only, against a per-sample Python loop.
2. **Peers** (:mod:`stayactive.tools.bench.gait_peers`): mobgap's and scikit-digital-health's gait
   pipelines on the same simulated days, beside ours on those days.
3. **End to end** (:mod:`stayactive.tools.bench.analytics_e2e`): resident-days stored by ingest,
   computed by the analytics runner (read, compute, write) in a process of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from analytics.mobility import DEFAULT_TZ, WalkerDayInput, local_day_window, walker_day_metrics
from stayactive.settings import Settings
from stayactive.tools.bench import analytics as benchmark
from stayactive.tools.bench import analytics_e2e, gait_peers

__all__ = ["AnalyticsBenchConfig", "run"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class AnalyticsBenchConfig:
    """What to run; see the module docstring.

    Attributes
    ----------
    compute : benchmark.BenchConfig
    end_to_end : analytics_e2e.EndToEndConfig or None
        None: no end-to-end phase (no database needed).
    peer_days : int
        Simulated days each installed peer runs on (0: none).
    """

    compute: benchmark.BenchConfig
    end_to_end: analytics_e2e.EndToEndConfig | None
    peer_days: int = 1


def run(settings: Settings, config: AnalyticsBenchConfig, progress: Progress) -> dict[str, Any]:
    """Run the measurements; return all figures (the JSON of ``--json``)."""
    figures = benchmark.run(config.compute, progress)
    if config.peer_days > 0:
        figures.update(_peers(config.compute, config.peer_days, progress))
    if config.end_to_end is not None:
        figures.update(analytics_e2e.run(settings, config.end_to_end, progress))
    return figures


_WARM_UP_SAMPLES = 30_000  # ten minutes at 50 Hz


def _head(inp: WalkerDayInput, n: int) -> WalkerDayInput:
    """The first ``n`` samples of a resident-day."""
    return WalkerDayInput(
        inp.device_id, inp.start_s, inp.end_s, inp.t_s[:n], inp.acc_mps2[:n],
        inp.gyro_radps[:n], inp.odo_l_m[:n], inp.odo_r_m[:n], inp.force_l_n[:n],
        inp.force_r_n[:n], inp.brake[:n], day=inp.day,
    )  # fmt: skip


def _peers(compute: benchmark.BenchConfig, n_days: int, progress: Progress) -> dict[str, Any]:
    """Ours and every installed peer on the first ``n_days`` simulated days."""
    from stayactive.tools.validation.analytics import wire_arrays

    tz = ZoneInfo(DEFAULT_TZ)
    versions = {name: gait_peers.peer_version(name) for name in gait_peers.PEERS}
    out: dict[str, Any] = {f"peer_{n}_version": v for n, v in versions.items()}
    installed = [n for n, v in versions.items() if v is not None]
    if not installed:
        progress("peers: none installed (pip install -e '.[peers]')")
        return out
    ours_s = 0.0
    totals = {n: [0.0, 0, 0] for n in installed}
    ours_counts = [0, 0]
    days = benchmark.simulated_days(benchmark.BenchConfig(
        days=n_days, walking_min=compute.walking_min, speed_mps=compute.speed_mps,
        seed=compute.seed,
    ))  # fmt: skip
    for k, (day, signals, _walked_s) in enumerate(days):
        lo, hi = local_day_window(day, tz)
        inp = WalkerDayInput(benchmark.BENCH_WALKER, lo, hi, day=day, **wire_arrays(signals))
        del signals
        started = time.perf_counter()
        ours = walker_day_metrics(inp, tz)
        ours_s += time.perf_counter() - started
        ours_counts[0] += ours.bouts_n or 0
        ours_counts[1] += ours.steps_n or 0
        bouts_s = [(b.start_s, b.end_s) for b in ours.bouts]
        for name in installed:
            progress(f"peers: {name} on simulated day {k + 1}/{n_days}")
            if k == 0:  # untimed, on a slice: numba compiles, models load
                head = _head(inp, _WARM_UP_SAMPLES)
                gait_peers.run_peer(name, head, [b for b in bouts_s if b[1] < head.t_s[-1]])
            result = gait_peers.run_peer(name, inp, bouts_s)
            totals[name][0] += result.seconds
            totals[name][1] += result.bouts_n
            totals[name][2] += result.steps_n
    ours_rate = n_days / ours_s
    out.update(peer_days=n_days, peer_ours_resident_days_per_s=ours_rate,
               peer_ours_bouts=ours_counts[0], peer_ours_steps=ours_counts[1])  # fmt: skip
    for name, (seconds, bouts, steps) in totals.items():
        rate = n_days / seconds
        out[f"peer_{name}_resident_days_per_s"] = rate
        out[f"peer_{name}_bouts"] = bouts
        out[f"peer_{name}_steps"] = steps
        out[f"ratio_vs_{name}"] = ours_rate / rate
    return out
