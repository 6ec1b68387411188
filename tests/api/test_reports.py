"""The savings report over HTTP: the published report computed once per data version and
served from memory, scenarios recomputed on request, the language chosen by the caller, and
the honest "not estimable" state.

Two tenants with a year of evaluation stays (tests/fixtures/dashboard_seed.py): ``fin-a``,
whose walkers were used, so the effect is estimable; ``fin-b``, whose evaluation walkers sent
nothing, so there is no programme stay and no effect.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow

from analytics.stays.cohorts import Design
from stayactive import db
from stayactive.api.serve import RunningApi
from stayactive.reports.savings_store import choose_design
from stayactive.settings import Settings
from tests.api.conftest import PASSWORD
from tests.fixtures.dashboard_seed import FIRST_FRAMES, seed_dashboard_tenant
from tests.fixtures.served import served_schema


@dataclass
class FinanceWorld:
    settings: Settings
    api: RunningApi
    api_keys: dict[str, str]
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, username: str) -> httpx.Client:
        """A client logged in as ``username``, an integrator by its API key (closed with the
        world)."""
        if username in self.api_keys:
            client = httpx.Client(
                base_url=self.api.url + "/api/v1",
                timeout=120,
                headers={"X-API-Key": self.api_keys[username]},
            )
            self.clients.append(client)
            return client
        with httpx.Client(base_url=self.api.url, timeout=60) as c:
            r = c.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
        client = httpx.Client(
            base_url=self.api.url + "/api/v1",
            timeout=120,
            headers={"Authorization": f"Bearer {token}"},
        )
        self.clients.append(client)
        return client


@pytest.fixture(scope="module")
def finance_world(settings: Settings, password_hash: str) -> Iterator[FinanceWorld]:
    def seed(conn: psycopg.Connection[TupleRow]) -> dict[str, str]:
        a = seed_dashboard_tenant(conn, "fin-a", password_hash=password_hash, wards=1)
        b = seed_dashboard_tenant(
            conn, "fin-b", password_hash=password_hash, wards=1, evaluation_walkers_used=False
        )
        return {**a.seeded.api_keys, **b.seeded.api_keys}

    with served_schema(settings, seed, api_alerts_interval_s=0) as served:
        world = FinanceWorld(served.settings, served.api, served.seeded)
        try:
            yield world
        finally:
            for client in world.clients:
                client.close()


def _timed_get(client: httpx.Client, path: str, **params: Any) -> tuple[httpx.Response, float]:
    t0 = time.perf_counter()
    r = client.get(path, params=params)
    return r, time.perf_counter() - t0


def _cached_reads(world: FinanceWorld, tenant: str) -> list[bool]:
    with db.connect(world.settings) as conn:
        rows = conn.execute(
            """SELECT coalesce((detail->>'cached')::boolean, false) FROM audit_log
               WHERE tenant_id = %s AND action = 'report.savings' ORDER BY audit_id""",
            (tenant,),
        ).fetchall()
    return [bool(r[0]) for r in rows]


def test_published_report_is_computed_once_per_data_version(
    finance_world: FinanceWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    finance = finance_world.client("fin-a-finance")
    first, first_s = _timed_get(finance, "/reports/savings")
    assert first.status_code == 200, first.text
    assert first.headers["Cache-Status"] == "stayactive-api; fwd=miss; stored"
    report = first.json()
    assert report["n_resamples"] == 10_000 and report["status"] == "complete"
    head = report["headline"]
    assert head["bed_days_freed"]["value"] > 0 and head["bed_days_freed"]["low"] is not None
    assert head["capacity_value"]["text"].endswith("kr)")  # "… mill. kr/år (95 % KI … kr)"
    assert head["sentence"].startswith("Verdi av frigjort kapasitet")
    assert 0 <= head["probability_net_negative"] <= 1
    again, again_s = _timed_get(finance, "/reports/savings")
    assert again.headers["Cache-Status"] == "stayactive-api; hit"
    assert again.json()["generated_at"] == report["generated_at"]
    assert again_s < first_s
    # Both reads are in the audit log; the second says it came from memory.
    assert _cached_reads(finance_world, "fin-a")[-2:] == [False, True]
    # Files come from the same report.
    pdf = finance.get("/reports/savings", params={"format": "pdf"})
    assert pdf.headers["Cache-Status"] == "stayactive-api; hit" and pdf.content[:4] == b"%PDF"
    # English is a report of its own.
    english = finance.get("/reports/savings", params={"lang": "en"})
    assert english.headers["Cache-Status"] == "stayactive-api; fwd=miss; stored"
    assert english.json()["headline"]["sentence"].startswith("Value of freed capacity")
    # A new design choice is new data: the next read computes again.
    with db.connect(finance_world.settings) as conn:
        choose_design(
            conn, "fin-a", Design.DIFFERENCE_IN_DIFFERENCES, chosen_by="test",
            reason="chosen again",
        )  # fmt: skip
        conn.commit()
    changed = finance.get("/reports/savings")
    assert changed.headers["Cache-Status"] == "stayactive-api; fwd=miss; stored"
    with capsys.disabled():
        print(
            f"\npublished savings report (10,000 resamples, "
            f"{report['tables']['flow']['rows'][0]['opphold']['text']} in the evaluation): "
            f"computed {first_s:.2f} s, from memory {again_s * 1000:.0f} ms"
        )


def test_scenario_recomputes_with_the_readers_values(finance_world: FinanceWorld) -> None:
    finance = finance_world.client("fin-a-finance")
    published = finance.get("/reports/savings").json()
    same = finance.post("/reports/savings/scenario", json={})
    assert same.status_code == 200, same.text
    base = same.json()
    assert base["n_resamples"] == 1_000 and base["draft"]
    assert any("1000 bootstrap" in r for r in base["draft_reasons"])
    # The point figures do not depend on the resamples.
    for name in ("bed_days_freed", "capacity_value", "net_value"):
        assert base["headline"][name]["value"] == pytest.approx(
            published["headline"][name]["value"], rel=1e-9
        )
    params = {p["label"]: p["verdi"]["value"] for p in published["tables"]["parameters"]["rows"]}
    cost = params["kostnad per liggedøgn"]
    uptake = params["andel av oppholdene i programmet"]
    t0 = time.perf_counter()
    r = finance.post(
        "/reports/savings/scenario",
        json={
            "overrides": {
                "cost_per_bed_day_nok": 2 * cost,
                "uptake_share": 0.75,
                "variable_cost_share": 0.3,
            },
            "effect_share": 0.5,
        },
    )
    scenario_s = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Status"] == "stayactive-api; fwd=bypass"
    s = r.json()
    assert s["parameter_version"].endswith(" + scenario")
    assert "scenario: 50\u00a0% av den målte effekten" in s["draft_reasons"]
    # Where a changed value comes from, with its unit: "75 % i stedet for 50 %".
    sources = {p["label"]: p["kilde"] for p in s["tables"]["parameters"]["rows"]}
    said = sources["andel av oppholdene i programmet"]
    assert said.startswith("Scenario (ikke lagret): 75\u00a0% i stedet for "), said
    # Bed-days scale with effect x uptake; their value with the cost per bed-day too.
    ratio = 0.5 * 0.75 / uptake
    b0, b1 = base["headline"]["bed_days_freed"]["value"], s["headline"]["bed_days_freed"]["value"]
    assert b1 == pytest.approx(ratio * b0, rel=1e-9)
    c0, c1 = base["headline"]["capacity_value"]["value"], s["headline"]["capacity_value"]["value"]
    assert c1 == pytest.approx(2 * ratio * c0, rel=1e-9)
    assert scenario_s < 10, f"a scenario took {scenario_s:.1f} s"
    # No effect at all: nothing freed, and the programme cost is a certain loss.
    none = finance.post("/reports/savings/scenario", json={"effect_share": 0}).json()["headline"]
    assert none["bed_days_freed"]["value"] == 0 and none["probability_net_negative"] == 1.0
    # The scenario as a file, in English.
    csv = finance.post(
        "/reports/savings/scenario", params={"format": "csv", "lang": "en"},
        json={"effect_share": 0.5},
    )  # fmt: skip
    assert csv.status_code == 200 and "scenario: 50% of the measured effect" in csv.text


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"overrides": {"cost_per_bed_day": 3000}}, "unknown parameter 'cost_per_bed_day'; known:"),
        ({"overrides": {"uptake_share": 1.5}}, "uptake_share must be a share between 0 and 1"),
        ({"effect_share": 3}, "effect_share"),
        ({"resamples": 10_000}, "resamples"),
        ({"overrides": {}, "colour": "blue"}, "colour"),
    ],
)
def test_scenario_refuses_what_is_not_a_scenario(
    finance_world: FinanceWorld, body: dict[str, Any], detail: str
) -> None:
    r = finance_world.client("fin-a-finance").post("/reports/savings/scenario", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert detail in r.json()["detail"]


@pytest.mark.parametrize("path", ["/reports/savings", "/reports/open-data", "/reports/curves"])
def test_as_of_outside_2000_to_today_is_refused(finance_world: FinanceWorld, path: str) -> None:
    """The range the command line keeps to as well (stayactive.reports.as_of)."""
    client = finance_world.client("fin-a-finance")
    for as_of in ((date.today() + timedelta(days=30)).isoformat(), "1999-12-31"):
        r = client.get(path, params={"as_of": as_of})
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == f"as_of {as_of} is out of range (2000-01-01 to today)"


def test_scenario_is_for_finance_and_admin_only(finance_world: FinanceWorld) -> None:
    for user in ("fin-a-care", "fin-a-integrator"):
        r = finance_world.client(user).post("/reports/savings/scenario", json={})
        assert r.status_code == 403, (user, r.text)
    assert finance_world.client("fin-a-admin").post("/reports/savings/scenario", json={}).is_success


def test_not_estimable_is_said_plainly(finance_world: FinanceWorld) -> None:
    """fin-b's evaluation walkers never sent data: no programme stays, so no effect; the
    report says why in the reader's language, with the descriptive tables and no headline."""
    finance = finance_world.client("fin-b-finance")
    nb = finance.get("/reports/savings").json()
    assert nb["status"] == "no effect estimate" and nb["headline"] is None and nb["draft"]
    assert nb["messages"][0].startswith("Effekten kan ikke beregnes: gruppen «avdelinger med ")
    assert "group" not in nb["messages"][0]
    assert "readmission" in nb["tables"] and "money" not in nb["tables"]
    en = finance.get("/reports/savings", params={"lang": "en"}).json()
    assert en["messages"][0].startswith("Not enough data for an effect estimate")


def test_telemetry_that_decides_programme_stays_gives_a_new_report(
    finance_world: FinanceWorld,
) -> None:
    """Whether a stay is a programme stay rests on its walker's frames in its first 72 hours;
    frames that arrive late (a walker uploading its backlog) must give a new report, not the
    one computed before they came. Here fin-a's evaluation frames go and come back."""
    finance = finance_world.client("fin-a-finance")
    before = finance.get("/reports/savings").json()
    assert before["status"] == "complete"
    assert finance.get("/reports/savings").headers["Cache-Status"] == "stayactive-api; hit"
    evaluation_frames = (
        "FROM walker_frames WHERE tenant_id = 'fin-a' AND boot = 1 "
        "AND device_id LIKE 'walker-eval-%'"
    )
    with db.connect(finance_world.settings) as conn:
        row = conn.execute(f"SELECT count(*) {evaluation_frames}").fetchone()
        assert row is not None and row[0] > 50
        conn.execute(f"DELETE {evaluation_frames}")
        conn.commit()
    try:
        without = finance.get("/reports/savings")
        assert without.headers["Cache-Status"] == "stayactive-api; fwd=miss; stored"
        assert without.json()["status"] == "no effect estimate"
    finally:
        with db.connect(finance_world.settings) as conn:
            conn.execute(FIRST_FRAMES, ("fin-a",))  # the same frames again, as if uploaded now
            conn.commit()
    again = finance.get("/reports/savings")
    assert again.json()["status"] == "complete"
    assert again.json()["headline"] == before["headline"]


def test_open_data_json_gives_numbers_as_numbers_and_suppressed_cells_as_null(
    finance_world: FinanceWorld,
) -> None:
    finance = finance_world.client("fin-a-finance")
    body = finance.get("/reports/open-data").json()
    text = list(csv.DictReader(io.StringIO(finance.get("/reports/open-data?format=csv").text)))
    assert len(body["rows"]) == len(text) > 2
    for row, line in zip(body["rows"], text, strict=True):
        assert isinstance(row["complete_month"], bool)
        for name in ("stays_admitted", "stays_discharged", "bed_days", "mean_daily_steps"):
            assert row[name] is None if line[name] == "" else row[name] == int(line[name])
        for name in ("median_los_days", "readmission_rate_30d"):
            assert row[name] is None if line[name] == "" else row[name] == float(line[name])
    total = body["rows"][-1]
    assert total["month"] == "total" and isinstance(total["stays_admitted"], int)
    assert any(v is None for r in body["rows"] for v in r.values())  # some cell is suppressed
