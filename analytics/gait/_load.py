"""Handle load while walking: how much the user leans on the walker, and to which side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.gait._arrays import BoolArray
from analytics.gait._bouts import Bouts
from analytics.gait._motion import WalkerMotion
from analytics.gait._signals import WalkerSignals

__all__ = ["HandleLoad", "handle_load"]


@dataclass(frozen=True)
class HandleLoad:
    """Handle load during walking bouts (None when nothing could be measured).

    Attributes
    ----------
    mean_n : float or None
        Mean total load (left + right).
    p95_n : float or None
        95th percentile of the total load.
    asymmetry : float or None
        Mean of ``(L - R) / (L + R)``: positive when the left handle carries more.
    clipped_fraction : float or None
        Share of walking time with a load reading at the end of the load-cell range.
    walking_s : float
        Walking time the figures are computed over.
    """

    mean_n: float | None
    p95_n: float | None
    asymmetry: float | None
    clipped_fraction: float | None
    walking_s: float


def walking_mask(signals: WalkerSignals, bouts: Bouts) -> BoolArray:
    """Grid cells between the first and last contact of a bout."""
    mask = np.zeros(len(signals), dtype=bool)
    if len(bouts) == 0 or len(signals) == 0:
        return mask
    a = np.searchsorted(signals.t_s, bouts.start_s)
    b = np.searchsorted(signals.t_s, bouts.end_s, side="right")
    marks = np.zeros(len(signals) + 1, dtype=np.int64)
    np.add.at(marks, a, 1)
    np.add.at(marks, b, -1)
    out: BoolArray = np.cumsum(marks[:-1]) > 0
    return out


def handle_load(signals: WalkerSignals, motion: WalkerMotion, walking: BoolArray) -> HandleLoad:
    """Handle load over the ``walking`` cells whose load readings are valid and unclipped.

    Clipped readings are left out of the mean and percentiles (their true value is unknown)
    and reported as ``clipped_fraction``.
    """
    fs = signals.fs_hz
    n_walk = int(walking.sum())
    if n_walk == 0:
        return HandleLoad(None, None, None, None, 0.0)
    use = walking & signals.force_ok
    clipped = float((walking & ~signals.force_ok).sum()) / n_walk
    if not use.any():
        return HandleLoad(None, None, None, clipped, n_walk / fs)
    total = motion.total_force_n[use]
    diff = (signals.force_l_n - signals.force_r_n)[use]
    asym = diff / np.maximum(total, 1e-9)
    return HandleLoad(
        mean_n=float(np.mean(total)),
        p95_n=float(np.percentile(total, 95)),
        asymmetry=float(np.mean(asym[total > 5.0])) if (total > 5.0).any() else None,
        clipped_fraction=clipped,
        walking_s=n_walk / fs,
    )
