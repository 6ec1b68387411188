"""Which strata and which horizon the data can carry: never a curve past its follow-up.

Two documented rules of :func:`~analytics.stays.effect.estimate_effect`:

1. **Merging sparse strata** (stratification only, :func:`merge_sparse_strata`): while some
   (group, stratum) cell has fewer than :data:`MIN_STAYS_PER_CELL` stays, or is not followed to
   the horizon, drop a covariate, in the order admission mobility, stay type, age band (the
   least to the most important for length of stay), and say which cell caused it.
2. **Shortening the horizon** (:func:`choose_horizon`): the horizon becomes the earliest day
   that some group (or cell) is followed to with at least
   :data:`~analytics.stays._km.MIN_AT_RISK` stays still under observation
   (:func:`~analytics.stays._km.follow_up_reach`); below :data:`MIN_HORIZON_DAYS` the estimate
   is refused with :class:`InsufficientData` naming the group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np

from analytics.stays._km import MIN_AT_RISK, follow_up_reach
from analytics.stays._statistic import Adjustment
from analytics.stays.cohorts import Cohorts, stratum_labels
from analytics.stays.errors import InsufficientData
from analytics.stays.records import StayRecords

#: A stratum needs this many stays in every group, or strata are merged (stratification).
MIN_STAYS_PER_CELL: Final = 10
#: The horizon is never shortened below this: the estimate is refused instead.
MIN_HORIZON_DAYS: Final = 30.0
#: Order in which covariates are dropped to merge sparse strata (least important first).
MERGE_ORDER: Final = ("mobility_band", "stay_type", "age_band")


def strata_cells(cohorts: Cohorts, by: Sequence[str]) -> list[tuple[str, StayRecords]]:
    """(group[/stratum] name, stays) of every cell a stratified estimate would use."""
    groups = cohorts.groups
    labels = [stratum_labels(g.records, by) for g in groups]
    out: list[tuple[str, StayRecords]] = []
    for stratum in np.unique(labels[0]).tolist():
        if not all(np.any(lab == stratum) for lab in labels[1:]):
            continue
        for g, lab in zip(groups, labels, strict=True):
            name = g.name if not by else f"{g.name} [{stratum}]"
            out.append((name, g.records.subset(lab == stratum)))
    return out


def merge_sparse_strata(
    cohorts: Cohorts, by: Sequence[str], horizon: float
) -> tuple[tuple[str, ...], list[str]]:
    """Drop covariates (in :data:`MERGE_ORDER`) until every cell has enough stays and
    follow-up to the horizon; return the covariates kept and one reason per dropped one."""
    kept = list(by)
    reasons: list[str] = []
    while kept:
        short = [
            name
            for name, rec in strata_cells(cohorts, kept)
            if len(rec) < MIN_STAYS_PER_CELL
            or follow_up_reach(rec.los_days, rec.discharged) < horizon
        ]
        if not short:
            break
        drop = next(c for c in MERGE_ORDER if c in kept)
        kept.remove(drop)
        reasons.append(
            f"{drop} (cell {short[0]} had fewer than {MIN_STAYS_PER_CELL} stays or too little "
            f"follow-up{'; ' + str(len(short) - 1) + ' more cells' if len(short) > 1 else ''})"
        )
    return tuple(kept), reasons


def choose_horizon(
    cohorts: Cohorts, by: Sequence[str], requested: float, adjustment: Adjustment
) -> tuple[float, str]:
    """The horizon every cell reaches, and which cell limited it (refuses below the minimum)."""
    cells = (
        strata_cells(cohorts, by)
        if adjustment == "stratification"
        else [(g.name, g.records) for g in cohorts.groups]
    )
    reach = [(follow_up_reach(rec.los_days, rec.discharged), name, rec) for name, rec in cells]
    limit, name, rec = min(reach, key=lambda r: r[0])
    if limit >= requested:
        return requested, ""
    if limit < MIN_HORIZON_DAYS:
        ongoing = int(np.sum(~rec.discharged))
        raise InsufficientData(
            f"effect estimate ({cohorts.design.value} design)",
            n_available=int(np.sum(rec.los_days > limit)),
            n_required=MIN_AT_RISK,
            detail=(
                f"group {name} is followed only to day {limit:.1f} with at least "
                f"{MIN_AT_RISK} stays still under observation ({len(rec)} stays, {ongoing} "
                f"still going on); its length-of-stay curve is unknown beyond that, and a "
                f"horizon below {MIN_HORIZON_DAYS:g} days would leave out most bed-days. "
                "Wait for more follow-up, or choose a design without this group"
            ),
        )
    return float(math.floor(limit * 10) / 10), name
