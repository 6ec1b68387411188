"""Money parameters (validation) and the savings model (hand-computed and propagated)."""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import numpy as np
import pytest

from analytics.stays import (
    PARAMETER_UNITS,
    EffectEstimate,
    InvalidParameter,
    Parameter,
    ParameterSet,
    concatenate,
    default_parameters,
    difference_in_differences,
    estimate_effect,
    estimate_savings,
    money_figures,
)
from analytics.stays._common import percentile_interval
from stayactive.errors import ConfigurationError
from tests.analytics_stays.stays_factories import make_records, synthetic_stays

AS_OF = date(2026, 11, 1)

HAND_VALUES = {
    "cost_per_bed_day_nok": 1000.0,
    "readmission_cost_nok": 0.0,
    "annual_short_term_budget_nok": 1.2e6,
    "uptake_share": 0.5,
    "device_count": 2.0,
    "device_cost_per_year_nok": 10_000.0,
    "licence_cost_per_year_nok": 5_000.0,
    "staff_time_per_stay_h": 1.0,
    "staff_cost_per_hour_nok": 500.0,
    "one_off_cost_nok": 60_000.0,
    "write_off_years": 3.0,
}


def param(name: str, value: float, **kwargs: object) -> Parameter:
    return Parameter(name, value, PARAMETER_UNITS[name], "test figure", AS_OF, **kwargs)  # type: ignore[arg-type]


def parameter_set(values: dict[str, float] | None = None, **extra: object) -> ParameterSet:
    v = dict(HAND_VALUES if values is None else values)
    return ParameterSet(
        tenant="testby",
        version="t1",
        **{name: param(name, v[name]) for name in PARAMETER_UNITS},  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def constant_did_effect() -> EffectEstimate:
    """Bed-days avoided exactly 2 per stay, counterfactual RMST 12 days, no readmissions."""
    records = concatenate(
        [
            make_records([10] * 5, arm="intervention", period="after", prefix="ia"),
            make_records([14] * 5, arm="intervention", period="before", prefix="ib"),
            make_records([16] * 5, arm="comparison", period="after", prefix="ca"),
            make_records([18] * 5, arm="comparison", period="before", prefix="cb"),
        ]
    )
    return difference_in_differences(records, n_resamples=100, seed=1)


# --- parameters ------------------------------------------------------------------------


def test_negative_cost_is_refused_with_a_clear_message() -> None:
    with pytest.raises(
        InvalidParameter, match=r"cost_per_bed_day_nok must be > 0 NOK/bed-day, got -5"
    ):
        param_set = dict(HAND_VALUES, cost_per_bed_day_nok=-5.0)
        parameter_set(param_set)
    with pytest.raises(InvalidParameter, match=r"readmission_cost_nok must be ≥ 0 NOK/readmission"):
        parameter_set(dict(HAND_VALUES, readmission_cost_nok=-1.0))


def test_invalid_parameter_is_both_a_configuration_error_and_a_value_error() -> None:
    with pytest.raises(ConfigurationError):
        parameter_set(dict(HAND_VALUES, licence_cost_per_year_nok=-1.0))
    with pytest.raises(ValueError):
        parameter_set(dict(HAND_VALUES, licence_cost_per_year_nok=-1.0))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("uptake_share", 1.2, "share between 0 and 1"),
        ("uptake_share", -0.1, "share between 0 and 1"),
        ("device_count", 2.5, "whole number"),
        ("write_off_years", 0.0, "must be > 0"),
        ("annual_short_term_budget_nok", 0.0, "must be > 0"),
        ("staff_time_per_stay_h", math.nan, "finite"),
    ],
)
def test_out_of_range_values(name: str, value: float, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message) as info:
        parameter_set(dict(HAND_VALUES, **{name: value}))
    assert info.value.name == name


def test_parameter_structure_is_checked() -> None:
    good = parameter_set()
    with pytest.raises(InvalidParameter, match="must be in NOK/bed-day"):
        dataclasses.replace(
            good,
            cost_per_bed_day_nok=Parameter("cost_per_bed_day_nok", 1.0, "EUR/day", "x", AS_OF),
        )
    with pytest.raises(InvalidParameter, match="given for field"):
        dataclasses.replace(good, cost_per_bed_day_nok=param("one_off_cost_nok", 1.0))
    with pytest.raises(InvalidParameter, match="needs a source"):
        dataclasses.replace(
            good,
            cost_per_bed_day_nok=Parameter("cost_per_bed_day_nok", 1.0, "NOK/bed-day", " ", AS_OF),
        )
    with pytest.raises(InvalidParameter, match="low 3 is above"):
        dataclasses.replace(good, cost_per_bed_day_nok=param("cost_per_bed_day_nok", 2.0, low=3.0))
    with pytest.raises(InvalidParameter, match="high 1 is below"):
        dataclasses.replace(good, cost_per_bed_day_nok=param("cost_per_bed_day_nok", 2.0, high=1.0))
    with pytest.raises(InvalidParameter, match="low"):
        dataclasses.replace(good, uptake_share=param("uptake_share", 0.5, low=-0.5))
    with pytest.raises(InvalidParameter, match="beds_closed_note"):
        dataclasses.replace(good, beds_closed=True)
    with pytest.raises(InvalidParameter, match="empty"):
        dataclasses.replace(good, tenant="")


def test_replace_makes_a_new_validated_version() -> None:
    ps = parameter_set()
    newer = ps.replace("t2", uptake_share=param("uptake_share", 0.8))
    assert (newer.version, newer.uptake_share.value, ps.uptake_share.value) == ("t2", 0.8, 0.5)
    with pytest.raises(InvalidParameter, match="new version"):
        ps.replace("t1", uptake_share=param("uptake_share", 0.8))
    with pytest.raises(InvalidParameter):
        ps.replace("t3", uptake_share=param("uptake_share", 3.0))


def test_defaults_are_sourced_and_all_flagged_for_confirmation() -> None:
    ps = default_parameters()
    assert ps.tenant == "stavanger"
    assert ps.cost_per_bed_day_nok.value == 2850.0
    assert (ps.cost_per_bed_day_nok.low, ps.cost_per_bed_day_nok.high) == (2600.0, 3100.0)
    assert "KOSTRA" in ps.cost_per_bed_day_nok.source
    assert ps.annual_short_term_budget_nok.value == 200e6
    assert set(ps.unconfirmed()) == set(PARAMETER_UNITS)
    assert not ps.beds_closed


# --- the model -------------------------------------------------------------------------


def test_savings_known_answer() -> None:
    effect = constant_did_effect()
    s = estimate_savings(effect, parameter_set())
    # bed-days in scope 1.2e6 / 1000 * 0.5 = 600; stays 600 / 12 = 50; freed 50 * 2 = 100
    assert s.stays_per_year.value == pytest.approx(50.0)
    assert s.bed_days_freed_per_year.value == pytest.approx(100.0)
    assert s.readmissions_avoided_per_year.value == pytest.approx(0.0)
    assert s.gross_savings_nok.value == pytest.approx(100_000.0)
    # running 2*10,000 + 5,000 + 50*1*500 = 50,000; + 60,000/3 = 70,000
    assert s.programme_cost_nok.value == pytest.approx(70_000.0)
    assert s.net_savings_nok.value == pytest.approx(30_000.0)
    assert s.roi.value == pytest.approx(3 / 7)
    # 60,000 / ((100,000 - 50,000) / 12)
    assert s.payback_months.value == pytest.approx(14.4)
    assert s.gross_share_of_budget.value == pytest.approx(100_000 / 1.2e6)
    # every replicate is the same here, so the intervals collapse
    assert (s.net_savings_nok.low, s.net_savings_nok.high) == pytest.approx((30_000.0, 30_000.0))
    assert s.savings_kind == "freed capacity"
    assert s.design.value == "difference-in-differences"


def test_payback_never_reached_when_running_costs_exceed_savings() -> None:
    s = estimate_savings(
        constant_did_effect(), parameter_set(dict(HAND_VALUES, licence_cost_per_year_nok=1e6))
    )
    assert math.isinf(s.payback_months.value)
    assert "not reached" in str(s.payback_months)
    assert s.net_savings_nok.value < 0


def test_money_is_computed_per_replicate_not_from_interval_ends() -> None:
    effect = estimate_effect(
        synthetic_stays(600, effect_ratio=0.8, seed=3), n_resamples=400, seed=3
    )
    ps = parameter_set(dict(HAND_VALUES, readmission_cost_nok=20_000.0))
    s = estimate_savings(effect, ps)
    reps = effect.replicates
    figures = money_figures(
        reps.bed_days_avoided_per_stay,
        reps.readmissions_avoided_per_stay,
        reps.comparison_rmst_days,
        ps.values(),
    )
    for name in ("gross_savings_nok", "net_savings_nok", "roi", "bed_days_freed_per_year"):
        low, high = percentile_interval(getattr(figures, name), effect.confidence_level)
        estimate = getattr(s, name)
        assert (estimate.low, estimate.high) == pytest.approx((float(low), float(high)))
    # plugging the interval ends of the effect into the formula gives something else
    plugged = money_figures(
        effect.bed_days_avoided_per_stay.low,
        effect.readmissions_avoided_per_stay.low if effect.readmissions_avoided_per_stay else 0.0,
        effect.comparison_rmst_days.value,
        ps.values(),
    )
    assert float(plugged.net_savings_nok) != pytest.approx(s.net_savings_nok.low, rel=1e-3)
    # point estimates come from the point effect
    point = money_figures(
        effect.bed_days_avoided_per_stay.value,
        effect.readmissions_avoided_per_stay.value if effect.readmissions_avoided_per_stay else 0.0,
        effect.comparison_rmst_days.value,
        ps.values(),
    )
    assert s.net_savings_nok.value == pytest.approx(float(point.net_savings_nok))
    assert s.payback_months.low <= s.payback_months.value <= s.payback_months.high


def test_cash_releasing_only_when_beds_are_closed() -> None:
    effect = constant_did_effect()
    capacity = estimate_savings(effect, parameter_set())
    assert any("Freed capacity, not cash" in a for a in capacity.assumptions)
    cash = estimate_savings(
        effect, parameter_set(beds_closed=True, beds_closed_note="city council case 2027/12")
    )
    assert cash.savings_kind == "cash-releasing"
    assert any("city council case 2027/12" in a for a in cash.assumptions)
    assert "cash-releasing" in cash.explain()


def test_assumptions_show_the_extrapolation_and_unconfirmed_parameters() -> None:
    s = estimate_savings(constant_did_effect(), default_parameters())
    text = s.explain()
    assert "NOK 200,000,000 budget" in text
    assert "UNCONFIRMED" in text
    assert "cost_per_bed_day_nok" in text
    assert "restricted mean LOS to day 60" in text


def test_readmissions_not_valued_when_not_estimable() -> None:
    records = concatenate(
        [
            make_records([8, 10, 12, 14, 16], readmitted=[None] * 5, prefix="i"),
            make_records([10, 12, 14, 16, 18], arm="comparison", readmitted=[None] * 5, prefix="c"),
        ]
    )
    effect = estimate_effect(records, stratify_by=(), n_resamples=100, seed=1)
    s = estimate_savings(effect, parameter_set(dict(HAND_VALUES, readmission_cost_nok=10_000.0)))
    assert s.readmissions_avoided_per_year.value == 0.0
    assert any("Readmissions are not valued" in a for a in s.assumptions)


def test_roi_is_nan_without_programme_cost() -> None:
    free = dict(
        HAND_VALUES,
        device_cost_per_year_nok=0.0,
        licence_cost_per_year_nok=0.0,
        staff_cost_per_hour_nok=0.0,
        one_off_cost_nok=0.0,
    )
    figures = money_figures(2.0, 0.0, 12.0, free)
    assert np.isnan(figures.roi)
    assert float(figures.payback_months) == 0.0
    s = estimate_savings(constant_did_effect(), parameter_set(free))
    assert math.isnan(s.roi.value) and "n/a" in str(s.roi)
