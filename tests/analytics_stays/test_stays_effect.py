"""The effect estimator: known answers, the vectorised bootstrap statistic, edge cases."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from analytics.stays import (
    Design,
    InsufficientData,
    StayRecords,
    concatenate,
    difference_in_differences,
    estimate_effect,
    restricted_mean_los,
    stratum_labels,
)
from analytics.stays._statistic import EffectStatistic
from analytics.stays.records import COLUMNS
from tests.analytics_stays.stays_factories import make_records, synthetic_stays


def two_arms(intervention: list[float], comparison: list[float], **kwargs: Any) -> StayRecords:
    return concatenate(
        [
            make_records(intervention, arm="intervention", prefix="i", **kwargs),
            make_records(comparison, arm="comparison", prefix="c", **kwargs),
        ]
    )


def test_known_answer_unstratified_without_censoring() -> None:
    records = two_arms([8, 10, 12, 14, 16], [10, 12, 14, 16, 18])
    e = estimate_effect(records, stratify_by=(), n_resamples=200, seed=1)
    assert e.design is Design.CONCURRENT
    # no censoring and every stay shorter than the horizon: RMST = mean LOS
    assert e.intervention_rmst_days.value == pytest.approx(12.0)
    assert e.comparison_rmst_days.value == pytest.approx(14.0)
    assert e.bed_days_avoided_per_stay.value == pytest.approx(2.0)
    assert e.bed_days_avoided_per_stay.low <= 2.0 <= e.bed_days_avoided_per_stay.high
    assert e.readmissions_avoided_per_stay is not None
    assert e.readmissions_avoided_per_stay.value == 0.0
    assert e.ci_method == "percentile"
    assert e.replicates.bed_days_avoided_per_stay.shape == (200,)


def test_standardisation_to_the_intervention_case_mix() -> None:
    # stratum 18: intervention 30 x 10 days, comparison 10 x 14 days
    # stratum 19: intervention 10 x 30 days, comparison 30 x 40 days
    records = concatenate(
        [
            make_records([10] * 30 + [30] * 10, stay_type=["18"] * 30 + ["19"] * 10, prefix="i"),
            make_records(
                [14] * 10 + [40] * 30,
                arm="comparison",
                stay_type=["18"] * 10 + ["19"] * 30,
                prefix="c",
            ),
        ]
    )
    e = estimate_effect(
        records, adjustment="stratification", stratify_by=("stay_type",), n_resamples=300, seed=2
    )
    # weights 3/4 and 1/4: comparison 0.75*14 + 0.25*40 = 20.5; intervention 15
    assert e.comparison_rmst_days.value == pytest.approx(20.5)
    assert e.intervention_rmst_days.value == pytest.approx(15.0)
    assert e.bed_days_avoided_per_stay.value == pytest.approx(5.5)
    assert [s.weight for s in e.strata] == [0.75, 0.25]
    assert [s.counts for s in e.strata] == [(30, 10), (10, 30)]
    crude = estimate_effect(records, stratify_by=(), n_resamples=300, seed=2)
    assert crude.bed_days_avoided_per_stay.value == pytest.approx(33.5 - 15.0)
    # propensity weights on one covariate reproduce the standardisation (up to the ridge)
    weighted = estimate_effect(records, stratify_by=("stay_type",), n_resamples=300, seed=2)
    assert weighted.adjustment == "weighting"
    assert weighted.bed_days_avoided_per_stay.value == pytest.approx(5.5, abs=0.05)
    (balance,) = weighted.balance
    assert balance.max_abs_smd_before() > 1.0
    assert balance.max_abs_smd_after() < 0.01
    # the case-mix of the intervention arm varies between replicates, so does the estimate
    assert e.bed_days_avoided_per_stay.low < 5.5 < e.bed_days_avoided_per_stay.high


def test_difference_in_differences_known_answer() -> None:
    records = concatenate(
        [
            make_records([10] * 5, arm="intervention", period="after", prefix="ia"),
            make_records([14] * 5, arm="intervention", period="before", prefix="ib"),
            make_records([16] * 5, arm="comparison", period="after", prefix="ca"),
            make_records([18] * 5, arm="comparison", period="before", prefix="cb"),
        ]
    )
    e = difference_in_differences(records, n_resamples=100, seed=3)
    assert e.design is Design.DIFFERENCE_IN_DIFFERENCES
    # counterfactual = 14 + (16 - 18) = 12; avoided = 12 - 10
    assert e.comparison_rmst_days.value == pytest.approx(12.0)
    assert e.bed_days_avoided_per_stay.value == pytest.approx(2.0)
    assert (e.bed_days_avoided_per_stay.low, e.bed_days_avoided_per_stay.high) == pytest.approx(
        (2.0, 2.0)
    )
    assert [g.name for g in e.groups] == [
        "intervention/after",
        "intervention/before",
        "comparison/after",
        "comparison/before",
    ]
    text = e.explain()
    for words in ("difference-in-differences", "Parallel trends", "spill-over", "Consent"):
        assert words in text


def test_vectorised_statistic_equals_resamples_computed_one_by_one() -> None:
    records = synthetic_stays(300, effect_ratio=0.8, seed=5)
    target = records.subset((records.arm == "intervention") & (records.period == "after"))
    reference = records.subset(records.arm == "comparison")
    by = ("stay_type",)
    stat = EffectStatistic(
        [("t", target), ("r", reference)],
        counterfactual_weights=[1.0],
        covariates=by,
        adjustment="stratification",
        weighting="att",
        horizon_days=60.0,
    )
    rng = np.random.default_rng(11)
    boot = stat.draw(rng, 5)
    out = stat(boot)
    assert out.shape == (2 * 2 + 4, 5)
    t_lab, r_lab = stratum_labels(target, by), stratum_labels(reference, by)
    for b in range(5):
        t_idx = np.repeat(np.arange(len(target)), boot[0][b].astype(int))
        r_idx = np.repeat(np.arange(len(reference)), boot[1][b].astype(int))
        rmst_t = rmst_r = 0.0
        for stratum in stat.strata:
            drawn = t_idx[t_lab[t_idx] == stratum]
            weight = drawn.size / t_idx.size
            ref = r_idx[r_lab[r_idx] == stratum]
            rmst_r += weight * restricted_mean_los(
                reference.los_days[ref], reference.discharged[ref], beyond_follow_up="extend"
            )
            if drawn.size:
                rmst_t += weight * restricted_mean_los(
                    target.los_days[drawn], target.discharged[drawn], beyond_follow_up="extend"
                )
        assert out[0, b] == pytest.approx(rmst_t, abs=1e-10)
        assert out[1, b] == pytest.approx(rmst_r, abs=1e-10)
        assert out[6, b] == pytest.approx(rmst_r - rmst_t, abs=1e-10)


def test_bootstrap_resamples_residents_not_stays() -> None:
    records = synthetic_stays(200, effect_ratio=0.8, seed=5)
    # every resident has two stays
    residents = [f"r{i // 2}" for i in range(len(records))]
    paired = StayRecords(**{**{c: records.column(c) for c in COLUMNS}, "resident_id": residents})
    stat = EffectStatistic(
        [("all", paired), ("same", paired)],
        counterfactual_weights=[1.0],
        covariates=(),
        adjustment="weighting",
        weighting="att",
        horizon_days=60.0,
    )
    weights = stat.draw(np.random.default_rng(3), 50)[0]
    np.testing.assert_array_equal(weights[:, 0::2], weights[:, 1::2])
    assert weights.sum(axis=1) == pytest.approx(np.full(50, len(records)))


def test_intervals_are_percentiles_of_the_replicates_and_reproducible() -> None:
    records = synthetic_stays(400, effect_ratio=0.8, seed=7)
    a = estimate_effect(records, n_resamples=300, seed=42)
    b = estimate_effect(records, n_resamples=300, seed=42)
    c = estimate_effect(records, n_resamples=300, seed=43)
    np.testing.assert_array_equal(
        a.replicates.bed_days_avoided_per_stay, b.replicates.bed_days_avoided_per_stay
    )
    assert not np.array_equal(
        a.replicates.bed_days_avoided_per_stay, c.replicates.bed_days_avoided_per_stay
    )
    low, high = np.quantile(a.replicates.bed_days_avoided_per_stay, [0.025, 0.975])
    assert (a.bed_days_avoided_per_stay.low, a.bed_days_avoided_per_stay.high) == pytest.approx(
        (low, high), abs=1e-12
    )
    assert a.seed == 42
    assert estimate_effect(records, n_resamples=100).seed >= 0  # drawn and recorded


def test_too_few_stays_raise_insufficient_data() -> None:
    with pytest.raises(InsufficientData) as info:
        estimate_effect(two_arms([10, 11, 12], [10, 12, 14, 16, 18]), n_resamples=100)
    assert info.value.n_available == 3
    assert info.value.n_required == 5
    assert "intervention/after" in str(info.value)
    with pytest.raises(InsufficientData):
        estimate_effect(make_records([]), n_resamples=100)
    with pytest.raises(InsufficientData):
        estimate_effect(make_records([10] * 20), n_resamples=100)  # no comparison at all


def test_strata_without_comparison_stays_are_left_out_and_reported() -> None:
    records = concatenate(
        [
            make_records([10] * 12 + [20] * 3, stay_type=["18"] * 12 + ["20"] * 3, prefix="i"),
            make_records([12] * 12, arm="comparison", stay_type="18", prefix="c"),
        ]
    )
    e = estimate_effect(
        records, adjustment="stratification", stratify_by=("stay_type",), n_resamples=100, seed=1
    )
    assert e.n_intervention_unsupported == 3
    assert e.bed_days_avoided_per_stay.value == pytest.approx(2.0)
    assert any("3 of 15 intervention stays" in n for n in e.notes)
    # a stratum with fewer than 10 stays in some group is merged, and the note says which
    thin = concatenate(
        [
            make_records([10] * 3 + [20] * 12, stay_type=["18"] * 3 + ["20"] * 12, prefix="i"),
            make_records([12] * 12, arm="comparison", stay_type="18", prefix="c"),
        ]
    )
    merged = estimate_effect(
        thin, adjustment="stratification", stratify_by=("stay_type",), n_resamples=100
    )
    assert merged.stratify_by == () and merged.covariates_dropped == ("stay_type",)
    assert any("merged by dropping stay_type (cell intervention/after" in n for n in merged.notes)


def test_readmission_effect_not_estimable_without_follow_up() -> None:
    unknown = [math.nan] * 5
    records = two_arms([8, 10, 12, 14, 16], [10, 12, 14, 16, 18], follow_up_days=unknown)
    e = estimate_effect(records, stratify_by=(), n_resamples=100, seed=1)
    assert e.readmissions_avoided_per_stay is None
    assert e.intervention_readmission_risk is None
    assert np.all(e.replicates.readmissions_avoided_per_stay == 0.0)
    assert any("Readmission effect not estimable" in n for n in e.notes)
    assert "not estimable yet" in e.explain()
    known = two_arms([8, 10, 12, 14, 16], [10, 12, 14, 16, 18], follow_up_days=[90.0] * 5)
    assert estimate_effect(known, n_resamples=100, seed=1).readmissions_avoided_per_stay


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_resamples": 50}, "n_resamples"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": math.nan}, "horizon_days"),
        ({"confidence_level": 1.0}, "confidence_level"),
        ({"seed": -1}, "seed"),
        ({"stratify_by": ("ward",)}, "cannot stratify"),
        ({"adjustment": "matching"}, "adjustment"),
        ({"weighting": "ato"}, "weighting"),
        ({"design": "randomised"}, "randomised"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, object], message: str) -> None:
    records = two_arms([8, 10, 12, 14, 16], [10, 12, 14, 16, 18])
    with pytest.raises(ValueError, match=message):
        estimate_effect(records, **kwargs)  # type: ignore[arg-type]


def test_historical_design_on_synthetic_data_finds_the_effect() -> None:
    records = synthetic_stays(800, effect_ratio=0.7, seed=9, design="historical")
    e = estimate_effect(records, n_resamples=300, seed=9)
    assert e.design is Design.HISTORICAL
    assert e.bed_days_avoided_per_stay.low > 0
