"""The independent review of the savings estimate (issue 13): each finding reproduced, then fixed.

Every test first shows the artefact the review measured, computed the old way, and then that
the estimator no longer produces it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from analytics.stays import (
    InsufficientData,
    StayRecords,
    complete_follow_up_weights,
    concatenate,
    estimate_effect,
    restricted_mean_los,
    stay_readmission_outcome,
)
from analytics.stays._km import follow_up_reach, km_layout, weighted_rmst
from tests.analytics_stays.stays_factories import make_records


def _programme_and_new_ward() -> StayRecords:
    rng = np.random.default_rng(4)
    programme = make_records(rng.gamma(2.0, 7.5, 200), prefix="i")
    # a comparison ward opened three weeks ago: 30 stays, all under 21 days, none discharged
    ongoing = np.sort(rng.uniform(0.5, 20.9, 30))
    new_ward = make_records(ongoing, arm="comparison", discharged=[False] * 30, prefix="c")
    return concatenate([programme, new_ward])


def test_a_comparison_of_ongoing_stays_only_was_held_flat_and_is_now_refused() -> None:
    records = _programme_and_new_ward()
    comparison = records.subset(records.arm == "comparison")
    programme = records.subset(records.arm == "intervention")
    # before: the curve held flat to day 60 gave ~45 bed-days "avoided" per stay
    flat = restricted_mean_los(
        comparison.los_days, comparison.discharged, beyond_follow_up="extend"
    )
    held_flat_effect = flat - restricted_mean_los(programme.los_days, programme.discharged)
    assert flat == pytest.approx(60.0)
    assert held_flat_effect > 40.0
    # after: the estimator refuses and names the group that is short of follow-up
    with pytest.raises(InsufficientData) as info:
        estimate_effect(records, n_resamples=200, seed=1)
    message = str(info.value)
    assert "comparison/after" in message and "30 stays, 30 still going on" in message
    assert "followed only to day" in message


def test_horizon_is_shortened_to_what_every_group_reaches() -> None:
    rng = np.random.default_rng(5)
    programme = make_records(rng.gamma(2.0, 7.5, 300), prefix="i")
    los = rng.gamma(2.0, 9.0, 300)
    # comparison followed for at most 45 days: longer stays are still going on at day 45
    comparison = make_records(
        np.minimum(los, 45.0), arm="comparison", discharged=list(los < 45.0), prefix="c"
    )
    e = estimate_effect(concatenate([programme, comparison]), n_resamples=200, seed=1)
    assert e.horizon_requested_days == 60.0
    assert e.horizon_days == 45.0  # the curve is known up to the censoring at day 45
    assert e.horizon_limited_by == "comparison/after"
    assert any("Horizon shortened from day 60" in n for n in e.notes)
    assert e.open_replicates == 0


def test_a_two_stay_cell_ending_on_an_ongoing_stay_no_longer_inflates_the_bootstrap() -> None:
    # the review's cell: one stay discharged after 15.8 days, one still going on after 5
    los, discharged = np.array([5.0, 15.8]), np.array([False, True])
    layout = km_layout(los, discharged, 60.0)
    point = float(weighted_rmst(layout, np.ones((1, 2)))[0])
    resamples = np.array(
        [np.bincount(d, minlength=2) for d in itertools.product(range(2), repeat=2)]
    )
    boot_mean = float(np.mean(weighted_rmst(layout, resamples.astype(float))))
    assert point == pytest.approx(15.8)
    assert boot_mean == pytest.approx(0.25 * 60 + 0.75 * 15.8)  # 26.85: the review's 26.7
    # such a cell is known only to day 5: the estimator never uses it on its own
    assert follow_up_reach(los, discharged) == 5.0
    rng = np.random.default_rng(6)
    big = [
        make_records(rng.gamma(2.0, 8.0, 120), stay_type="18", prefix="i"),
        make_records(rng.gamma(2.0, 9.0, 120), arm="comparison", stay_type="18", prefix="c"),
    ]
    sparse = make_records(
        los, arm="comparison", stay_type="20", discharged=list(discharged), prefix="x"
    )
    programme_20 = make_records(rng.gamma(2.0, 8.0, 12), stay_type="20", prefix="j")
    records = concatenate([*big, sparse, programme_20])
    e = estimate_effect(
        records, adjustment="stratification", stratify_by=("stay_type",), n_resamples=2000, seed=3
    )
    assert e.covariates_dropped == ("stay_type",)
    replicates = e.replicates.bed_days_avoided_per_stay
    shift = abs(float(np.mean(replicates)) - e.bed_days_avoided_per_stay.value)
    assert shift < 0.1 * float(np.std(replicates))
    assert e.open_replicates == 0
    assert e.n_resamples == 2000


def test_published_figures_use_ten_thousand_resamples_of_residents() -> None:
    rng = np.random.default_rng(8)
    records = concatenate(
        [
            make_records(rng.gamma(2.0, 8.0, 60), prefix="i"),
            make_records(rng.gamma(2.0, 9.0, 60), arm="comparison", prefix="c"),
        ]
    )
    e = estimate_effect(records)
    assert e.n_resamples == 10_000 and e.replicates.bed_days_avoided_per_stay.shape == (10_000,)
    assert e.resampling_unit == "residents"


def _follow_up_population(seed: int, n: int = 60_000) -> StayRecords:
    """Admissions uniform over a year, analysed at its end: recent stays are not complete."""
    rng = np.random.default_rng(seed)
    follow_up = rng.uniform(0.0, 365.0, n)
    los = rng.gamma(2.0, 10.0, n)
    home = rng.random(n) < 0.6
    readmit = rng.random(n) < 0.15
    discharged = los <= follow_up
    window_closed = follow_up >= los + 30.0
    return StayRecords.from_columns(
        stay_id=[f"s{i}" for i in range(n)],
        los_days=np.minimum(los, follow_up),
        discharged=discharged,
        destination=[
            ("home" if h else "long_term_care") if d else None
            for h, d in zip(home, discharged, strict=True)
        ],
        readmitted_30d=[
            bool(r) if d and h and c else None
            for r, d, h, c in zip(readmit, discharged, home, window_closed, strict=True)
        ],
        arm=["intervention"] * n,
        period=["after"] * n,
        age_band=["80-89"] * n,
        stay_type=["18"] * n,
        mobility_band=["unknown"] * n,
        follow_up_days=follow_up,
    )


def test_readmission_per_stay_is_no_longer_biased_by_follow_up() -> None:
    truth = 0.6 * 0.15  # discharged home and readmitted within 30 days, per stay
    old, new = [], []
    for seed in range(4):
        records = _follow_up_population(seed)
        known, readmitted = stay_readmission_outcome(records)  # the old per-stay outcome
        old.append(readmitted[known].mean())
        k, r, w = complete_follow_up_weights(records)
        new.append(np.sum(w * r) / np.sum(w * k))
    se = 0.0012 / 2  # binomial SE of one population (~0.0012) over four populations
    assert np.mean(old) - truth < -0.003  # the review: -0.0035 per stay
    assert abs(np.mean(new) - truth) < 3 * se
