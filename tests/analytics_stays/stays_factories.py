"""Builders of stay tables for the tests of analytics.stays (imported by the test modules)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from analytics.stays import AGE_BANDS, MOBILITY_BANDS, STAY_TYPES, StayRecords

AGE_SHARES = (0.4, 0.4, 0.2)
STAY_TYPE_SHARES = (0.5, 0.3, 0.2)
MOBILITY_SHARES = (0.3, 0.3, 0.3, 0.1)


def make_records(
    los_days: Sequence[float],
    *,
    discharged: Sequence[bool] | None = None,
    destination: Sequence[str | None] | None = None,
    readmitted: Sequence[bool | None] | None = None,
    arm: str | Sequence[str] = "intervention",
    period: str | Sequence[str] = "after",
    age_band: str | Sequence[str] = "80-89",
    stay_type: str | Sequence[str] = "19",
    mobility_band: str | Sequence[str] = "unknown",
    prefix: str = "s",
    follow_up_days: Sequence[float] | None = None,
) -> StayRecords:
    """A small stay table; every stay discharged home and not readmitted unless told."""
    n = len(los_days)
    ev = [True] * n if discharged is None else list(discharged)
    if destination is None:
        dest: list[str | None] = ["home" if e else None for e in ev]
    else:
        dest = list(destination)
    if readmitted is None:
        readm: list[bool | None] = [False if d == "home" else None for d in dest]
    else:
        readm = list(readmitted)

    def col(v: str | Sequence[str]) -> list[str]:
        return [v] * n if isinstance(v, str) else list(v)

    return StayRecords.from_columns(
        stay_id=[f"{prefix}{i}" for i in range(n)],
        los_days=list(los_days),
        discharged=ev,
        destination=dest,
        readmitted_30d=readm,
        arm=col(arm),
        period=col(period),
        age_band=col(age_band),
        stay_type=col(stay_type),
        mobility_band=col(mobility_band),
        # default: followed long enough after every discharge for the 30-day window to close
        follow_up_days=[t + 40.0 if e else t for t, e in zip(los_days, ev, strict=True)]
        if follow_up_days is None
        else list(follow_up_days),
    )


def _scale_days(base_mean_days: float, age: np.ndarray, mob: np.ndarray) -> np.ndarray:
    scale: np.ndarray = base_mean_days * (1 + 0.3 * (age == "90+") + 0.2 * (mob == "<0.4"))
    return scale


def synthetic_stays(
    n: int,
    *,
    effect_ratio: float,
    seed: int,
    design: str = "concurrent",
    censor_share: float = 0.15,
    base_mean_days: float = 20.0,
    readmission_risk: float = 0.15,
) -> StayRecords:
    """Gamma(shape 2) LOS whose mean depends on age and mobility; the programme multiplies it.

    ``design`` "concurrent": random arm, all after go-live; "historical": intervention wards,
    random period. A share ``censor_share`` of stays is censored at a uniform time in [0, 40).
    Readmission does not depend on the programme.
    """
    rng = np.random.default_rng(seed)
    age = rng.choice(AGE_BANDS, n, p=AGE_SHARES)
    stay_type = rng.choice(STAY_TYPES, n, p=STAY_TYPE_SHARES)
    mob = rng.choice(MOBILITY_BANDS, n, p=MOBILITY_SHARES)
    if design == "concurrent":
        arm = rng.choice(["intervention", "comparison"], n)
        period = np.full(n, "after")
    else:
        arm = np.full(n, "intervention")
        period = rng.choice(["before", "after"], n)
    treated = (arm == "intervention") & (period == "after")
    scale = _scale_days(base_mean_days, age, mob) * np.where(treated, effect_ratio, 1.0)
    los = rng.gamma(2.0, scale / 2.0)
    censor_at = np.where(rng.random(n) < censor_share, rng.uniform(0, 40, n), np.inf)
    discharged = los <= censor_at
    observed = np.minimum(los, censor_at)
    dest = rng.choice(["home", "long_term_care", "hospital", "death"], n, p=[0.6, 0.2, 0.15, 0.05])
    destination = [str(d) if e else None for d, e in zip(dest, discharged, strict=True)]
    readm = rng.random(n) < readmission_risk
    readmitted = [bool(r) if d == "home" else None for r, d in zip(readm, destination, strict=True)]
    # follow-up ends at the censoring time, or long after the discharge
    follow_up = np.where(np.isfinite(censor_at), np.maximum(censor_at, observed), observed + 60.0)
    return StayRecords.from_columns(
        follow_up_days=follow_up,
        stay_id=[f"s{i}" for i in range(n)],
        los_days=observed,
        discharged=discharged,
        destination=destination,
        readmitted_30d=readmitted,
        arm=arm,
        period=period,
        age_band=age,
        stay_type=stay_type,
        mobility_band=mob,
    )


def true_bed_days_avoided(
    effect_ratio: float, *, horizon_days: float = 60.0, base_mean_days: float = 20.0
) -> float:
    """Population bed-days avoided per stay (RMST difference) of :func:`synthetic_stays`."""

    def rmst(mean_days: float) -> float:
        theta = mean_days / 2.0
        x = horizon_days / theta
        return float(2 * theta * stats.gamma.cdf(x, 3) + horizon_days * stats.gamma.sf(x, 2))

    total = 0.0
    for age, p_age in zip(AGE_BANDS, AGE_SHARES, strict=True):
        for mob, p_mob in zip(MOBILITY_BANDS, MOBILITY_SHARES, strict=True):
            mean = float(_scale_days(base_mean_days, np.array(age), np.array(mob)))
            total += p_age * p_mob * (rmst(mean) - rmst(mean * effect_ratio))
    return total
