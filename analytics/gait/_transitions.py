"""Sit-to-stand transitions with the walker, from the handle load and the frame's motion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
from scipy import signal as sps

from analytics.gait._arrays import FloatArray, moving_mean
from analytics.gait._motion import WalkerMotion
from analytics.gait._signals import WalkerSignals

__all__ = ["SitToStandDetectorForce", "Transitions"]


@dataclass(frozen=True)
class Transitions:
    """Detected sit-to-stand (``rising``) and stand-to-sit transitions, in time order.

    Attributes
    ----------
    peak_s : ndarray
        Time of the handle-load peak.
    rising : ndarray of bool
        True for sit-to-stand, False for stand-to-sit.
    push_n : ndarray
        Peak load above the higher of the levels before and after.
    duration_s : ndarray
        Width of the load peak at half its height above the lower level.
    """

    peak_s: FloatArray
    rising: np.ndarray[tuple[int], np.dtype[np.bool_]]
    push_n: FloatArray
    duration_s: FloatArray

    def __len__(self) -> int:
        return len(self.peak_s)

    @classmethod
    def empty(cls) -> Transitions:
        """No transitions."""
        z = np.zeros(0)
        return cls(z, np.zeros(0, dtype=bool), z, z)

    @property
    def n_sit_to_stand(self) -> int:
        """Number of sit-to-stand transitions."""
        return int(self.rising.sum())


class SitToStandDetectorForce:
    """Detect sit-to-stand and stand-to-sit transitions of a person using the walker.

    Rising from a chair with a walker, the person pushes down on both handles: a load peak
    of a few seconds, well above the leaning load of standing, while the walker stands
    still. The load before the peak is that of hands resting on the handles (seated), after
    it that of leaning while standing; sitting down is the mirror image.

    Processing steps
    ----------------
    1. Total handle load smoothed over ``smooth_s``.
    2. Peaks at least ``min_push_n`` above both sides (prominence), between ``min_s`` and
       ``max_s`` wide at half prominence.
    3. The walker stands still around the peak: no rolling within ``still_s`` of it, and
       the frame's acceleration stays within ``max_jolt_mps2`` of gravity (the frame is
       pushed down, not moved).
    4. Direction: the lower load level before the peak than after it is a sit-to-stand
       (levels: means over ``level_s`` outside the peak's half-height width).

    Parameters
    ----------
    smooth_s, min_push_n, min_s, max_s, still_s, max_jolt_mps2, level_s : float

    Attributes
    ----------
    transitions_ : Transitions

    Notes
    -----
    The push-up load is assumed at 0.18-0.30 of body weight in the simulator (an assumption,
    see ``docs/simulator.md``); ``min_push_n`` of 40 N is half of the smallest such push of a
    40-kg resident. Rising without using the handles is not seen.
    """

    def __init__(
        self,
        *,
        smooth_s: float = 0.5,
        min_push_n: float = 40.0,
        min_s: float = 0.5,
        max_s: float = 8.0,
        still_s: float = 0.5,
        max_jolt_mps2: float = 3.0,
        level_s: float = 1.5,
    ) -> None:
        self.smooth_s = smooth_s
        self.min_push_n = min_push_n
        self.min_s = min_s
        self.max_s = max_s
        self.still_s = still_s
        self.max_jolt_mps2 = max_jolt_mps2
        self.level_s = level_s
        self.transitions_ = Transitions.empty()

    def detect(self, signals: WalkerSignals, motion: WalkerMotion) -> Self:
        """Detect transitions in walker signals."""
        self.transitions_ = Transitions.empty()
        n = len(signals)
        if n < 3:
            return self
        fs = signals.fs_hz
        # 1.
        load = np.where(signals.force_ok, motion.total_force_n, 0.0)
        load = moving_mean(load, max(int(self.smooth_s * fs), 1))
        # 2.
        pk, props = sps.find_peaks(
            load,
            prominence=self.min_push_n,
            width=(self.min_s * fs, self.max_s * fs),
            rel_height=0.5,
            wlen=int(4.0 * self.max_s * fs),
        )
        if len(pk) == 0:
            return self
        left = np.floor(props["left_ips"]).astype(np.int64)
        right = np.ceil(props["right_ips"]).astype(np.int64)
        # 3.
        w = max(int(self.still_s * fs), 1)
        rolling = np.concatenate(([0], np.cumsum(motion.moving.astype(np.int64))))
        lo = np.clip(left - w, 0, n)
        hi = np.clip(right + w + 1, 0, n)
        still = (rolling[hi] - rolling[lo]) == 0
        acc_norm = np.sqrt(np.einsum("ij,ij->i", signals.acc_mps2, signals.acc_mps2))
        ok_cells = np.flatnonzero(signals.imu_ok)
        gravity = float(np.median(acc_norm[ok_cells[::5]])) if len(ok_cells) else 9.81
        jolt = np.abs(acc_norm - gravity) > self.max_jolt_mps2
        jc = np.concatenate(([0], np.cumsum(jolt)))
        calm = (jc[hi] - jc[lo]) == 0
        same_run = (
            signals.run_id[np.clip(lo, 0, n - 1)] == signals.run_id[np.clip(hi - 1, 0, n - 1)]
        )
        ok = still & calm & same_run & (signals.run_id[pk] >= 0)
        # 4.
        k = max(int(self.level_s * fs), 1)
        c = np.concatenate(([0.0], np.cumsum(load)))
        b0 = np.clip(left - k, 0, n)
        before = (c[left] - c[b0]) / np.maximum(left - b0, 1)
        a1 = np.clip(right + 1 + k, 0, n)
        after = (c[a1] - c[np.clip(right + 1, 0, n)]) / np.maximum(a1 - np.clip(right + 1, 0, n), 1)
        rising = after > before
        push = load[pk] - np.maximum(before, after)
        self.transitions_ = Transitions(
            peak_s=signals.t_s[pk][ok],
            rising=rising[ok],
            push_n=push[ok],
            duration_s=props["widths"][ok] / fs,
        )
        return self
