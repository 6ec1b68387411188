"""Tornado and scenarios."""

from __future__ import annotations

import dataclasses

import pytest

from analytics.stays import (
    PARAMETER_UNITS,
    EffectEstimate,
    Parameter,
    default_parameters,
    estimate_effect,
    estimate_savings,
    input_ranges,
    scenarios,
    tornado,
)
from tests.analytics_stays.stays_factories import synthetic_stays


@pytest.fixture(scope="module")
def effect() -> EffectEstimate:
    return estimate_effect(synthetic_stays(600, effect_ratio=0.8, seed=4), n_resamples=300, seed=4)


def test_tornado_covers_the_core_inputs_and_is_sorted(effect: EffectEstimate) -> None:
    ps = default_parameters()
    t = tornado(effect, ps)
    names = [b.input.name for b in t.bars]
    for core in (
        "bed_days_avoided_per_stay",
        "readmissions_avoided_per_stay",
        "cost_per_bed_day_nok",
        "uptake_share",
        "device_cost_per_year_nok",
    ):
        assert core in names
    swings = [b.swing for b in t.bars]
    assert swings == sorted(swings, reverse=True)
    assert t.base_value == pytest.approx(estimate_savings(effect, ps).net_value_nok.value)
    stays = next(b for b in t.bars if b.input.name == "stays_per_year")
    assert stays.outcome_at_low < stays.outcome_at_high
    bed = next(b for b in t.bars if b.input.name == "bed_days_avoided_per_stay")
    assert (bed.input.low, bed.input.high) == (
        effect.bed_days_avoided_per_stay.low,
        effect.bed_days_avoided_per_stay.high,
    )
    assert bed.outcome_at_low < t.base_value < bed.outcome_at_high
    device = next(b for b in t.bars if b.input.name == "device_cost_per_year_nok")
    assert device.outcome_at_high < device.outcome_at_low  # dearer devices, less net value


def test_missing_range_falls_back_to_25_percent_and_says_so(effect: EffectEstimate) -> None:
    ps = default_parameters()
    no_range = Parameter(
        "device_cost_per_year_nok",
        20_000.0,
        PARAMETER_UNITS["device_cost_per_year_nok"],
        "test",
        ps.device_cost_per_year_nok.as_of,
    )
    ps = dataclasses.replace(ps, device_cost_per_year_nok=no_range)
    r = next(r for r in input_ranges(effect, ps) if r.name == "device_cost_per_year_nok")
    assert (r.low, r.high) == pytest.approx((15_000.0, 25_000.0))
    assert "no range given" in r.range_source


def test_other_outcomes_and_validation(effect: EffectEstimate) -> None:
    ps = default_parameters()
    bed_days = tornado(effect, ps, outcome="bed_days_freed_per_year")
    # stays are counted, not derived from the budget: the day cost moves NOK, not bed-days
    cost = next(b for b in bed_days.bars if b.input.name == "cost_per_bed_day_nok")
    assert cost.outcome_at_high == pytest.approx(cost.outcome_at_low)
    value = tornado(effect, ps, outcome="capacity_value_nok")
    cost = next(b for b in value.bars if b.input.name == "cost_per_bed_day_nok")
    assert cost.outcome_at_low < cost.outcome_at_high
    with pytest.raises(ValueError, match="outcome must be one of"):
        tornado(effect, ps, outcome="happiness")


def test_scenarios_bracket_the_base(effect: EffectEstimate) -> None:
    ps = default_parameters()
    low, base, high = scenarios(effect, ps)
    assert (low.name, base.name, high.name) == ("low", "base", "high")
    assert low.net_value_nok < base.net_value_nok < high.net_value_nok
    assert base.net_value_nok == pytest.approx(estimate_savings(effect, ps).net_value_nok.value)
    assert low.inputs["device_cost_per_year_nok"] == ps.device_cost_per_year_nok.high
    assert high.inputs["bed_days_avoided_per_stay"] == effect.bed_days_avoided_per_stay.high
    assert low.cash_effect_nok <= base.cash_effect_nok <= high.cash_effect_nok
