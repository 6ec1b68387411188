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
    stay_readmission_outcome,
    stratum_labels,
)
from analytics.stays._statistic import StandardisedStatistic
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
    # stratum 18: intervention 6 x 10 days, comparison 2 x 14 days
    # stratum 19: intervention 2 x 30 days, comparison 6 x 40 days
    records = concatenate(
        [
            make_records([10] * 6 + [30] * 2, stay_type=["18"] * 6 + ["19"] * 2, prefix="i"),
            make_records(
                [14] * 2 + [40] * 6, arm="comparison", stay_type=["18"] * 2 + ["19"] * 6, prefix="c"
            ),
        ]
    )
    e = estimate_effect(records, stratify_by=("stay_type",), n_resamples=300, seed=2)
    # weights 6/8 and 2/8: comparison 0.75*14 + 0.25*40 = 20.5; intervention 15
    assert e.comparison_rmst_days.value == pytest.approx(20.5)
    assert e.intervention_rmst_days.value == pytest.approx(15.0)
    assert e.bed_days_avoided_per_stay.value == pytest.approx(5.5)
    assert [s.weight for s in e.strata] == [0.75, 0.25]
    assert [s.counts for s in e.strata] == [(6, 2), (2, 6)]
    crude = estimate_effect(records, stratify_by=(), n_resamples=300, seed=2)
    assert crude.bed_days_avoided_per_stay.value == pytest.approx(33.5 - 15.0)
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
    assert e.stratify_by == ()
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
    by = ("stay_type", "age_band")
    stat = StandardisedStatistic(
        target, [reference], counterfactual_weights=[1.0], stratify_by=by, horizon_days=60.0
    )
    rng = np.random.default_rng(11)
    batch = 5
    samples = [rng.integers(0, s.size, (batch, s.size)) for s in stat.samples]
    out = stat(*samples)
    assert out.shape == (2 * 2 + 4, batch)

    t_lab = stratum_labels(target, by)
    t_known, t_readm = stay_readmission_outcome(target)
    r_known, r_readm = stay_readmission_outcome(reference)
    assert stat.n_target_unsupported == 0
    for b in range(batch):
        idx = samples[0][b]
        rmst_t = rmst_r = risk_t = risk_r = 0.0
        for s, stratum in enumerate(stat.strata):
            drawn = idx[t_lab[idx] == stratum]
            weight = drawn.size / idx.size
            cell = stat._cells[1][s]
            ref_idx = cell.members if cell.sample is None else cell.members[samples[cell.sample][b]]
            rmst_r += weight * restricted_mean_los(
                reference.los_days[ref_idx],
                reference.discharged[ref_idx],
                beyond_follow_up="extend",
            )
            risk_r += weight * r_readm[ref_idx].sum() / r_known[ref_idx].sum()
            if drawn.size:
                rmst_t += weight * restricted_mean_los(
                    target.los_days[drawn], target.discharged[drawn], beyond_follow_up="extend"
                )
                risk_t += weight * t_readm[drawn].sum() / t_known[drawn].sum()
        assert out[0, b] == pytest.approx(rmst_t, abs=1e-10)
        assert out[1, b] == pytest.approx(rmst_r, abs=1e-10)
        assert out[2, b] == pytest.approx(risk_t, abs=1e-12)
        assert out[3, b] == pytest.approx(risk_r, abs=1e-12)
        assert out[6, b] == pytest.approx(rmst_r - rmst_t, abs=1e-10)
        assert out[7, b] == pytest.approx(risk_r - risk_t, abs=1e-12)


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
            make_records([10] * 6 + [20] * 3, stay_type=["18"] * 6 + ["20"] * 3, prefix="i"),
            make_records([12] * 6, arm="comparison", stay_type="18", prefix="c"),
        ]
    )
    e = estimate_effect(records, stratify_by=("stay_type",), n_resamples=100, seed=1)
    assert e.n_intervention_unsupported == 3
    assert e.bed_days_avoided_per_stay.value == pytest.approx(2.0)
    assert any("3 of 9 intervention stays" in n for n in e.notes)
    # when too little is left, the error says why
    thin = concatenate(
        [
            make_records([10] * 3 + [20] * 6, stay_type=["18"] * 3 + ["20"] * 6, prefix="i"),
            make_records([12] * 6, arm="comparison", stay_type="18", prefix="c"),
        ]
    )
    with pytest.raises(InsufficientData, match="stratify by fewer covariates"):
        estimate_effect(thin, stratify_by=("stay_type",), n_resamples=100)


def test_readmission_effect_not_estimable_without_outcomes() -> None:
    records = two_arms([8, 10, 12, 14, 16], [10, 12, 14, 16, 18], readmitted=[None] * 5)
    e = estimate_effect(records, stratify_by=(), n_resamples=100, seed=1)
    assert e.readmissions_avoided_per_stay is None
    assert e.intervention_readmission_risk is None
    assert np.all(e.replicates.readmissions_avoided_per_stay == 0.0)
    assert any("Readmission effect not estimable" in n for n in e.notes)
    assert "not estimable yet" in e.explain()


def test_censoring_before_the_horizon_is_reported() -> None:
    records = two_arms(
        [5, 8, 10, 12, 20],
        [6, 9, 11, 13, 25],
        discharged=[True, True, True, True, False],
        destination=["home"] * 4 + [None],
    )
    e = estimate_effect(records, stratify_by=(), n_resamples=100, seed=1)
    assert any("held flat to the horizon" in n for n in e.notes)


def test_readmission_fallback_is_reported() -> None:
    # comparison stratum 20 has one known and one unknown outcome: some resamples know none
    records = concatenate(
        [
            make_records([10] * 8, stay_type=["18"] * 6 + ["20"] * 2, prefix="i"),
            make_records(
                [12] * 8,
                arm="comparison",
                stay_type=["18"] * 6 + ["20"] * 2,
                readmitted=[False] * 7 + [None],
                prefix="c",
            ),
        ]
    )
    e = estimate_effect(records, stratify_by=("stay_type",), n_resamples=200, seed=1)
    assert any("pooled risk" in n for n in e.notes)
    assert e.readmissions_avoided_per_stay is not None
    assert np.isfinite(e.replicates.readmissions_avoided_per_stay).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_resamples": 50}, "n_resamples"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": math.nan}, "horizon_days"),
        ({"confidence_level": 1.0}, "confidence_level"),
        ({"seed": -1}, "seed"),
        ({"stratify_by": ("ward",)}, "cannot stratify"),
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
