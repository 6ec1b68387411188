"""Checks of the design's assumptions that the data can speak to, run before the effect is read.

None of these proves a design right; each can show it wrong. For each design:

============================  =============================================================
check                         what it looks for
============================  =============================================================
pre-trend                     historical: a trend in the bed-days per stay (to the horizon) on
                              device wards before go-live and on wards without devices
                              throughout (one slope, an intercept per ward group);
                              difference-in-differences: a difference between the two ward
                              groups' trends before go-live. Least squares on admission day,
                              HC0 standard errors.
placebo go-live               historical: the same before/after comparison on wards that never
                              got devices (any "effect" there is a secular trend);
                              difference-in-differences: a go-live moved to the middle of the
                              before period; concurrent: the same comparison of the two ward
                              groups before go-live (any "effect" there is the wards' own).
                              A placebo interval that excludes 0 flags the design.
comparison wards              concurrent and difference-in-differences: with one comparison
                              ward, the comparison is one ward's particulars against the
                              programme's, and inference across wards is not estimable.
permutation across wards      concurrent and difference-in-differences: the effect with every
                              assignment of the "device" label to as many wards as really had
                              devices; p = share at least as large in absolute value (Fisher's
                              randomisation test, exact when wards were assigned at random).
ward differences              wards of the same group differ in bed-days per stay beyond chance
                              (Cochran's Q): then intervals that resample stays are too narrow.
============================  =============================================================

References
----------
.. [1] Wing C, Simon K, Bello-Gomez RA. Designing difference in difference studies: best
   practices for public health policy research. Annu Rev Public Health 2018;39:453-469.
   doi:10.1146/annurev-publhealth-040617-013507
.. [2] Bertrand M, Duflo E, Mullainathan S. How much should we trust differences-in-differences
   estimates? Q J Econ 2004;119(1):249-275. doi:10.1162/003355304772839588
.. [3] Conley TG, Taber CR. Inference with "difference in differences" with a small number of
   policy changes. Rev Econ Stat 2011;93(1):113-125. doi:10.1162/REST_a_00049
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from scipy import stats

from analytics.stays._common import Estimate, FloatArray
from analytics.stays.cohorts import Design
from analytics.stays.effect import estimate_effect, point_effect
from analytics.stays.errors import InsufficientData
from analytics.stays.records import COLUMNS, StayRecords

CheckStatus = Literal["pass", "flag", "not estimable"]

#: Significance level of the checks.
ALPHA: Final = 0.05
#: Most ward assignments the permutation test enumerates (a random sample beyond).
MAX_PERMUTATIONS: Final = 2000
_PLACEBO_RESAMPLES: Final = 300


@dataclass(frozen=True)
class DesignCheck:
    """One check: its status, the figure it rests on, and what it means in words."""

    name: str
    status: CheckStatus
    detail: str
    estimate: Estimate | None = None
    p_value: float | None = None
    count: int | None = None  # comparison wards, or ward assignments of the permutation test


@dataclass(frozen=True)
class DesignDiagnostics:
    """The checks of one design on one data set."""

    design: Design
    checks: tuple[DesignCheck, ...]

    @property
    def flagged(self) -> bool:
        """True if any check flags the design or a decisive check is not estimable."""
        return any(c.status != "pass" for c in self.checks)

    def check(self, name: str) -> DesignCheck:
        """The check called ``name``; KeyError if there is none."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)


def _relabel(records: StayRecords, arm: object = None, period: object = None) -> StayRecords:
    cols = {c: records.column(c) for c in COLUMNS}
    if arm is not None:
        cols["arm"] = np.broadcast_to(np.asarray(arm), (len(records),)).copy()
    if period is not None:
        cols["period"] = np.asarray(period)
    return StayRecords(**cols)


def _complete(records: StayRecords, horizon: float) -> StayRecords:
    """Stays whose bed-days to the horizon are known, selected on follow-up only (admitted at
    least ``horizon`` days before the analysis), so that recent short stays do not make a
    trend; without follow-up times, stays that ended or passed the horizon."""
    follow = records.follow_up_days
    if not np.any(np.isnan(follow)):
        return records.subset(follow >= horizon)
    return records.subset(records.discharged | (records.los_days >= horizon))


def _slope(y: FloatArray, x: FloatArray, group: FloatArray | None) -> tuple[float, float]:
    """Least-squares slope of y on x (or, with ``group``, the difference of the two groups'
    slopes) and its HC0 standard error."""
    columns = [np.ones_like(x), x]
    if group is not None:
        columns += [group, group * x]
    design = np.column_stack(columns)
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    bread = np.linalg.pinv(design.T @ design)
    meat = design.T @ (design * (resid**2)[:, np.newaxis])
    cov = bread @ meat @ bread
    k = len(columns) - 1
    return float(beta[k]), float(math.sqrt(max(cov[k, k], 0.0)))


def _slope_common(y: FloatArray, x: FloatArray, group: FloatArray) -> tuple[float, float]:
    """Least-squares common slope of y on x with an intercept per group, and its HC0 SE."""
    design = np.column_stack([np.ones_like(x), group, x])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    bread = np.linalg.pinv(design.T @ design)
    cov = bread @ (design.T @ (design * (resid**2)[:, np.newaxis])) @ bread
    return float(beta[2]), float(math.sqrt(max(cov[2, 2], 0.0)))


def _pre_trend(records: StayRecords, design: Design, horizon: float) -> DesignCheck:
    before = _complete(records.subset(records.period == "before"), horizon)
    if np.any(np.isnan(before.admission_day)) or len(before) < 20:
        return DesignCheck("pre-trend", "not estimable", "admission dates before go-live unknown")
    y = np.minimum(before.los_days, horizon)
    x = before.admission_day / 365.25
    is_int = (before.arm == "intervention").astype(np.float64)
    if design is Design.HISTORICAL:
        keep = is_int == 1.0
        if int(np.sum(keep)) < 20:
            return DesignCheck("pre-trend", "not estimable", "too few device-ward stays before")
        slope, se = _slope(y[keep], x[keep], None)
        what = "trend of bed-days per stay on device wards before go-live"
        # Wards that never got devices show a secular trend over the whole timeline: one
        # slope from the device wards before go-live and the comparison wards throughout,
        # with an intercept per ward group, uses every stay the programme cannot have touched.
        comparison = _complete(records.subset(records.arm == "comparison"), horizon)
        if len(comparison) >= 20 and not np.any(np.isnan(comparison.admission_day)):
            y = np.concatenate([y[keep], np.minimum(comparison.los_days, horizon)])
            x = np.concatenate([x[keep], comparison.admission_day / 365.25])
            group = np.concatenate([np.zeros(int(np.sum(keep))), np.ones(len(comparison))])
            slope, se = _slope_common(y, x, group)
            what = (
                "trend of bed-days per stay on device wards before go-live and on wards "
                "without devices throughout"
            )
    else:
        if int(np.sum(is_int)) < 10 or int(np.sum(1 - is_int)) < 10:
            return DesignCheck("pre-trend", "not estimable", "too few stays in a ward group")
        slope, se = _slope(y, x, is_int)
        what = "difference between the ward groups' trends before go-live"
    z = slope / se if se > 0 else 0.0
    p = float(2 * stats.norm.sf(abs(z)))
    est = Estimate(slope, slope - 1.96 * se, slope + 1.96 * se, 0.95, "bed-days per stay per year")
    status: CheckStatus = "flag" if p < ALPHA else "pass"
    return DesignCheck(
        "pre-trend", status, f"{what}: {slope:+.2f} bed-days per stay per year", est, p
    )


def _placebo(records: StayRecords, design: Design, horizon: float, seed: int) -> DesignCheck:
    try:
        if design is Design.CONCURRENT:
            before = records.subset(records.period == "before")
            if not (np.any(before.arm == "intervention") and np.any(before.arm == "comparison")):
                return DesignCheck(
                    "placebo go-live",
                    "not estimable",
                    "no before period on both ward groups: ward differences cannot be told "
                    "from the effect",
                )
            effect = estimate_effect(
                _relabel(before, period=np.full(len(before), "after")),
                design=Design.CONCURRENT,
                horizon_days=horizon,
                n_resamples=_PLACEBO_RESAMPLES,
                seed=seed,
            )
            what = "device wards against wards without devices before go-live"
        elif design is Design.HISTORICAL:
            comparison = records.subset(records.arm == "comparison")
            if len(comparison) == 0:
                return DesignCheck(
                    "placebo go-live",
                    "not estimable",
                    "no wards without devices: a secular trend cannot be told from the effect",
                )
            placebo = _relabel(comparison, arm="intervention")
            effect = estimate_effect(
                placebo,
                design=Design.HISTORICAL,
                horizon_days=horizon,
                n_resamples=_PLACEBO_RESAMPLES,
                seed=seed,
            )
            what = "before/after change on wards without devices"
        else:
            before = records.subset(records.period == "before")
            if np.any(np.isnan(before.admission_day)):
                return DesignCheck("placebo go-live", "not estimable", "admission dates unknown")
            middle = float(np.median(before.admission_day))
            period = np.where(before.admission_day >= middle, "after", "before")
            effect = estimate_effect(
                _relabel(before, period=period),
                design=Design.DIFFERENCE_IN_DIFFERENCES,
                horizon_days=horizon,
                n_resamples=_PLACEBO_RESAMPLES,
                seed=seed,
            )
            what = "difference-in-differences at a go-live moved into the before period"
    except InsufficientData as exc:
        return DesignCheck("placebo go-live", "not estimable", f"too few stays: {exc}")
    bed = effect.bed_days_avoided_per_stay
    status: CheckStatus = "flag" if not bed.low <= 0.0 <= bed.high else "pass"
    return DesignCheck(
        "placebo go-live", status, f"{what}: {bed.value:+.2f} bed-days per stay", bed
    )


def _wards(records: StayRecords, arm: str) -> list[str]:
    return sorted({str(w) for w in records.ward[records.arm == arm]} - {""})


def _permutation(
    records: StayRecords, design: Design, horizon: float, observed: float, seed: int
) -> DesignCheck:
    device, comparison = _wards(records, "intervention"), _wards(records, "comparison")
    if not device or not comparison:
        return DesignCheck("permutation across wards", "not estimable", "wards unknown")
    observed = point_effect(records, design, horizon, stratify_by=())
    if len(comparison) < 2:
        return DesignCheck(
            "permutation across wards",
            "not estimable",
            "one comparison ward: the effect cannot be told from that ward's particulars",
        )
    wards = device + comparison
    assignments = list(itertools.combinations(range(len(wards)), len(device)))
    rng = np.random.default_rng(seed)
    if len(assignments) > MAX_PERMUTATIONS:
        picks = rng.choice(len(assignments), MAX_PERMUTATIONS, replace=False)
        assignments = [assignments[int(i)] for i in picks]
    ward_of = records.ward
    effects = []
    for chosen in assignments:
        labelled = {wards[i] for i in chosen}
        arm = np.where(np.isin(ward_of, list(labelled)), "intervention", "comparison")
        try:
            # a randomisation test is valid for any statistic: the crude (unweighted) effect
            # keeps the 20-2,000 re-estimates cheap
            effects.append(
                point_effect(_relabel(records, arm=arm), design, horizon, stratify_by=())
            )
        except InsufficientData:
            continue
    values = np.asarray(effects)
    p = float(np.mean(np.abs(values) >= abs(observed) - 1e-12)) if values.size else math.nan
    smallest = 1.0 / max(values.size, 1)
    status: CheckStatus = "pass" if p < ALPHA else "flag"
    detail = (
        f"{values.size} assignments of the device label to {len(device)} of {len(wards)} "
        f"wards; p = {p:.3f} (smallest possible {smallest:.3f})"
    )
    if smallest >= ALPHA:
        status = "not estimable"
        detail += ": too few wards for a test at the 5 % level"
    return DesignCheck("permutation across wards", status, detail, None, p, int(values.size))


def _ward_differences(records: StayRecords, horizon: float) -> DesignCheck:
    complete = _complete(records, horizon)
    q = 0.0
    dof = 0
    pairs = {(str(a), str(p)) for a, p in zip(complete.arm, complete.period, strict=True)}
    for arm, period in sorted(pairs):
        mask = (complete.arm == arm) & (complete.period == period)
        wards = sorted(set(complete.ward[mask].tolist()) - {""})
        if len(wards) < 2:
            continue
        means, weights = [], []
        for w in wards:
            y = np.minimum(complete.los_days[mask & (complete.ward == w)], horizon)
            if y.size < 5:
                continue
            means.append(float(np.mean(y)))
            weights.append(y.size / max(float(np.var(y, ddof=1)), 1e-9))
        if len(means) < 2:
            continue
        m, wts = np.asarray(means), np.asarray(weights)
        pooled = float(np.sum(wts * m) / np.sum(wts))
        q += float(np.sum(wts * (m - pooled) ** 2))
        dof += len(means) - 1
    if dof == 0:
        return DesignCheck(
            "ward differences", "not estimable", "no group has two wards with known stays"
        )
    p = float(stats.chi2.sf(q, dof))
    status: CheckStatus = "flag" if p < ALPHA else "pass"
    return DesignCheck(
        "ward differences",
        status,
        f"Cochran's Q {q:.1f} on {dof} degrees of freedom between wards of the same group",
        None,
        p,
    )


def diagnose_design(
    records: StayRecords,
    design: Design | str,
    *,
    horizon_days: float,
    observed_effect: float,
    seed: int = 1,
    checks: Sequence[str] | None = None,
) -> DesignDiagnostics:
    """Run the checks that apply to ``design`` (module docstring) on the stays.

    ``observed_effect`` is the design's bed-days avoided per stay (reported with the checks);
    the permutation test compares the crude effect with its permutation distribution.
    ``checks`` restricts the run to some checks by name.
    """
    chosen = Design(design)
    wanted = set(checks) if checks is not None else None

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    out: list[DesignCheck] = []
    if chosen in (Design.HISTORICAL, Design.DIFFERENCE_IN_DIFFERENCES) and want("pre-trend"):
        out.append(_pre_trend(records, chosen, horizon_days))
    if want("placebo go-live"):
        out.append(_placebo(records, chosen, horizon_days, seed))
    if chosen in (Design.CONCURRENT, Design.DIFFERENCE_IN_DIFFERENCES):
        n_comparison = len(_wards(records, "comparison"))
        if want("comparison wards"):
            status: CheckStatus = "pass" if n_comparison >= 2 else "not estimable"
            out.append(
                DesignCheck(
                    "comparison wards",
                    status,
                    f"{n_comparison} comparison ward(s)"
                    + ("" if n_comparison >= 2 else ": not estimable with one comparison ward"),
                    count=n_comparison,
                )
            )
        if want("permutation across wards"):
            out.append(_permutation(records, chosen, horizon_days, observed_effect, seed))
    if want("ward differences"):
        out.append(_ward_differences(records, horizon_days))
    return DesignDiagnostics(chosen, tuple(out))
