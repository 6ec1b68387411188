"""Accuracy against the simulator's truth on seeds not used while the algorithms were tuned.

The bounds are the product's targets (``docs/metrics.md``). The fast test runs three gait
speeds of one ward; the slow ones the full 0.2-1.0 m/s range on three wards, the CLI and the
benchmark's contract.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from stayactive.tools.bench import analytics as benchmark
from stayactive.tools.validation import analytics as validation


def _assert_bounds(report: validation.ValidationReport) -> None:
    failed = [f"{c.name}: {c.error:.4f} > {c.bound}" for c in report.checks if not c.passed]
    assert not failed, failed


def test_targets_on_a_fresh_ward_at_three_speeds() -> None:
    report = validation.validate([101], speeds_mps=(0.2, 0.6, 1.0), generic=False)
    assert report.resident_days == 3
    _assert_bounds(report)


@pytest.mark.slow
def test_targets_on_fresh_wards_across_speeds() -> None:
    report = validation.validate([201, 202, 203], generic=False)
    assert report.resident_days == 3 * len(validation.SPEEDS_MPS)
    _assert_bounds(report)
    # Stricter than the targets, to notice a regression long before a target is missed.
    errors = {c.name: c.error for c in report.checks}
    assert errors["steps"] < 0.01
    assert errors["bout_gait_speed"] < 0.02


def test_bout_matching_is_one_to_one() -> None:
    import numpy as np

    d, t = validation.match_bouts(
        np.array([0.0, 10.0, 30.0]), np.array([8.0, 20.0, 31.0]),
        np.array([0.5, 11.0]), np.array([8.5, 21.0]),
    )  # fmt: skip
    assert d.tolist() == [0, 1] and t.tolist() == [0, 1]


@pytest.mark.slow
def test_validate_command_prints_json_last() -> None:
    from stayactive.cli import app

    result = CliRunner().invoke(
        app, ["validate", "analytics", "--seeds", "1", "--first-seed", "301", "--json"]
    )
    assert result.exit_code == 0, result.output
    last = json.loads(result.output.strip().splitlines()[-1])
    assert set(last) >= {"steps", "cadence", "bout_gait_speed", "distance", "sit_to_stands"}
    assert all(v["passed"] for v in last.values())
    assert {"error", "bound", "passed"} == set(last["steps"])


@pytest.mark.slow
def test_benchmark_contract() -> None:
    figures = benchmark.run(benchmark.BenchConfig(days=2, walking_min=20.0, naive_samples=2000))
    for key in ("resident_days_per_s", "peak_rss_mb", "ratio_vs_naive", "processing_peak_mb"):
        assert figures[key] > 0
    assert figures["days"] == 2
