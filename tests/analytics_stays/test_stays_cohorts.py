"""Designs, strata and the balance table."""

from __future__ import annotations

import math

import pytest

from analytics.stays import (
    Design,
    InsufficientData,
    StayRecords,
    balance_table,
    concatenate,
    select_cohorts,
    stratum_labels,
)
from tests.analytics_stays.stays_factories import make_records


def four_groups() -> StayRecords:
    return concatenate(
        [
            make_records([10] * 5, arm="intervention", period="after", prefix="ia"),
            make_records([14] * 4, arm="intervention", period="before", prefix="ib"),
            make_records([16] * 3, arm="comparison", period="after", prefix="ca"),
            make_records([18] * 2, arm="comparison", period="before", prefix="cb"),
        ]
    )


def test_design_inference_and_groups() -> None:
    records = four_groups()
    concurrent = select_cohorts(records)
    assert concurrent.design is Design.CONCURRENT
    assert [g.name for g in concurrent.groups] == ["intervention/after", "comparison/after"]
    assert [len(g.records) for g in concurrent.groups] == [5, 3]
    assert concurrent.n_not_used == 6
    assert "Concurrent" in concurrent.description
    assert any("spill-over" in a for a in concurrent.assumptions)

    historical = select_cohorts(records, "historical")
    assert [g.name for g in historical.groups] == ["intervention/after", "intervention/before"]
    assert any("secular trend" in a for a in historical.assumptions)

    did = select_cohorts(records, Design.DIFFERENCE_IN_DIFFERENCES)
    assert [len(g.records) for g in did.groups] == [5, 4, 3, 2]
    assert did.counterfactual_weights == (1.0, 1.0, -1.0)
    assert did.n_not_used == 0
    for words in ("Parallel trends", "spill-over", "Stable case-mix", "Consent selection"):
        assert any(words in a for a in did.assumptions), words


def test_historical_is_inferred_without_comparison_wards() -> None:
    records = concatenate(
        [
            make_records([10] * 5, period="after", prefix="a"),
            make_records([12] * 5, period="before", prefix="b"),
        ]
    )
    assert select_cohorts(records).design is Design.HISTORICAL


def test_no_comparison_group_at_all() -> None:
    with pytest.raises(InsufficientData, match="comparison group"):
        select_cohorts(make_records([10] * 5))
    with pytest.raises(InsufficientData):
        select_cohorts(make_records([]))
    with pytest.raises(ValueError):
        select_cohorts(make_records([1.0]), "randomised")


def test_stratum_labels() -> None:
    r = make_records([1, 2], age_band=["90+", "67-79"], stay_type=["18", "20"])
    assert stratum_labels(r, ("age_band", "stay_type")).tolist() == [
        "age_band=90+ | stay_type=18",
        "age_band=67-79 | stay_type=20",
    ]
    assert stratum_labels(r, ()).tolist() == ["all stays", "all stays"]
    with pytest.raises(ValueError, match="cannot stratify"):
        stratum_labels(r, ("ward",))
    with pytest.raises(ValueError, match="repeats"):
        stratum_labels(r, ("age_band", "age_band"))


def test_balance_table_counts_shares_and_standardised_differences() -> None:
    records = concatenate(
        [
            make_records([10] * 4, age_band=["90+", "90+", "80-89", "80-89"], prefix="i"),
            make_records(
                [10] * 4, arm="comparison", age_band=["90+", "80-89", "80-89", "80-89"], prefix="c"
            ),
        ]
    )
    table = balance_table(select_cohorts(records))
    assert table.groups == ("intervention/after", "comparison/after")
    assert table.n == (4, 4)
    row = next(r for r in table.rows if r.covariate == "age_band" and r.level == "90+")
    assert row.counts == (2, 1)
    assert row.shares == (0.5, 0.25)
    # (0.5 - 0.25) / sqrt((0.25 + 0.1875) / 2)
    assert row.standardised_differences[0] == pytest.approx(0.25 / math.sqrt(0.21875))
    empty = next(r for r in table.rows if r.covariate == "age_band" and r.level == "67-79")
    assert empty.standardised_differences == (0.0,)
    assert table.max_abs_standardised_difference() == pytest.approx(0.25 / math.sqrt(0.21875))
    assert {r.covariate for r in table.rows} == {"age_band", "stay_type", "mobility_band"}
    assert len(table.rows) == 3 + 3 + 4
