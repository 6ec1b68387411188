"""End to end on the real services: simulator → broker → ingest → database → analytics → API →
dashboard.

One seeded world (two past days, one ward, three walkers and a robot) goes through the whole
pipeline three times, each time in a schema of its own with the processes run by
`stayactive run`:

1. clean: no duplicates, outages, reboots or faults. The steps and gait speed the API's ward
   overview gives for each resident, and the dashboard's ward overview shows in headless
   Chromium (the last day, ``?date=``), equal the analytics result, which matches the simulator's
   truth within the accuracy targets of docs/metrics.md (steps: mean absolute error ≤ 3 %;
   gait speed: within the bout-speed target, 0.05 m/s);
2. faulty: 5 % duplicates, three outages and two reboots per device-day, and one of each
   malformed message per device: the same figures for the clean data, and each malformed
   message rejected with its reason;
3. chaos: ingest killed with SIGKILL, the broker and the database restarted while the devices
   send: the same figures (ingest on a shared subscription, which the broker does not restore
   after a restart: the backend's end-to-end acknowledgement makes the devices replay what the
   broker dropped, docs/protocol.md "Delivery").
"""

from __future__ import annotations

import os
import signal
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from psycopg import sql

from firmware_sim import scenario as runner
from firmware_sim.device import DeviceBehaviour
from stayactive import db
from stayactive.services import mosquitto, paths_for, postgres
from stayactive.settings import Settings
from tests.e2e.pipeline import DayFigures, Pipeline
from tests.fixtures.streams import wait_until

pytestmark = pytest.mark.slow

CLEAN = DeviceBehaviour(duplicate_rate=0.0)
NO_IMPERFECTIONS = runner.Imperfections(outages_per_day=0.0, reboots_per_day=0.0)
#: docs/metrics.md, "Validation against the simulator": targets.
STEPS_MEAN_APE = 0.03
GAIT_SPEED_ERROR_MPS = 0.05


@pytest.fixture
def pipeline(
    settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Pipeline]:
    """A pipeline on a freshly migrated schema of its own (dropped afterwards)."""
    name = f"e2e_{request.node.name[5:25].replace('-', '_')}_{os.getpid()}"
    mine = settings.model_copy(update={"database_schema": name})
    db.migrate(mine)
    made = Pipeline(mine, tmp_path)
    try:
        yield made
    finally:
        made.close()
        with db.connect(settings, schema="public", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@dataclass(frozen=True)
class CleanRun:
    """What the clean run stored and computed."""

    figures: dict[tuple[str, date], DayFigures]
    frame_times: Counter[tuple[str, datetime]]


_clean: list[CleanRun] = []


def clean_run(settings: Settings, tmp_path: Path) -> CleanRun:
    """The clean run's frames and analytics result (run once, shared by the tests of this
    module)."""
    if not _clean:
        name = f"e2e_clean_{os.getpid()}"
        mine = settings.model_copy(update={"database_schema": name})
        db.migrate(mine)
        clean = Pipeline(mine, tmp_path / "clean")
        (tmp_path / "clean").mkdir()
        try:
            _run(clean, behaviour=CLEAN, imperfect=NO_IMPERFECTIONS)
            _clean.append(CleanRun(clean.analytics_days(), clean.frame_times()))
        finally:
            clean.close()
            with db.connect(settings, schema="public", autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    return _clean[0]


def _run(p: Pipeline, *, dashboard: bool = False, **send: object) -> None:
    p.provision()
    p.start(dashboard=dashboard)
    p.send(**send)  # type: ignore[arg-type]
    p.wait_stored()
    p.compute()


def test_clean_run_dashboard_equals_api_equals_analytics_equals_truth(
    pipeline: Pipeline, browser: object
) -> None:
    _run(pipeline, behaviour=CLEAN, imperfect=NO_IMPERFECTIONS, dashboard=True)
    analytics = pipeline.analytics_days()
    truth = pipeline.truth()
    assert analytics, "no resident-day computed"
    # A day the walker was on but nobody walked is 0 steps (not "no data"); the truth lists
    # only days with walking.
    walked = {k for k, f in analytics.items() if f.steps > 0}
    assert walked == set(truth), ("a resident-day with walking is missing, or extra",
                                  walked ^ set(truth))  # fmt: skip
    # The ward overview shows exactly what analytics computed, day by day.
    for day in sorted({d for _, d in analytics}):
        shown = pipeline.api_overview(day)
        computed = {p: f for (p, d), f in analytics.items() if d == day}
        assert set(shown) == set(computed)
        for who, figures in computed.items():
            assert shown[who].steps == figures.steps, (who, day)
            assert shown[who].gait_speed_mps == pytest.approx(figures.gait_speed_mps, abs=5e-3)
    # The dashboard's ward overview in the browser shows the same, for the last day: steps
    # exactly, gait speed as printed (two decimals).
    last = max(d for _, d in analytics)
    on_page = pipeline.dashboard_overview(browser, last)
    computed = {p: f for (p, d), f in analytics.items() if d == last}
    assert set(on_page) == set(computed), (on_page, computed)
    for who, figures in computed.items():
        assert on_page[who].steps == figures.steps, who
        if figures.steps == 0:  # the walker was on, nobody walked: no gait speed that day
            assert figures.gait_speed_mps is None  # (the page shows the latest one known)
            continue
        assert figures.gait_speed_mps is not None and on_page[who].gait_speed_mps is not None
        assert on_page[who].gait_speed_mps == pytest.approx(figures.gait_speed_mps, abs=5e-3)
    # …which matches the simulator's truth within the accuracy targets.
    errors = [abs(analytics[k].steps - t.steps) / t.steps for k, t in truth.items()]
    assert statistics.mean(errors) <= STEPS_MEAN_APE, errors
    for key, t in truth.items():
        measured = analytics[key].gait_speed_mps
        assert t.gait_speed_mps is not None and measured is not None, key
        assert abs(measured - t.gait_speed_mps) <= GAIT_SPEED_ERROR_MPS, (key, measured, t)
    assert pipeline.rejects() == {}
    assert "keeps crashing" not in pipeline.stop()


def test_duplicates_outages_reboots_and_malformed_messages_change_no_figure(
    pipeline: Pipeline, settings: Settings, tmp_path: Path
) -> None:
    clean = clean_run(settings, tmp_path)
    _run(
        pipeline, behaviour=DeviceBehaviour(duplicate_rate=0.05),
        imperfect=runner.Imperfections(outages_per_day=3.0, reboots_per_day=2.0),
        inject_faults=True,
    )  # fmt: skip
    stats = pipeline.stats
    assert stats is not None and stats.outages > 0 and stats.reboots > 0
    assert pipeline.pump_log.duplicates_sent > 0
    # The same samples at the same times: the imperfections change the delivery, not the data.
    assert pipeline.frame_times() == clean.frame_times
    faulty = pipeline.analytics_days()
    assert set(faulty) == set(clean.figures)
    for key, figures in clean.figures.items():
        assert faulty[key].steps == figures.steps, key
        assert faulty[key].gait_speed_mps == pytest.approx(figures.gait_speed_mps, abs=1e-3)
    # Every malformed message rejected with the reason the protocol gives it, and only those.
    wait_until(lambda: pipeline.rejects() == pipeline.injected, 30, "the rejects stored")
    assert sum(pipeline.injected.values()) >= 8 * 3  # each kind from every walker at least


def test_kill_9_of_ingest_and_broker_and_database_restarts_change_no_figure(
    pipeline: Pipeline, settings: Settings, tmp_path: Path
) -> None:
    clean = clean_run(settings, tmp_path)
    paths = paths_for(pipeline.settings)
    chaos: list[str] = []

    def meanwhile() -> None:
        ingest = pipeline.pid("ingest")
        assert ingest is not None
        os.kill(ingest, signal.SIGKILL)
        chaos.append("ingest killed")
        wait_until(lambda: pipeline.pid("ingest") not in (None, ingest), 30, "ingest restarted")
        mosquitto.stop(paths)
        mosquitto.start(paths, pipeline.settings)
        chaos.append("broker restarted")
        postgres.stop(paths)
        time.sleep(1.0)
        postgres.start(paths, pipeline.settings)
        chaos.append("database restarted")

    _run(pipeline, behaviour=CLEAN, imperfect=NO_IMPERFECTIONS, meanwhile=meanwhile)
    assert chaos == ["ingest killed", "broker restarted", "database restarted"]
    assert pipeline.frame_times() == clean.frame_times
    after = pipeline.analytics_days()
    assert set(after) == set(clean.figures)
    for key, figures in clean.figures.items():
        assert after[key].steps == figures.steps, key
        assert after[key].gait_speed_mps == pytest.approx(figures.gait_speed_mps, abs=1e-6)
    assert pipeline.rejects() == {}
