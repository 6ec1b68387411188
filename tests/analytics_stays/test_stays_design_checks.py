"""Design checks: pre-trend, placebo go-live, comparison wards, permutation, ward differences."""

from __future__ import annotations

import numpy as np

from analytics.stays import StayRecords, concatenate
from analytics.stays.design_checks import diagnose_design
from tests.analytics_stays.stays_factories import make_records


def ward_data(
    *,
    device_wards: int,
    comparison_wards: int,
    effect_days: float,
    trend_days_per_year: float = 0.0,
    device_ward_offset_days: float = 0.0,
    seed: int = 1,
    n_per_ward_period: int = 80,
) -> StayRecords:
    """Stays on wards over a year around go-live (day 0); LOS gamma, mean 18 days."""
    rng = np.random.default_rng(seed)
    parts = []
    for w in range(device_wards + comparison_wards):
        arm = "intervention" if w < device_wards else "comparison"
        for period, (lo, hi) in (("before", (-182.0, 0.0)), ("after", (0.0, 90.0))):
            day = rng.uniform(lo, hi, n_per_ward_period)
            mean = 18.0 + trend_days_per_year * day / 365.25
            if arm == "intervention":
                mean = mean + device_ward_offset_days
            if arm == "intervention" and period == "after":
                mean = mean - effect_days
            los = rng.gamma(4.0, mean / 4.0)
            parts.append(
                StayRecords.from_columns(
                    stay_id=[f"{w}{period}{i}" for i in range(los.size)],
                    los_days=los,
                    discharged=[True] * los.size,
                    destination=["home"] * los.size,
                    readmitted_30d=[False] * los.size,
                    arm=[arm] * los.size,
                    period=[period] * los.size,
                    age_band=["80-89"] * los.size,
                    stay_type=["18"] * los.size,
                    mobility_band=["unknown"] * los.size,
                    ward=[f"w{w}"] * los.size,
                    admission_day=day,
                    follow_up_days=np.maximum(los + 40.0, 150.0 - day),
                )
            )
    return concatenate(parts)


def test_one_comparison_ward_is_not_estimable() -> None:
    records = ward_data(device_wards=2, comparison_wards=1, effect_days=2.0)
    d = diagnose_design(records, "concurrent", horizon_days=60.0, observed_effect=2.0)
    assert d.check("comparison wards").status == "not estimable"
    assert d.check("permutation across wards").status == "not estimable"
    assert d.flagged


def test_permutation_across_wards_finds_a_large_effect() -> None:
    records = ward_data(device_wards=4, comparison_wards=4, effect_days=6.0)
    d = diagnose_design(records, "concurrent", horizon_days=60.0, observed_effect=6.0)
    perm = d.check("permutation across wards")
    assert perm.status == "pass" and perm.p_value is not None and perm.p_value < 0.05
    assert "70 assignments" in perm.detail
    assert d.check("comparison wards").status == "pass"


def test_a_secular_trend_flags_the_historical_design() -> None:
    trended = ward_data(
        device_wards=2, comparison_wards=2, effect_days=0.0, trend_days_per_year=-12
    )
    d = diagnose_design(trended, "historical", horizon_days=60.0, observed_effect=3.0)
    assert d.check("placebo go-live").status == "flag"
    flat = ward_data(device_wards=2, comparison_wards=2, effect_days=0.0, seed=3)
    ok = diagnose_design(flat, "historical", horizon_days=60.0, observed_effect=0.0)
    assert ok.check("placebo go-live").status == "pass"
    assert ok.check("pre-trend").status == "pass"


def test_historical_without_comparison_wards_cannot_be_checked() -> None:
    records = ward_data(device_wards=2, comparison_wards=0, effect_days=2.0)
    d = diagnose_design(records, "historical", horizon_days=60.0, observed_effect=2.0)
    assert d.check("placebo go-live").status == "not estimable"


def test_unknown_wards_and_dates_are_not_estimable() -> None:
    records = concatenate(
        [
            make_records([10.0] * 30, period="before", prefix="b"),
            make_records([9.0] * 30, prefix="a"),
            make_records([10.0] * 30, arm="comparison", prefix="c"),
        ]
    )
    d = diagnose_design(records, "difference-in-differences", horizon_days=60, observed_effect=1)
    assert d.check("pre-trend").status == "not estimable"
    assert d.check("permutation across wards").status == "not estimable"


def test_wards_that_differ_before_go_live_flag_the_concurrent_design() -> None:
    differ = ward_data(
        device_wards=2, comparison_wards=2, effect_days=2.0, device_ward_offset_days=-4
    )
    d = diagnose_design(differ, "concurrent", horizon_days=60.0, observed_effect=6.0)
    assert d.check("placebo go-live").status == "flag"
    alike = ward_data(device_wards=2, comparison_wards=2, effect_days=2.0, seed=4)
    ok = diagnose_design(alike, "concurrent", horizon_days=60.0, observed_effect=2.0)
    assert ok.check("placebo go-live").status == "pass"
