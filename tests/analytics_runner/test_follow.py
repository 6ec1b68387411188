"""Analytics in follow mode while the database is away: passes fail and are tried again, the
runner does not exit (a unit: the passes are stand-ins)."""

from __future__ import annotations

import psycopg
import pytest

from analytics.runner import AnalyticsRunner, RunReport
from stayactive.settings import Settings


def test_follow_tries_again_after_a_pass_the_database_interrupted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    passes: list[str] = []

    def run_once(**_kwargs: object) -> RunReport:
        passes.append("pass")
        if len(passes) < 3:
            raise psycopg.OperationalError("connection refused")
        return RunReport()

    runner = AnalyticsRunner(Settings())
    monkeypatch.setattr(runner, "run_once", run_once)
    runner.follow(lambda: len(passes) >= 3, interval_s=0.0)
    assert passes == ["pass"] * 3
    assert caplog.text.count("analytics pass interrupted (connection refused)") == 2


def test_follow_stops_on_an_error_that_is_not_the_database_being_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def run_once(**_kwargs: object) -> RunReport:
        raise ValueError("a defect")

    runner = AnalyticsRunner(Settings())
    monkeypatch.setattr(runner, "run_once", run_once)
    with pytest.raises(ValueError, match="a defect"):
        runner.follow(lambda: False, interval_s=0.0)
