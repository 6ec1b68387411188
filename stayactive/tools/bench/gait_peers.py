"""Published gait pipelines, run on the same resident-days as ours (`stayactive bench analytics`).

Both are lower-back IMU pipelines, the closest open peers to a day of walker data; neither
knows the walker's handle loads or odometry, so they are compared on speed over the same
samples, with their bout and step counts printed beside ours as a sanity check, not as an
accuracy figure (``stayactive validate`` is the place for accuracy).

- **mobgap** (Mobilise-D): :class:`mobgap.pipeline.MobilisedPipelineHealthy`, gait sequence
  detection, initial contacts, laterality, cadence, stride length and walking speed per
  walking bout. Kirk et al. 2024, doi:10.1038/s41598-024-51766-5.
- **scikit-digital-health** (skdh): ``GaitLumbar``, gait events (CWT) and endpoints per
  bout, on the walking bouts our detector found: skdh's own gait classifier
  (``PredictGaitLumbarLgbm``, trained on lumbar sensors) finds no gait at all in a
  walker-mounted IMU (0 bouts on the benchmark's days), which would leave it nothing to do.
  Adamowicz et al. 2022, doi:10.2196/36762.

They are an optional extra (``pip install -e '.[peers]'``); without it the benchmark says
which is missing and goes on without them.
"""

from __future__ import annotations

import importlib.metadata
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.mobility import WalkerDayInput

__all__ = ["PEERS", "PeerDay", "peer_version", "run_peer"]

FloatArray = npt.NDArray[np.float64]
GRAVITY_MPS2 = 9.80665

#: Peer name → distribution name on PyPI.
PEERS = {"mobgap": "mobgap", "skdh": "scikit-digital-health"}


@dataclass(frozen=True)
class PeerDay:
    """One resident-day through a peer: how long it took and what it found."""

    seconds: float
    bouts_n: int
    steps_n: int


def peer_version(name: str) -> str | None:
    """The installed version of peer ``name``, or None when it is not installed."""
    try:
        return importlib.metadata.version(PEERS[name])
    except importlib.metadata.PackageNotFoundError:
        return None


class _Datapoint:
    """The part of a tpcp dataset row that mobgap's pipeline reads."""

    def __init__(self, data: Any, sampling_rate_hz: float) -> None:
        self.data_ss = data
        self.sampling_rate_hz = sampling_rate_hz
        # The pipeline's stride-length step needs a sensor height; that of a walker's IMU.
        self.participant_metadata = {"height_m": 1.65, "sensor_height_m": 0.85, "cohort": "HA"}
        self.recording_metadata = {"measurement_condition": "free_living"}
        self.group_label = ("bench",)


def _mobgap(inp: WalkerDayInput, rate_hz: float, _bouts_s: FloatArray) -> tuple[int, int]:
    import pandas as pd
    from mobgap.pipeline import MobilisedPipelineHealthy

    acc, gyro = inp.acc_mps2, np.rad2deg(inp.gyro_radps)
    # Mobilise-D's sensor frame: x up, y left, z forward; ours (walker): x forward, z up.
    data = pd.DataFrame(
        {"acc_x": acc[:, 2], "acc_y": acc[:, 1], "acc_z": acc[:, 0],
         "gyr_x": gyro[:, 2], "gyr_y": gyro[:, 1], "gyr_z": gyro[:, 0]}
    )  # fmt: skip
    result = MobilisedPipelineHealthy().run(_Datapoint(data, rate_hz))
    return len(result.per_wb_parameters_), len(result.raw_ic_list_)


def _skdh(inp: WalkerDayInput, rate_hz: float, bouts_s: FloatArray) -> tuple[int, int]:
    from skdh.gait import GaitLumbar

    bouts = np.searchsorted(inp.t_s, bouts_s).reshape(-1, 2)
    gait = GaitLumbar().predict(
        time=inp.t_s, accel=inp.acc_mps2 / GRAVITY_MPS2, gyro=inp.gyro_radps, fs=rate_hz,
        height=1.65, gait_bouts=bouts,
    )  # fmt: skip
    return len(np.unique(gait["Bout N"])), len(gait["IC Timestamp"])


_RUNNERS: dict[str, Callable[[WalkerDayInput, float, FloatArray], tuple[int, int]]] = {
    "mobgap": _mobgap,
    "skdh": _skdh,
}


def run_peer(
    name: str, inp: WalkerDayInput, bouts_s: npt.ArrayLike, *, rate_hz: float = 50.0
) -> PeerDay:
    """Run peer ``name`` on one resident-day's samples (given at ``rate_hz``); timed.

    ``bouts_s`` (k, 2): the walking bouts our detector found, start and end in epoch seconds
    (for a peer that is given the bouts rather than finding them).
    """
    bouts = np.asarray(bouts_s, dtype=np.float64).reshape(-1, 2)
    # Both packages warn about their own dependencies (e.g. a pickled scikit-learn model of
    # another version); that is theirs to fix and not a result of this benchmark.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        n_bouts, n_steps = _RUNNERS[name](inp, rate_hz, bouts)
        seconds = time.perf_counter() - started
    return PeerDay(seconds, n_bouts, n_steps)
