"""First contact: log in, /me, ward overview and resident days for a care-staff user."""

from __future__ import annotations

from datetime import date, timedelta

from tests.api.conftest import World


def test_care_staff_reads_own_ward(api_world: World, audit_rows) -> None:  # type: ignore[no-untyped-def]
    care = api_world.client("tenant-a-care")
    me = care.get("/me").json()
    ward = api_world.a.ward_ids[0]
    assert me["role"] == "care_staff" and [w["ward_id"] for w in me["wards"]] == [ward]
    r = care.get(f"/wards/{ward}/overview")
    assert r.status_code == 200, r.text
    body = r.json()
    assert {x["resident_id"] for x in body["residents"]} == set(api_world.a.residents_by_ward[ward])
    row = body["residents"][0]
    assert len(row["series"]) == 7
    resident = api_world.a.residents_by_ward[ward][0]
    today = date.today()
    r = care.get(
        f"/residents/{resident}/days",
        params={"from": (today - timedelta(days=10)).isoformat(), "to": today.isoformat()},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["days"]) == 11
    assert len(audit_rows(subject_id=str(resident), actor="tenant-a-care")) == 2
