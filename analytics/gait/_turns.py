"""Turns of the walker from the gyroscope's rate of turn about the vertical."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np

from analytics.gait._arrays import FloatArray, close_gaps, moving_mean, runs_of
from analytics.gait._motion import WalkerMotion
from analytics.gait._signals import WalkerSignals

__all__ = ["TurnDetectorGyro", "Turns"]


@dataclass(frozen=True)
class Turns:
    """Detected turns (columns of equal length).

    Attributes
    ----------
    start_s, end_s : ndarray
    angle_deg : ndarray
        Heading change, positive to the left.
    peak_rate_dps : ndarray
        Largest rate of turn (absolute), degrees per second.
    """

    start_s: FloatArray
    end_s: FloatArray
    angle_deg: FloatArray
    peak_rate_dps: FloatArray

    def __len__(self) -> int:
        return len(self.start_s)

    @classmethod
    def empty(cls) -> Turns:
        """No turns."""
        z = np.zeros(0)
        return cls(z, z, z, z)


class TurnDetectorGyro:
    """Detect turns from the yaw rate (gyro projected on gravity), any sensor orientation.

    Processing steps
    ----------------
    1. Yaw rate from :class:`WalkerMotion` (bias removed), smoothed over ``smooth_s``.
    2. Candidate turns: stretches turning one way faster than ``min_rate_dps`` while the
       walker is held or rolling; each is widened to where the rate drops below
       ``edge_rate_dps`` (the turn's start and end), and stretches one way closer than
       ``max_gap_s`` are joined.
    3. Heading change: the integral of the rate over the turn; turns of at least
       ``min_angle_deg`` lasting ``duration_s`` are kept.

    Parameters
    ----------
    smooth_s : float
        Smoothing window; removes the steering wiggle of each stride.
    min_rate_dps, edge_rate_dps : float
        Peak rate a turn must reach (15 deg/s) and the rate at its ends (5 deg/s).
    min_angle_deg : float
        Smallest turn reported (45 deg).
    duration_s : tuple of float
        Allowed turn duration (0.5-10 s).
    max_gap_s : float

    Attributes
    ----------
    turns_ : Turns

    Notes
    -----
    The thresholds are those of El-Gohary et al. (2014) as implemented in Mobilise-D's mobgap
    (peak 15 deg/s, ends 5 deg/s, at least 45 deg, 0.5-10 s); on the walker the rate is the
    frame's, which turns with its user.

    References
    ----------
    .. [1] El-Gohary M, Pearson S, McNames J, et al. Continuous monitoring of turning in
       patients with movement disability. Sensors 2014;14(1):356-369. doi:10.3390/s140100356
    .. [2] Pham MH, Elshehabi M, Haertner L, et al. Algorithm for turning detection and
       analysis validated under home-like conditions in patients with Parkinson's disease
       and older adults using a 6 degree-of-freedom inertial measurement unit at the lower
       back. Front Neurol 2017;8:135. doi:10.3389/fneur.2017.00135
    """

    def __init__(
        self,
        *,
        smooth_s: float = 0.5,
        min_rate_dps: float = 15.0,
        edge_rate_dps: float = 5.0,
        min_angle_deg: float = 45.0,
        duration_s: tuple[float, float] = (0.5, 10.0),
        max_gap_s: float = 0.2,
    ) -> None:
        self.smooth_s = smooth_s
        self.min_rate_dps = min_rate_dps
        self.edge_rate_dps = edge_rate_dps
        self.min_angle_deg = min_angle_deg
        self.duration_s = duration_s
        self.max_gap_s = max_gap_s
        self.turns_ = Turns.empty()

    def detect(self, signals: WalkerSignals, motion: WalkerMotion) -> Self:
        """Detect turns in walker signals."""
        self.turns_ = Turns.empty()
        if len(signals) < 3:
            return self
        fs = signals.fs_hz
        # 1.
        rate = np.degrees(moving_mean(motion.yaw_rate_radps, max(int(self.smooth_s * fs), 1)))
        in_use = (motion.held | motion.moving) & signals.imu_ok
        c = np.concatenate(([0.0], np.cumsum(rate) / fs))
        t = signals.t_s
        found: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray]] = []
        for sign in (1.0, -1.0):
            # 2.
            wide = close_gaps(in_use & (sign * rate > self.edge_rate_dps), int(self.max_gap_s * fs))
            a, b = runs_of(wide)
            if len(a) == 0:
                continue
            # Largest rate inside each [a, b): reduce over interleaved bounds, keep the odd ones.
            padded = np.concatenate((sign * rate, [-np.inf]))
            peak = np.maximum.reduceat(padded, np.ravel(np.column_stack([a, b])))[::2]
            # 3.
            angle = c[b] - c[a]
            dur = (b - a) / fs
            keep = (
                (peak > self.min_rate_dps)
                & (sign * angle >= self.min_angle_deg)
                & (dur >= self.duration_s[0])
                & (dur <= self.duration_s[1])
            )
            found.append((t[a[keep]], t[b[keep] - 1], angle[keep], peak[keep]))
        if found:
            cols = [np.concatenate([f[j] for f in found]) for j in range(4)]
            order = np.argsort(cols[0], kind="stable")
            self.turns_ = Turns(*(col[order] for col in cols))
        return self
