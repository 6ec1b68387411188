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
    annuity_factor,
    budget_impact,
    concatenate,
    default_parameters,
    difference_in_differences,
    estimate_effect,
    estimate_savings,
    money_figures,
    parameter_draws,
)
from analytics.stays._common import percentile_interval
from stayactive.errors import ConfigurationError
from tests.analytics_stays.stays_factories import make_records, synthetic_stays

AS_OF = date(2026, 11, 1)

HAND_VALUES = {
    "cost_per_bed_day_nok": 1000.0,
    "variable_cost_share": 0.2,
    "stays_per_year": 100.0,
    "annual_short_term_budget_nok": 1.2e6,
    "readmission_municipal_share": 0.5,
    "uptake_share": 0.5,
    "ramp_up_years": 2.0,
    "device_count": 4.0,
    "device_cost_per_year_nok": 10_000.0,
    "licence_cost_per_year_nok": 10_000.0,
    "staff_time_per_stay_h": 1.0,
    "staff_cost_per_hour_nok": 500.0,
    "one_off_cost_nok": 60_000.0,
    "write_off_years": 3.0,
    "beds_closed_count": 0.0,
    "closed_bed_saving_share": 0.8,
    "discount_rate": 0.0,
    "price_year": 2026.0,
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
    with pytest.raises(
        InvalidParameter, match=r"device_cost_per_year_nok must be ≥ 0 NOK/device/year"
    ):
        parameter_set(dict(HAND_VALUES, device_cost_per_year_nok=-1.0))


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
    assert set(ps.unconfirmed()) == set(PARAMETER_UNITS) - {
        "discount_rate",
        "beds_closed_count",
        "price_year",
    }
    assert ps.discount_rate.value == 0.04 and "R-109/2021" in ps.discount_rate.source
    assert not ps.beds_closed


# --- the model -------------------------------------------------------------------------


def test_savings_known_answer() -> None:
    effect = constant_did_effect()
    s = estimate_savings(effect, parameter_set())
    # 100 stays/year x uptake 0.5 = 50; freed 50 x 2 = 100 bed-days
    assert s.stays_in_programme_per_year.value == pytest.approx(50.0)
    assert s.bed_days_freed_per_year.value == pytest.approx(100.0)
    assert s.readmissions_avoided_per_year.value == pytest.approx(0.0)
    assert s.capacity_value_nok.value == pytest.approx(100_000.0)
    # running: 4 x 0.5 x 10,000 + 0.5 x 10,000 + 50 x 1 x 500 = 50,000; + 60,000 / 3 = 70,000
    assert s.programme_cost_nok.value == pytest.approx(70_000.0)
    assert s.net_value_nok.value == pytest.approx(30_000.0)
    # cash: 20 % of 100 bed-days x 1,000 = 20,000 saved - 70,000
    assert s.cash_effect_nok.value == pytest.approx(-50_000.0)
    assert s.safe_cash_effect_nok.value == pytest.approx(-70_000.0)
    assert s.roi is not None and s.roi.value == pytest.approx(-50 / 70)
    assert s.payback_months is not None and math.isinf(s.payback_months.value)
    assert s.capacity_share_of_budget.value == pytest.approx(100_000 / 1.2e6)
    # every replicate is the same here, so the intervals collapse
    assert (s.net_value_nok.low, s.net_value_nok.high) == pytest.approx((30_000.0, 30_000.0))
    assert s.probability_net_negative == 0.0 and s.probability_cash_negative == 1.0
    assert s.savings_kind == "freed capacity" and s.price_year == 2026
    assert s.design.value == "difference-in-differences"


def test_stays_per_year_come_from_the_count_not_the_truncated_rmst() -> None:
    """Review: stays/year = budget / cost / *truncated* RMST overstated stays and the total."""
    rng = np.random.default_rng(2)
    # a quarter of the stays last well past the 60-day horizon
    los = np.concatenate([rng.gamma(2.0, 8.0, 150), rng.uniform(70.0, 120.0, 50)])
    records = concatenate(
        [
            make_records(los * 0.9, prefix="i"),
            make_records(los, arm="comparison", prefix="c"),
        ]
    )
    effect = estimate_effect(records, n_resamples=200, seed=1)
    budget, day_cost = 1.2e6 * 100, 1000.0
    true_stays = budget / day_cost / float(np.mean(los))  # stays the budget really buys
    truncated = budget / day_cost / effect.comparison_rmst_days.value  # the old derivation
    assert truncated > 1.3 * true_stays  # overstated by a third or more
    ps = parameter_set(dict(HAND_VALUES, stays_per_year=round(true_stays)))
    s = estimate_savings(effect, ps)
    assert s.stays_in_programme_per_year.value == pytest.approx(round(true_stays) * 0.5)


def test_readmissions_are_valued_once_and_only_the_municipal_share() -> None:
    """Review: readmissions were valued as ten bed-days on top of stays already counted, and
    hospital readmissions (paid by the health trust) were 19 % of the gross value."""
    delta, rho, rmst = 2.0, 0.04, 20.0
    v = dict(HAND_VALUES, readmission_municipal_share=0.4)
    f = money_figures(delta, rho, rmst, v)
    # 50 stays x 0.04 = 2 readmissions avoided, 0.8 of them municipal stays of 20 bed-days
    assert float(f.readmissions_avoided_per_year) == pytest.approx(2.0)
    assert float(f.municipal_readmissions_avoided_per_year) == pytest.approx(0.8)
    assert float(f.readmission_bed_days_per_year) == pytest.approx(16.0)
    assert float(f.capacity_value_nok) == pytest.approx((100 + 16) * 1000.0)
    # hospital readmissions are worth nothing to the municipal budget
    only_hospital = money_figures(delta, rho, rmst, dict(v, readmission_municipal_share=0.0))
    assert float(only_hospital.capacity_value_nok) == pytest.approx(100 * 1000.0)


def test_cash_is_separate_from_the_value_of_freed_capacity() -> None:
    """Review: the whole budget was assumed to vary with bed-days at average cost, and net
    savings, ROI and payback were computed on the value of freed capacity, not on cash."""
    v = dict(HAND_VALUES, variable_cost_share=0.0)
    f = money_figures(2.0, 0.0, 12.0, v)
    assert float(f.capacity_value_nok) == pytest.approx(100_000.0)
    assert float(f.cash_effect_nok) == pytest.approx(-70_000.0)  # the programme cost only
    assert np.isnan(f.roi) and np.isnan(f.payback_months)  # no cash effect: not computed
    s = estimate_savings(constant_did_effect(), parameter_set(v))
    assert s.roi is None and s.payback_months is None
    assert "not computed" in s.explain()
    # a bed actually closed is cash: 365 x 1,000 x 0.8 = 292,000 a year
    closed = dict(v, beds_closed_count=1.0)
    c = money_figures(2.0, 0.0, 12.0, closed)
    assert float(c.closed_beds_saving_nok) == pytest.approx(292_000.0)
    assert float(c.safe_cash_effect_nok) == pytest.approx(292_000.0 - 70_000.0)
    assert float(c.roi) == pytest.approx((292_000.0 - 70_000.0) / 70_000.0)
    # 60,000 one-off repaid by (292,000 - 50,000 running) a year
    assert float(c.payback_months) == pytest.approx(60_000 / (242_000 / 12))
    # the freed bed-days on a closed bed are not counted again at the variable share
    both = money_figures(2.0, 0.0, 12.0, dict(closed, variable_cost_share=0.5))
    assert float(both.variable_cost_saving_nok) == 0.0  # 100 freed < 365 closed


def test_devices_and_licences_scale_with_uptake() -> None:
    full = money_figures(0.0, 0.0, 12.0, dict(HAND_VALUES, uptake_share=1.0))
    half = money_figures(0.0, 0.0, 12.0, dict(HAND_VALUES, uptake_share=0.5))
    # devices 4 x 10,000 + licence 10,000 = 50,000 at full uptake; staff 100 x 500 = 50,000
    assert float(full.running_cost_nok) == pytest.approx(100_000.0)
    assert float(half.running_cost_nok) == pytest.approx(50_000.0)


def test_budget_impact_ramps_up_and_discounts_at_four_percent() -> None:
    v = dict(HAND_VALUES, discount_rate=0.04, uptake_share=1.0)
    b = budget_impact(2.0, 0.0, 12.0, v)
    assert b.years == (1, 2, 3, 4, 5)
    np.testing.assert_allclose(b.uptake, [0.5, 1, 1, 1, 1])
    np.testing.assert_allclose(b.bed_days_freed, [100.0, 200, 200, 200, 200])
    # year 1: running at half uptake 50,000 + the one-off 60,000 paid at the start of year 1
    pv_programme = b.present_value("programme_cost_nok")
    running = [50_000.0] + [100_000.0] * 4
    expected = 60_000.0 + sum(r / 1.04**k for k, r in enumerate(running, start=1))
    assert float(pv_programme) == pytest.approx(expected)
    np.testing.assert_allclose(b.discount_factors, 1.04 ** -np.arange(1, 6))
    assert annuity_factor(0.04, 5) == pytest.approx(0.04 / (1 - 1.04**-5))


def test_parameter_uncertainty_enters_the_intervals() -> None:
    """Review: parameter uncertainty was not in the intervals."""
    effect = constant_did_effect()  # no sampling uncertainty at all
    ps = default_parameters()
    fixed = estimate_savings(effect, ps)
    psa = estimate_savings(effect, ps, draws=parameter_draws(ps, effect.n_resamples, seed=1))
    assert fixed.net_value_nok.low == pytest.approx(fixed.net_value_nok.high)
    assert psa.net_value_nok.high - psa.net_value_nok.low > 0.2 * abs(psa.net_value_nok.value)
    assert psa.interval_basis.startswith("probabilistic")
    assert 0.0 <= psa.probability_net_negative <= 1.0
    draws = parameter_draws(ps, 20_000, seed=2)
    cost = draws["cost_per_bed_day_nok"]
    assert cost.min() >= 2600 and cost.max() <= 3100
    assert float(np.mean(cost)) == pytest.approx((2600 + 4 * 2850 + 3100) / 6, rel=0.01)
    assert "discount_rate" not in draws  # no range: fixed


def test_money_is_computed_per_replicate_not_from_interval_ends() -> None:
    effect = estimate_effect(
        synthetic_stays(600, effect_ratio=0.8, seed=3), n_resamples=400, seed=3
    )
    ps = parameter_set()
    s = estimate_savings(effect, ps)
    reps = effect.replicates
    figures = money_figures(
        reps.bed_days_avoided_per_stay,
        reps.readmissions_avoided_per_stay,
        reps.comparison_rmst_days,
        ps.values(),
    )
    for name in ("capacity_value_nok", "net_value_nok", "bed_days_freed_per_year"):
        low, high = percentile_interval(getattr(figures, name), effect.confidence_level)
        estimate = getattr(s, name)
        assert (estimate.low, estimate.high) == pytest.approx((float(low), float(high)))
    point = money_figures(
        effect.bed_days_avoided_per_stay.value,
        effect.readmissions_avoided_per_stay.value if effect.readmissions_avoided_per_stay else 0.0,
        effect.comparison_rmst_days.value,
        ps.values(),
    )
    assert s.net_value_nok.value == pytest.approx(float(point.net_value_nok))


def test_cash_releasing_only_when_beds_are_closed() -> None:
    effect = constant_did_effect()
    capacity = estimate_savings(effect, parameter_set())
    assert any("It is not cash" in a for a in capacity.assumptions)
    with pytest.raises(InvalidParameter, match="beds_closed"):
        parameter_set(dict(HAND_VALUES, beds_closed_count=2.0))
    cash = estimate_savings(
        effect,
        parameter_set(
            dict(HAND_VALUES, beds_closed_count=2.0),
            beds_closed=True,
            beds_closed_note="city council case 2027/12",
        ),
    )
    assert cash.savings_kind == "cash-releasing"
    assert any("city council case 2027/12" in a for a in cash.assumptions)
    assert cash.safe_cash_effect_nok.value > 0


def test_assumptions_show_the_scale_and_unconfirmed_parameters() -> None:
    s = estimate_savings(constant_did_effect(), default_parameters())
    text = s.explain()
    assert "3,600 stays a year" in text
    assert "UNCONFIRMED" in text and "cost_per_bed_day_nok" in text
    assert "R-109/2021" in text and "NOK of 2026" in text


def test_readmissions_not_valued_when_not_estimable() -> None:
    records = concatenate(
        [
            make_records([8, 10, 12, 14, 16], readmitted=[None] * 5, prefix="i"),
            make_records([10, 12, 14, 16, 18], arm="comparison", readmitted=[None] * 5, prefix="c"),
        ]
    )
    effect = estimate_effect(records, stratify_by=(), n_resamples=100, seed=1)
    s = estimate_savings(effect, parameter_set())
    assert s.readmissions_avoided_per_year.value == 0.0
    assert any("Readmissions are not valued" in a for a in s.assumptions)
