"""Who is compared with whom: study designs, strata and the covariate balance table.

``arm`` in :class:`~analytics.stays.records.StayRecords` is a property of the ward (devices or
not) and ``period`` of the admission date (before or after go-live), so each design is a choice
of groups of stays:

============================  ======================  ==========================================
design                        target (programme)      reference group(s)
============================  ======================  ==========================================
``historical``                intervention / after    intervention / before (same wards)
``concurrent``                intervention / after    comparison / after (wards without devices)
``difference-in-differences`` intervention / after    intervention / before, comparison / after,
                                                      comparison / before
============================  ======================  ==========================================

The counterfactual for the target — what its stays would have looked like without the programme
— is a linear combination of the reference groups: the reference itself for the two simple
designs, ``before + (comparison after - comparison before)`` for difference-in-differences.

References
----------
.. [1] Austin PC. Balance diagnostics for comparing the distribution of baseline covariates
   between treatment groups in propensity-score matched samples. Stat Med 2009;28(25):
   3083-3107. doi:10.1002/sim.3697
.. [2] Wing C, Simon K, Bello-Gomez RA. Designing difference in difference studies: best
   practices for public health policy research. Annu Rev Public Health 2018;39:453-469.
   doi:10.1146/annurev-publhealth-040617-013507
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np

from analytics.stays._common import StrArray
from analytics.stays.errors import InsufficientData
from analytics.stays.records import (
    AGE_BANDS,
    COVARIATES,
    MOBILITY_BANDS,
    STAY_TYPES,
    StayRecords,
)
from analytics.stays.weighting import standardised_difference


class Design(StrEnum):
    """How the comparison group is formed; stated in every effect estimate."""

    HISTORICAL = "historical"
    CONCURRENT = "concurrent"
    DIFFERENCE_IN_DIFFERENCES = "difference-in-differences"


#: Assumptions every design needs, in words for the report.
COMMON_ASSUMPTIONS: Final = (
    "No unmeasured confounding within strata: within an age band x stay type x admission "
    "mobility stratum, the groups differ only by the programme.",
    "Independent censoring: within a stratum, a stay still going on at the analysis date is "
    "no more or less likely to end soon than a finished stay of the same length was.",
    "Stays are treated as independent: wards are not modelled as clusters, so if wards differ "
    "systematically the intervals are too narrow, more so the fewer wards there are.",
    "Consent selection: only stays with consent to evaluation are analysed; if consenting "
    "residents respond differently, the effect may not carry over to all stays.",
    "Bed-days after the horizon are not counted: an effect on the longest stays beyond the "
    "horizon is ignored.",
)

DESIGN_ASSUMPTIONS: Final[dict[Design, tuple[str, ...]]] = {
    Design.HISTORICAL: (
        "No secular trend: without the programme, stays on these wards after go-live would "
        "have been as long as before (same discharge practice, hospital pressure, home-care "
        "capacity, staffing and season mix).",
        "Stable case-mix beyond the strata: residents admitted after go-live are comparable "
        "to those before, within each stratum.",
    ),
    Design.CONCURRENT: (
        "Comparable wards: wards without devices admit similar residents and discharge them "
        "by the same rules, within each stratum.",
        "No spill-over: staff, devices and activation routines do not move between device "
        "wards and comparison wards.",
    ),
    Design.DIFFERENCE_IN_DIFFERENCES: (
        "Parallel trends: without the programme, LOS on device wards would have changed from "
        "before to after go-live as much as on comparison wards.",
        "No spill-over: the programme does not change practice on comparison wards.",
        "Stable case-mix: within each ward group, the mix of residents does not change from "
        "before to after go-live (beyond the strata standardised for).",
        "No anticipation: stays before go-live were not affected by the coming programme.",
    ),
}

_DESCRIPTIONS: Final[dict[Design, str]] = {
    Design.HISTORICAL: (
        "Historical comparison: stays on device wards after go-live against stays on the same "
        "wards before go-live."
    ),
    Design.CONCURRENT: (
        "Concurrent comparison: stays on device wards after go-live against stays on wards "
        "without devices in the same period."
    ),
    Design.DIFFERENCE_IN_DIFFERENCES: (
        "Difference-in-differences: the change on device wards from before to after go-live, "
        "minus the change on wards without devices over the same periods."
    ),
}


@dataclass(frozen=True, eq=False)
class Group:
    """A named group of stays, e.g. ``"intervention/after"``."""

    name: str
    records: StayRecords


@dataclass(frozen=True, eq=False)
class Cohorts:
    """The groups a design compares.

    Attributes
    ----------
    design
        The design.
    target
        Stays under the programme (intervention wards after go-live).
    references
        The groups the counterfactual is built from.
    counterfactual_weights
        One per reference: the counterfactual mean of the target is
        ``sum(w * mean(reference))``.
    n_not_used
        Stays in the input that this design does not use.
    description
        One sentence saying who is compared with whom.
    assumptions
        What the design needs to hold for the estimate to be the programme's effect.
    """

    design: Design
    target: Group
    references: tuple[Group, ...]
    counterfactual_weights: tuple[float, ...]
    n_not_used: int
    description: str
    assumptions: tuple[str, ...]

    @property
    def groups(self) -> tuple[Group, ...]:
        """Target first, then the references."""
        return (self.target, *self.references)


def select_cohorts(records: StayRecords, design: Design | str | None = None) -> Cohorts:
    """Split the stays into the groups of a design.

    Parameters
    ----------
    records
        All stays.
    design
        ``"historical"``, ``"concurrent"`` or ``"difference-in-differences"``. ``None`` infers
        it: concurrent if there are comparison-ward stays after go-live, else historical if
        there are intervention-ward stays before go-live.

    Raises
    ------
    InsufficientData
        If ``design`` is None and there is no comparison group at all.
    """
    is_int = records.arm == "intervention"
    after = records.period == "after"
    masks = {
        "intervention/after": is_int & after,
        "intervention/before": is_int & ~after,
        "comparison/after": ~is_int & after,
        "comparison/before": ~is_int & ~after,
    }
    if design is None:
        if np.any(masks["comparison/after"]):
            chosen = Design.CONCURRENT
        elif np.any(masks["intervention/before"]):
            chosen = Design.HISTORICAL
        else:
            raise InsufficientData(
                "comparison group",
                n_available=0,
                n_required=1,
                detail="no stays on comparison wards and none from before go-live",
            )
    else:
        chosen = Design(design)
    names: tuple[str, ...]
    weights: tuple[float, ...]
    if chosen is Design.HISTORICAL:
        names, weights = ("intervention/before",), (1.0,)
    elif chosen is Design.CONCURRENT:
        names, weights = ("comparison/after",), (1.0,)
    else:
        names = ("intervention/before", "comparison/after", "comparison/before")
        weights = (1.0, 1.0, -1.0)
    used = masks["intervention/after"].copy()
    for name in names:
        used |= masks[name]
    return Cohorts(
        design=chosen,
        target=Group("intervention/after", records.subset(masks["intervention/after"])),
        references=tuple(Group(name, records.subset(masks[name])) for name in names),
        counterfactual_weights=weights,
        n_not_used=int(np.sum(~used)),
        description=_DESCRIPTIONS[chosen],
        assumptions=DESIGN_ASSUMPTIONS[chosen] + COMMON_ASSUMPTIONS,
    )


def check_covariates(by: Sequence[str]) -> tuple[str, ...]:
    """Validate a list of stratification covariates (no repeats, known names)."""
    names = tuple(by)
    for name in names:
        if name not in COVARIATES:
            raise ValueError(
                f"cannot stratify by {name!r}; expected some of {', '.join(COVARIATES)}"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"stratify_by repeats a covariate: {names}")
    return names


def stratum_labels(records: StayRecords, by: Sequence[str]) -> StrArray:
    """A readable stratum label per stay, e.g. ``"age_band=80-89 | stay_type=19"``.

    With no covariates every stay is in the stratum ``"all stays"``.
    """
    names = check_covariates(by)
    if not names:
        return np.array(["all stays"] * len(records), dtype=np.str_)
    labels = np.full(len(records), "", dtype=object)
    for k, name in enumerate(names):
        prefix = "" if k == 0 else " | "
        labels = labels + prefix + name + "=" + records.covariate(name).astype(object)
    return labels.astype(np.str_)


@dataclass(frozen=True)
class BalanceRow:
    """Counts and shares of one covariate level per group.

    ``standardised_differences`` has one entry per reference group: (share in target - share
    in reference) / sqrt((p_t(1 - p_t) + p_r(1 - p_r)) / 2), NaN where a group is empty.
    """

    covariate: str
    level: str
    counts: tuple[int, ...]
    shares: tuple[float, ...]
    standardised_differences: tuple[float, ...]


@dataclass(frozen=True)
class BalanceTable:
    """Covariate balance between the target and each reference group, before adjustment.

    The effect estimate standardises the references to the target's distribution over the
    strata, which balances these covariates exactly; the table shows how much had to be
    corrected. An absolute standardised difference above 0.1 is commonly read as a meaningful
    imbalance (Austin 2009). Counts below 5 must go through
    :func:`~analytics.stays.suppression.suppress_counts` before leaving the care team.
    """

    groups: tuple[str, ...]
    n: tuple[int, ...]
    rows: tuple[BalanceRow, ...]

    def max_abs_standardised_difference(self) -> float:
        """The largest absolute standardised difference in the table (NaNs ignored)."""
        values = [abs(d) for row in self.rows for d in row.standardised_differences]
        finite = [v for v in values if not math.isnan(v)]
        return max(finite, default=math.nan)


def balance_table(cohorts: Cohorts) -> BalanceTable:
    """Counts, shares and standardised differences of each covariate level, per group."""
    groups = cohorts.groups
    n = tuple(len(g.records) for g in groups)
    levels_by_covariate = {
        "age_band": AGE_BANDS,
        "stay_type": STAY_TYPES,
        "mobility_band": MOBILITY_BANDS,
    }
    rows: list[BalanceRow] = []
    for covariate, levels in levels_by_covariate.items():
        for level in levels:
            counts = tuple(int(np.sum(g.records.covariate(covariate) == level)) for g in groups)
            shares = tuple(c / m if m else math.nan for c, m in zip(counts, n, strict=True))
            smd = tuple(standardised_difference(shares[0], s) for s in shares[1:])
            rows.append(BalanceRow(covariate, level, counts, shares, smd))
    return BalanceTable(groups=tuple(g.name for g in groups), n=n, rows=tuple(rows))
