"""The published savings report is computed ahead: the API computes it when it starts and again
when its data change, so a finance reader's first request is served from memory; the report
says when it was computed, and never passes an old data version off as the current one."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow

from analytics.stays.cohorts import Design
from stayactive import db
from stayactive.api.background import PRECOMPUTE_ACTOR, PRECOMPUTE_LANGUAGES
from stayactive.reports.savings_store import choose_design
from stayactive.settings import Settings
from tests.api.conftest import PASSWORD
from tests.fixtures.dashboard_seed import seed_dashboard_tenant
from tests.fixtures.served import Served, served_schema

pytestmark = pytest.mark.integration

TENANT = "pre-a"


@pytest.fixture
def precomputing(settings: Settings, password_hash: str) -> Iterator[Served[None]]:
    """A finance tenant with a year of evaluation stays, served with the reports computed
    ahead every half second."""

    def seed(conn: psycopg.Connection[TupleRow]) -> None:
        seed_dashboard_tenant(conn, TENANT, password_hash=password_hash, wards=1)

    with served_schema(
        settings, seed, api_alerts_interval_s=0, api_report_precompute_s=0.5
    ) as served:
        yield served


def _computed_ahead(served: Served[None]) -> list[str]:
    """The analysis times of the reports the API computed on its own, oldest first."""
    with db.connect(served.settings) as conn:
        rows = conn.execute(
            """SELECT detail->>'analysis_at' FROM audit_log
               WHERE tenant_id = %s AND action = 'report.savings' AND actor = %s
               ORDER BY audit_id""",
            (TENANT, PRECOMPUTE_ACTOR),
        ).fetchall()
    return [str(r[0]) for r in rows]


def _wait_for_ahead(served: Served[None], count: int, timeout_s: float = 120) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while len(made := _computed_ahead(served)) < count:
        assert time.monotonic() < deadline, f"{len(made)} of {count} reports computed ahead"
        time.sleep(0.25)
    return made


def _finance(served: Served[None]) -> httpx.Client:
    client = httpx.Client(base_url=served.api.url + "/api/v1", timeout=120)
    r = client.post("/auth/token", data={"username": f"{TENANT}-finance", "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = "Bearer " + r.json()["access_token"]
    return client


def _choose_design_again(served: Served[None]) -> None:
    """New data for the report: a design choice (a new data version)."""
    with db.connect(served.settings) as conn:
        choose_design(
            conn, TENANT, Design.DIFFERENCE_IN_DIFFERENCES, chosen_by="test", reason="again"
        )
        conn.commit()


def test_first_view_is_served_from_a_report_computed_ahead(
    precomputing: Served[None], capsys: pytest.CaptureFixture[str]
) -> None:
    served = precomputing
    # No reader has asked: the API computed the report in both languages as it started.
    ahead = _wait_for_ahead(served, len(PRECOMPUTE_LANGUAGES))
    finance = _finance(served)
    try:
        t0 = time.perf_counter()
        first = finance.get("/reports/savings")
        first_s = time.perf_counter() - t0
        assert first.status_code == 200, first.text
        assert first.headers["Cache-Status"] == "stayactive-api; hit"
        report = first.json()
        assert report["n_resamples"] == 10_000 and report["status"] == "complete"
        # Its stamp is when it was computed, not when it was read.
        assert report["analysis_at"] in ahead
        english = finance.get("/reports/savings", params={"lang": "en"})
        assert english.headers["Cache-Status"] == "stayactive-api; hit"
        assert english.json()["headline"]["sentence"].startswith("Value of freed capacity")
        # New data: the API computes the report of the new data version by itself.
        _choose_design_again(served)
        _wait_for_ahead(served, 2 * len(PRECOMPUTE_LANGUAGES))
        t0 = time.perf_counter()
        after = finance.get("/reports/savings")
        after_s = time.perf_counter() - t0
        assert after.headers["Cache-Status"] == "stayactive-api; hit"
        assert after.json()["generated_at"] > report["generated_at"]
        # A reader right after new data never gets the old version's figures: the request
        # computes the report, or waits for the computation ahead under way.
        _choose_design_again(served)
        t0 = time.perf_counter()
        during = finance.get("/reports/savings")
        during_s = time.perf_counter() - t0
        assert during.status_code == 200, during.text
        assert during.json()["generated_at"] > after.json()["generated_at"]
    finally:
        finance.close()
    with capsys.disabled():
        print(
            f"\nsavings report computed ahead: first view {first_s * 1000:.0f} ms (hit); "
            f"after new data, once computed ahead {after_s * 1000:.0f} ms (hit); "
            f"asked at once after new data {during_s:.2f} s ({during.headers['Cache-Status']})"
        )
