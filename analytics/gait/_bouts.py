"""Walking bouts from the detected steps and the odometry, and their gait parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from analytics.gait._arrays import EMPTY_INT, FloatArray, IntArray
from analytics.gait._motion import WalkerMotion
from analytics.gait._signals import WalkerSignals

__all__ = ["BoutDetectorOdometry", "Bouts", "bout_intervals", "stride_time_cv"]


@dataclass(frozen=True)
class Bouts:
    """Walking bouts, one entry per bout (columns of equal length).

    A bout runs from its first to its last initial contact, as in the simulator's truth and
    in Mobilise-D's walking-bout definition.

    Attributes
    ----------
    start_s, end_s : ndarray
        First and last initial contact, epoch seconds.
    n_steps : ndarray of int64
    distance_m : ndarray
        Travel of the walker between the first and last contact (odometry).
    first_step : ndarray of int64
        Index of the bout's first step in the step list given to the detector.
    """

    start_s: FloatArray
    end_s: FloatArray
    n_steps: IntArray
    distance_m: FloatArray
    first_step: IntArray

    def __len__(self) -> int:
        return len(self.start_s)

    @property
    def duration_s(self) -> FloatArray:
        """Last minus first contact."""
        out: FloatArray = self.end_s - self.start_s
        return out

    @property
    def speed_mps(self) -> FloatArray:
        """Mean gait speed: distance over duration."""
        out: FloatArray = self.distance_m / np.maximum(self.duration_s, 1e-9)
        return out

    @property
    def cadence_spm(self) -> FloatArray:
        """Steps per minute: ``60 (n - 1) / duration`` (intervals, not steps, per time)."""
        out: FloatArray = 60.0 * (self.n_steps - 1) / np.maximum(self.duration_s, 1e-9)
        return out

    @classmethod
    def empty(cls) -> Bouts:
        """No bouts."""
        z = np.zeros(0)
        return cls(z, z, EMPTY_INT, z, EMPTY_INT)

    def select(self, mask: npt.NDArray[np.bool_]) -> Bouts:
        """The bouts where ``mask`` is True."""
        return Bouts(
            self.start_s[mask],
            self.end_s[mask],
            self.n_steps[mask],
            self.distance_m[mask],
            self.first_step[mask],
        )


class BoutDetectorOdometry:
    """Group steps into walking bouts and measure them with the walker's odometry.

    Processing steps
    ----------------
    1. Consecutive steps belong to one bout while they are at most ``max_break_s`` apart and
       in the same run of data (a data gap ends a bout: what happened in it is unknown).
    2. A bout needs at least ``min_steps`` steps.
    3. Distance: the walker's forward travel (mean of both wheels) between the first and the
       last contact, interpolated inside the 0.1-s grid cells.
    4. Plausibility, which rejects staff pushing an empty walker: mean step length
       ``min_step_m`` to ``max_step_m``; and where the handle loads could be read, at least
       ``min_side_share`` of the steps must show the left/right load swing of a person
       walking in the frame.

    Parameters
    ----------
    max_break_s : float
        Longest interval between two steps of one bout. Mobilise-D ends a bout at a 3-s
        break (Kluge et al. 2021); at 40 steps/min a hesitation step can take 3 s, so we
        allow 3.5 s. The simulated pauses between bouts are at least 4.6 s from contact
        to contact.
    min_steps : int
        Fewest steps of a bout (3: two step intervals).
    min_step_m, max_step_m : float
        Plausible mean step length.
    min_side_share : float
        Share of steps with a recognised load swing.

    Attributes
    ----------
    bouts_ : Bouts

    References
    ----------
    .. [1] Kluge F, Del Din S, Cereatti A, et al. Consensus based framework for digital
       mobility monitoring. PLoS One 2021;16(8):e0256541. doi:10.1371/journal.pone.0256541
    """

    def __init__(
        self,
        *,
        max_break_s: float = 3.5,
        min_steps: int = 3,
        min_step_m: float = 0.04,
        max_step_m: float = 1.2,
        min_side_share: float = 0.5,
    ) -> None:
        self.max_break_s = max_break_s
        self.min_steps = min_steps
        self.min_step_m = min_step_m
        self.max_step_m = max_step_m
        self.min_side_share = min_side_share
        self.bouts_ = Bouts.empty()

    def detect(
        self,
        ic_s: FloatArray,
        side: npt.NDArray[np.int8],
        signals: WalkerSignals,
        motion: WalkerMotion,
    ) -> Self:
        """Build bouts from step times ``ic_s`` (increasing) and their load-swing ``side``."""
        self.bouts_ = Bouts.empty()
        if len(ic_s) < self.min_steps or len(signals) == 0:
            return self
        fs = signals.fs_hz
        # 1.
        cell = np.clip(np.searchsorted(signals.t_s, ic_s), 0, len(signals) - 1)
        run = signals.run_id[cell]
        cut = (np.diff(ic_s) > self.max_break_s) | (run[1:] != run[:-1])
        starts = np.concatenate(([0], np.flatnonzero(cut) + 1)).astype(np.int64)
        stops = np.concatenate((np.flatnonzero(cut) + 1, [len(ic_s)])).astype(np.int64)
        # 2.
        keep = stops - starts >= self.min_steps
        starts, stops = starts[keep], stops[keep]
        if len(starts) == 0:
            return self
        # 3. Travel is known at cell edges (end of each cell).
        edges = signals.t_s + 0.5 / fs
        travel = np.interp(ic_s, edges, motion.travel_m)
        first, last = starts, stops - 1
        dist = travel[last] - travel[first]
        n = stops - starts
        # 4.
        step_len = dist / (n - 1)
        ok = (step_len >= self.min_step_m) & (step_len <= self.max_step_m)
        c_side = np.concatenate(([0], np.cumsum(side != 0)))
        c_held = np.concatenate(([0], np.cumsum(motion.held[cell])))
        swung = (c_side[stops] - c_side[starts]) / n
        loads_read = (c_held[stops] - c_held[starts]) / n
        ok &= (swung >= self.min_side_share) | (loads_read < 0.5)
        self.bouts_ = Bouts(
            start_s=ic_s[first][ok],
            end_s=ic_s[last][ok],
            n_steps=n[ok],
            distance_m=dist[ok],
            first_step=first[ok],
        )
        return self


def stride_time_cv(ic_s: FloatArray, bouts: Bouts, *, min_strides: int = 5) -> FloatArray:
    """Stride-time coefficient of variation of each bout (NaN with fewer strides).

    Stride ``k`` is ``ic[k + 2] - ic[k]`` (same foot); CV = sample SD / mean.
    """
    stride, which = bout_intervals(ic_s, bouts, lag=2)
    n = np.bincount(which, minlength=len(bouts)).astype(np.float64)
    s1 = np.bincount(which, weights=stride, minlength=len(bouts))
    mean = s1 / np.maximum(n, 1.0)
    dev = stride - mean[which]
    ss = np.bincount(which, weights=dev * dev, minlength=len(bouts))
    sd = np.sqrt(ss / np.maximum(n - 1.0, 1.0))
    out: FloatArray = np.where(n >= min_strides, sd / np.where(mean > 0, mean, 1.0), np.nan)
    return out


def bout_intervals(ic_s: FloatArray, bouts: Bouts, *, lag: int) -> tuple[FloatArray, IntArray]:
    """Intervals ``ic[k + lag] - ic[k]`` inside every bout, and the bout of each interval.

    ``lag=1`` gives step times, ``lag=2`` stride times.
    """
    per = np.maximum(bouts.n_steps - lag, 0)
    which = np.repeat(np.arange(len(bouts)), per)
    k = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    first = np.repeat(bouts.first_step, per) + k
    out: FloatArray = ic_s[first + lag] - ic_s[first]
    return out, which.astype(np.int64)
