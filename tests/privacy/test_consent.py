"""Consent is enforced: resident-level metrics only for days a care consent covers, computed by
the runner and shown by the API, with what was left out counted and said; open data only
for residents who have not withdrawn or refused their consent."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.rows import TupleRow

from analytics import runner as runner_module
from analytics.runner import AnalyticsRunner
from stayactive import registry
from stayactive.registry import NewDevice
from tests.fixtures.services import Schema
from tests.privacy import rows
from tests.privacy.conftest import World

pytestmark = pytest.mark.integration

OSLO = ZoneInfo("Europe/Oslo")


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), OSLO)


def test_runner_computes_only_days_under_care_consent(
    schema: Schema, conn: psycopg.Connection[TupleRow], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "SAFETY_LAG", timedelta(0))
    today = datetime.now(OSLO).date()
    days = [today - timedelta(days=k) for k in (4, 3, 2)]
    registry.ensure_tenant(conn, "oslo", "Oslo", "Europe/Oslo")
    ward = registry.ensure_ward(conn, "oslo", "Site", "Ward", date(2025, 1, 1)).ward_id
    registry.upsert_devices(conn, "oslo", [NewDevice("W-c-1", "walker", "SN-c-1", ward)])
    rid = registry.ensure_resident(conn, "oslo", "consent-test-01", 1940, "male")
    registry.assign_device(conn, "oslo", "W-c-1", rid, _noon(days[0]) - timedelta(hours=6), None)
    for day in days:
        for minute in range(0, 60, 10):
            rows.frame(conn, "oslo", "W-c-1", _noon(day) + timedelta(minutes=minute))
    # Care consent for the middle day only.
    conn.execute(
        """INSERT INTO consents (tenant_id, resident_id, purpose, valid)
           VALUES ('oslo', %s, 'care', tstzrange(%s, %s))""",
        (rid, datetime.combine(days[1], time(0), OSLO), datetime.combine(days[2], time(0), OSLO)),
    )
    lines: list[str] = []
    report = AnalyticsRunner(schema.settings, progress=lines.append).run_once()
    computed = [d for (d,) in conn.execute("SELECT day FROM resident_days ORDER BY day")]
    assert computed == [days[1]]
    assert report.computed == 1
    assert report.excluded_no_consent >= 2  # days[0], days[2] (and the later assigned days)
    assert any("no care consent" in line for line in lines)
    assert conn.execute("SELECT count(*) FROM analytics_dirty").fetchone() == (0,)
    # A consent recorded later covers the last day: its days are marked and computed.
    conn.execute(
        """INSERT INTO consents (tenant_id, resident_id, purpose, valid)
           VALUES ('oslo', %s, 'care', tstzrange(%s, %s))""",
        (rid, datetime.combine(days[2], time(0), OSLO), None),
    )
    again = AnalyticsRunner(schema.settings).run_once()
    assert days[2] in [d for (d,) in conn.execute("SELECT day FROM resident_days")]
    assert again.computed >= 1


def _consent_from(world: World, resident_id: int, start: datetime | None) -> None:
    """Replace the seeded care consent: from ``start`` on (None: none at all)."""
    with world.connect() as conn:
        conn.execute(
            "DELETE FROM consents WHERE resident_id = %s AND purpose = 'care'", (resident_id,)
        )
        if start is not None:
            conn.execute(
                """INSERT INTO consents (tenant_id, resident_id, purpose, valid)
                   VALUES ('tenant-a', %s, 'care', tstzrange(%s, NULL))""",
                (resident_id, start),
            )


def test_api_shows_resident_days_only_under_care_consent(world: World) -> None:
    ward = world.a.ward_ids[0]
    first, second, third = world.a.residents_by_ward[ward]
    today = datetime.now(OSLO).date()
    # The first resident consented five days ago; the second never did.
    _consent_from(world, first, datetime.combine(today - timedelta(days=4), time(0), OSLO))
    _consent_from(world, second, None)
    care = world.client("tenant-a-care")
    r = care.get(f"/residents/{first}/days", params={"from": str(today - timedelta(days=9)),
                                                     "to": str(today)})  # fmt: skip
    assert r.status_code == 200
    body = r.json()
    assert [d["date"] for d in body["days"]] == [
        str(today - timedelta(days=k)) for k in range(4, -1, -1)
    ]
    assert body["days_without_care_consent"] == 5
    # Bouts: nothing computed on a day without consent, and the answer says why.
    bouts = care.get(f"/residents/{first}/days/{today - timedelta(days=7)}/bouts").json()
    assert bouts["care_consent"] is False and bouts["bouts"] == []
    assert care.get(f"/residents/{first}/days/{today}/bouts").json()["care_consent"] is True
    # The ward overview leaves out the resident without consent and counts them.
    overview = care.get(f"/wards/{ward}/overview").json()
    shown = {row["resident_id"] for row in overview["residents"]}
    assert shown == {first, third}
    assert overview["residents_without_care_consent"] == 1
    # The resident list tells the dashboard each purpose's state.
    listed = {x["resident_id"]: x["consent"] for x in care.get("/residents").json()["items"]}
    assert listed[first]["care"] == "given" and listed[second]["care"] == "none"
    consents = care.get(f"/residents/{second}/consents").json()
    assert {c["purpose"]: c["status"] for c in consents} == {
        "care": "none", "evaluation": "none", "open_data": "none"
    }  # fmt: skip


def test_open_data_counts_only_residents_who_did_not_withdraw(world: World) -> None:
    """Open data counts stays of residents with an open-data consent that is not withdrawn;
    the stays left out are counted in the answer, never silently dropped."""
    admin = world.client("tenant-a-admin")
    finance = world.client("tenant-a-finance")
    residents = world.a.resident_ids
    for rid in residents:
        r = admin.post(
            f"/residents/{rid}/consents",
            json={"purpose": "open_data", "valid_from": "2020-01-01T00:00:00+00:00"},
        )
        assert r.status_code == 201, r.text
    before = finance.get("/reports/open-data").json()
    assert before["stays_without_consent"] == 0
    w = admin.post(f"/residents/{residents[0]}/consents/open_data/withdraw")
    assert w.status_code == 200 and w.json()["erased"] == {}
    after = finance.get("/reports/open-data").json()
    assert after["stays_without_consent"] == 1
    assert any("left out" in note and "withdrew" in note for note in after["notes"])
    with world.connect() as conn:
        n_stays = conn.execute("SELECT count(*) FROM stays WHERE tenant_id = 'tenant-a'").fetchone()
    assert n_stays == (len(residents),)
    # Recording an overlapping consent for the same purpose is refused.
    dup = admin.post(
        f"/residents/{residents[1]}/consents",
        json={"purpose": "open_data", "valid_from": "2021-01-01T00:00:00+00:00"},
    )
    assert dup.status_code == 409


def test_only_admins_change_consents(world: World) -> None:
    rid = world.a.resident_ids[0]
    for user in ("tenant-a-care", "tenant-a-finance", "tenant-a-integrator"):
        client = world.client(user)
        assert client.post(f"/residents/{rid}/consents/care/withdraw").status_code == 403
        r = client.post(
            f"/residents/{rid}/consents",
            json={"purpose": "care", "valid_from": datetime.now(UTC).isoformat()},
        )
        assert r.status_code == 403
