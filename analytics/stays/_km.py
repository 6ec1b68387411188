"""Kaplan-Meier restricted mean with case weights, vectorised over bootstrap replicates.

A bootstrap resample of a sample is the sample itself with integer case weights (how often each
stay was drawn). The product-limit estimator with case weights ``w`` is

    S(t) = prod over distinct times u_j <= t of (1 - D_j / R_j),
    D_j = sum of w over discharges at u_j,   R_j = sum of w over stays with LOS >= u_j,

so one sort of the original sample serves every replicate: the weights change, the order does
not. The restricted mean to a horizon tau is the exact area under that step function.
A factor with ``R_j = 0`` (nobody left at risk in this replicate) is taken as 1, which would hold
the curve flat after the replicate's last stay. The effect estimate never relies on that: it
chooses a horizon that every group reaches with :data:`MIN_AT_RISK` stays under observation
(:func:`follow_up_reach`), so a replicate ends open before the horizon only with a probability
of about exp(-10); :func:`ends_open` counts those replicates so the report can say how many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from analytics.stays._common import BoolArray, FloatArray, IndexArray

#: Stays that must still be under observation after a censored stay for the curve to be taken
#: as known beyond it (see :func:`follow_up_reach`).
MIN_AT_RISK: Final = 10


@dataclass(frozen=True, eq=False)
class KmLayout:
    """A sample sorted by length of stay, with everything that does not depend on weights.

    Attributes
    ----------
    order
        Permutation that sorts the sample by LOS.
    starts
        Position (in sorted order) of the first stay of each distinct LOS.
    event_sorted
        1.0 for a discharge, 0.0 for a censored stay, in sorted order.
    n_steps
        Number of distinct LOS values below the horizon.
    first_time_days
        The smallest distinct LOS if it is below the horizon, else the horizon: the area under
        S = 1 before the first step.
    widths_days
        Length of the interval after each of the ``n_steps`` distinct times, cut at the horizon.
    max_time_days
        Largest LOS in the sample.
    at_or_beyond
        1.0 for the stays (original order) whose LOS reaches the horizon.
    """

    order: IndexArray
    starts: IndexArray
    event_sorted: FloatArray
    n_steps: int
    first_time_days: float
    widths_days: FloatArray
    max_time_days: float
    at_or_beyond: FloatArray


def km_layout(los_days: FloatArray, discharged: BoolArray, horizon_days: float) -> KmLayout:
    """Sort a non-empty sample once for :func:`weighted_rmst`."""
    if los_days.size == 0:
        raise ValueError("a Kaplan-Meier layout needs at least one stay")
    order = np.argsort(los_days, kind="stable").astype(np.intp)
    times = los_days[order]
    is_new = np.empty(times.size, dtype=np.bool_)
    is_new[0] = True
    np.not_equal(times[1:], times[:-1], out=is_new[1:])
    starts = np.flatnonzero(is_new).astype(np.intp)
    distinct = times[starts]
    below = distinct[distinct < horizon_days]
    n_steps = int(below.size)
    widths = np.diff(np.append(below, horizon_days)) if n_steps else np.empty(0)
    return KmLayout(
        order=order,
        starts=starts,
        event_sorted=discharged[order].astype(np.float64),
        n_steps=n_steps,
        first_time_days=float(below[0]) if n_steps else float(horizon_days),
        widths_days=widths.astype(np.float64),
        max_time_days=float(times[-1]),
        at_or_beyond=(los_days >= horizon_days).astype(np.float64),
    )


def weighted_survival_steps(layout: KmLayout, weights: FloatArray) -> FloatArray:
    """S just after each of the first ``n_steps`` distinct times, per row of ``weights``.

    ``weights`` has shape ``(..., n)`` in the sample's original order; the result has shape
    ``(..., n_steps)``.
    """
    w = weights[..., layout.order]
    at_time = np.add.reduceat(w, layout.starts, axis=-1)
    events = np.add.reduceat(w * layout.event_sorted, layout.starts, axis=-1)
    at_risk = np.cumsum(at_time[..., ::-1], axis=-1)[..., ::-1]
    k = layout.n_steps
    events, at_risk = events[..., :k], at_risk[..., :k]
    hazard = np.divide(events, at_risk, out=np.zeros_like(events), where=at_risk > 0)
    survival: FloatArray = np.cumprod(1.0 - hazard, axis=-1)
    return survival


def weighted_rmst(layout: KmLayout, weights: FloatArray) -> FloatArray:
    """Restricted mean LOS (days) to the layout's horizon for each row of ``weights``."""
    return weighted_rmst_and_open(layout, weights)[0]


def weighted_rmst_and_open(layout: KmLayout, weights: FloatArray) -> tuple[FloatArray, BoolArray]:
    """:func:`weighted_rmst` and :func:`ends_open` from one pass over the curve."""
    beyond = weights @ layout.at_or_beyond
    if layout.n_steps == 0:
        rmst0: FloatArray = np.full(weights.shape[:-1], layout.first_time_days)
        return rmst0, np.asarray(beyond <= 0, dtype=np.bool_)
    survival = weighted_survival_steps(layout, weights)
    rmst: FloatArray = layout.first_time_days + survival @ layout.widths_days
    return rmst, np.asarray((beyond <= 0) & (survival[..., -1] > 1e-12), dtype=np.bool_)


def ends_open(layout: KmLayout, weights: FloatArray) -> BoolArray:
    """Per row of ``weights``: True if that resample's curve ends before the horizon on a stay
    still going on (no stay reaching the horizon, and the curve not down to 0), where
    :func:`weighted_rmst` would hold it flat."""
    return weighted_rmst_and_open(layout, weights)[1]


def follow_up_reach(
    los_days: FloatArray, discharged: BoolArray, *, min_at_risk: int = MIN_AT_RISK
) -> float:
    """The latest horizon up to which the Kaplan-Meier curve of a sample is known.

    The curve is taken as known past a censored stay (LOS c) only while at least
    ``min_at_risk`` stays last longer than c: below that, the estimate after c rests on a
    handful of stays and a bootstrap resample would often end on the censored stay itself and
    have to be extended. The reach is the smallest such c, or ``inf`` when every censored stay
    has enough stays beyond it (a curve that is complete, or followed long enough).
    """
    censored = np.sort(los_days[~discharged])
    if censored.size == 0:
        return math.inf
    ordered = np.sort(los_days)
    longer = ordered.size - np.searchsorted(ordered, censored, side="right")
    short = censored[longer < min_at_risk]
    return float(short[0]) if short.size else math.inf
