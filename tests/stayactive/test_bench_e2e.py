"""The end-to-end analytics benchmark stores every simulated day it says it stores.

Each simulated day is a new firmware run; with one boot for all of them, the second day's
(boot, seq) were key conflicts and ingest kept only the first day's, so the benchmark computed
mostly empty "heavy" days without noticing.
"""

from __future__ import annotations

import pytest
from psycopg import sql

from stayactive import db
from stayactive.settings import Settings
from stayactive.tools.bench import analytics_e2e
from stayactive.tools.bench.analytics import BenchConfig, simulated_days
from stayactive.tools.bench.analytics_e2e import SCHEMA, EndToEndConfig


def test_every_simulated_day_is_stored_and_computed(settings: Settings) -> None:
    config = EndToEndConfig(days=4, distinct_days=2, walking_min=3.0, keep=True)
    try:
        figures = analytics_e2e.run(settings, config, progress=lambda _line: None)
        with db.connect(settings.model_copy(update={"database_schema": SCHEMA})) as conn:
            rejects = conn.execute("SELECT count(*) FROM ingest_rejects").fetchone()
            walking = conn.execute(
                "SELECT day, walking_min FROM resident_days ORDER BY day"
            ).fetchall()
    finally:
        with db.connect(settings, schema="public", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    assert figures["end_to_end_days"] == 4
    assert rejects == (0,)
    # Every resident-day (the two simulated and their copies) has the walking the simulator
    # planned for it. The plan is about three minutes, more on some dates (the simulated days
    # change with the date: 5.8 min planned and measured for 2026-11-23), so each day is held
    # to its own plan; the detector counts a bout's turns and pauses as walking too (about
    # 4 % under the plan, measured on 2026-12-01/02 and 2026-11-22).
    assert len(walking) == 4
    planned = [
        walked_s / 60.0
        for _day, _signals, walked_s in simulated_days(
            BenchConfig(days=2, walking_min=3.0, seed=config.seed), first_day=walking[0][0]
        )
    ]
    expected = [planned[0], planned[1], planned[0], planned[1]]
    assert all(
        w is not None and w == pytest.approx(p, rel=0.15)
        for (_day, w), p in zip(walking, expected, strict=True)
    ), (walking, expected)
