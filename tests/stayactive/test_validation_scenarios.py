"""Smoke test of the failure-scenario validation (the 100-seed run is a command, not a test)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from firmware_sim.world.evaluation import EvaluationScenario, simulate_evaluation
from stayactive.tools.validation._figures import coverage_interval
from stayactive.tools.validation.scenarios import (
    SCENARIOS,
    records_from_evaluation,
    run_scenarios,
    silent_misses,
)


def test_evaluation_world_is_censored_at_the_analysis_instant() -> None:
    scenario = next(s for s, _ in SCENARIOS if s.name == "new-comparison-ward")
    records = records_from_evaluation(simulate_evaluation(scenario, 0, effect=1.0))
    new = records.subset(records.ward == "new-ward")
    assert len(new) == 30 and np.all(new.los_days <= 21.0 + 1e-9)
    assert np.mean(~new.discharged) > 0.5  # mostly still going on
    assert set(records.period.tolist()) == {"before", "after"}
    assert np.all(records.follow_up_days >= records.los_days - 1e-9)


def test_a_new_comparison_ward_is_refused_and_the_historical_design_still_works() -> None:
    results, truths = run_scenarios([0], effect=1.0, n_resamples=200, names=["new-comparison-ward"])
    by_design = {r.design: r for r in results}
    for design in ("concurrent", "difference-in-differences"):
        assert by_design[design].n_estimated == 0 and by_design[design].flagged == 1.0
        assert by_design[design].passed()
    historical = by_design["historical"]
    assert historical.n_estimated == 1
    assert truths["new-comparison-ward"].bed_days_avoided_per_stay > 1.0


def test_a_silent_miss_is_an_interval_off_the_truth_that_nothing_flagged() -> None:
    rows = [
        ("trend", "historical", (3.0, 2.0, 4.0), False),  # missed, silent
        ("trend", "historical", (3.0, 2.0, 4.0), True),  # missed, flagged
        ("trend", "historical", (1.5, 0.5, 2.5), False),  # covered
        ("trend", "historical", None, True),  # refused: a flag
    ]
    assert silent_misses(rows, truth=1.0) == 1
    assert silent_misses(rows, truth=2.2) == 0  # inside both unflagged intervals


def test_coverage_interval_is_clopper_pearson() -> None:
    low, high = coverage_interval(90, 100)
    assert low == pytest.approx(0.8238, abs=1e-3) and high == pytest.approx(0.9510, abs=1e-3)


def test_long_stays_world_has_stays_beyond_the_horizon() -> None:
    scenario = EvaluationScenario("x", "", long_stay_share=0.2, effect_in_long_stays_only=True)
    sim = simulate_evaluation(scenario, 1, effect=1.0)
    assert np.mean(sim.los_days > 60) > 0.05 and sim.los_days.max() <= 151


@pytest.mark.slow
def test_cli_json_keeps_the_headline_and_adds_scenarios() -> None:
    from stayactive.cli import app

    result = CliRunner().invoke(
        app,
        ["validate", "savings", "--seeds", "2", "--stays-per-group", "200", "--resamples",
         "200", "--scenario", "new-comparison-ward", "--json"],
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("null_coverage", "effect_coverage", "effect_bias"):
        assert key in last
    rows = {(r["scenario"], r["design"]): r for r in last["scenarios"]}
    assert ("new-comparison-ward", "concurrent") in rows and (
        "money",
        "difference-in-differences",
    ) in rows
    for r in last["scenarios"]:
        assert {"coverage", "bias", "flagged", "silent_miss"} <= set(r)
        assert 0.0 <= r["silent_miss"] <= 1.0 - r["flagged"] + 1e-12
