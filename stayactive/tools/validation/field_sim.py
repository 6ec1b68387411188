"""Field-kit recordings made by the simulator, with the simulator's truth as the hand counts.

Uses ``firmware_sim`` (through :mod:`stayactive.tools.simulated_days`): the only module of the
field kit that does. Each simulated resident-day
gives one walker recording, cut to its first walking bouts longer than ``min_bout_s`` with a
minute of context, and one counts row per such bout: the true steps and distance of the bout,
as a physiotherapist walking alongside would count and measure them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stayactive.tools.simulated_days import simulate_days
from stayactive.tools.validation.recordings import save_recording

__all__ = ["write_simulated_field_set"]

_CONTEXT_S = 60.0


def write_simulated_field_set(
    folder: Path,
    *,
    seed: int,
    speeds_mps: Sequence[float] = (0.3, 0.6, 0.9),
    bouts_per_day: int = 3,
    min_bout_s: float = 10.0,
) -> Path:
    """Write recordings and ``counts.csv`` into ``folder``; return the counts file."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    for i, sd in enumerate(simulate_days(seed, speeds_mps=speeds_mps)):
        t = sd.truth
        long = np.flatnonzero((t.bout_end_s - t.bout_start_s) > min_bout_s)[:bouts_per_day]
        if len(long) == 0:
            continue
        w = sd.walker
        lo = float(t.bout_start_s[long[0]]) - _CONTEXT_S
        hi = float(t.bout_end_s[long[-1]]) + _CONTEXT_S
        cut = (w.t_s >= lo) & (w.t_s < hi)
        name = f"sim-{seed}-{i:02d}.npz"
        t_s = w.t_s[cut]
        save_recording(
            folder / name,
            {
                "acc_m_s2": w.acc_mps2[cut], "fs_hz": 50.0, "t_s": t_s,
                "gyro_rad_s": w.gyro_radps[cut], "odo_l_m": w.odo_l_m[cut],
                "odo_r_m": w.odo_r_m[cut], "force_l_n": w.force_l_n[cut],
                "force_r_n": w.force_r_n[cut], "brake": np.asarray(w.brake)[cut].astype(bool),
                "device_id": w.device_id, "population": "simulated resident",
                "subject": sd.pseudonym,
            },
        )  # fmt: skip
        for k in long.tolist():
            rows.append(
                {
                    "trial": f"{name[:-4]}-bout{k}",
                    "recording": name,
                    "start_s": round(float(t.bout_start_s[k]) - 1.0 - float(t_s[0]), 3),
                    "end_s": round(float(t.bout_end_s[k]) + 1.0 - float(t_s[0]), 3),
                    "steps": int(t.bout_steps[k]),
                    "distance_m": round(float(t.bout_distance_m[k]), 3),
                }
            )
    counts = folder / "counts.csv"
    with counts.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["trial"])
        writer.writeheader()
        writer.writerows(rows)
    return counts
