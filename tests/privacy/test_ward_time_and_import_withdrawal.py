"""Two findings of the security review of main.

* Care staff see a resident only within the resident's stays on their wards: a resident who
  moved to another ward shows the first ward's staff nothing of the new stay (days, FHIR
  observations, bouts, assignments, the list's wards and current stay).
* A care-record import that withdraws a care consent erases that consent's time, as the
  withdraw route does, and FHIR Observation serves only days a care consent covers.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.privacy.conftest import World

pytestmark = pytest.mark.integration

OSLO = ZoneInfo("Europe/Oslo")


def _mover(world: World) -> tuple[int, int, date]:
    """A resident of ward 2 given an earlier, ended stay on ward 1: (resident, ward 1, the day
    the ward-2 stay began)."""
    ward1, ward2 = world.a.ward_ids[:2]
    rid = world.a.residents_by_ward[ward2][0]
    with world.connect() as conn:
        row = conn.execute(
            "SELECT admitted_at FROM stays WHERE resident_id = %s AND discharged_at IS NULL",
            (rid,),
        ).fetchone()
        assert row is not None
        admitted: datetime = row[0]
        conn.execute(
            """INSERT INTO stays (tenant_id, resident_id, ward_id, admitted_at, discharged_at,
                                  stay_type, discharge_destination, external_ref)
               VALUES ('tenant-a', %s, %s, %s, %s, 18, 'home', 'KA-earlier')""",
            (rid, ward1, admitted - timedelta(days=30), admitted - timedelta(days=20)),
        )
    return rid, ward1, admitted.astimezone(OSLO).date()


def test_care_staff_see_only_the_time_of_stays_on_their_wards(world: World) -> None:
    rid, ward1, moved_on = _mover(world)
    today = datetime.now(OSLO).date()
    since = (today - timedelta(days=90)).isoformat()
    admin, care = world.client("tenant-a-admin"), world.client("tenant-a-care")
    days_query = {"from": since, "to": today.isoformat()}

    seen_by_admin = admin.get(f"/residents/{rid}/days", params=days_query).json()
    assert any(date.fromisoformat(d["date"]) >= moved_on for d in seen_by_admin["days"])
    r = care.get(f"/residents/{rid}/days", params=days_query)
    assert r.status_code == 200, r.text
    assert [d for d in r.json()["days"] if date.fromisoformat(d["date"]) >= moved_on] == []
    assert r.json()["days_outside_ward_scope"] >= (today - moved_on).days

    fhir = {"patient": f"Patient/{rid}", "date": [f"ge{since}", f"le{today}"]}
    assert admin.get("/fhir/Observation", params=fhir).json().get("entry")
    entries = care.get("/fhir/Observation", params=fhir).json().get("entry", [])
    assert [
        e for e in entries if e["resource"]["effectivePeriod"]["start"][:10] >= str(moved_on)
    ] == []

    later_day = max(date.fromisoformat(d["date"]) for d in seen_by_admin["days"])
    assert care.get(f"/residents/{rid}/days/{later_day}/bouts").status_code == 403
    assert admin.get(f"/residents/{rid}/days/{later_day}/bouts").status_code == 200

    assert admin.get("/assignments", params={"resident": rid}).json()["items"]
    assert care.get("/assignments", params={"resident": rid}).json()["items"] == []
    listed = [i for i in care.get("/residents").json()["items"] if i["resident_id"] == rid]
    assert [(i["ward_ids"], i["current_stay_id"]) for i in listed] == [([ward1], None)]


_HEADER = (
    "external_ref,resident,birth_year,sex,site,ward,admitted_at,discharged_at,stay_type,"
    "discharge_destination,consent_care\n"
)


def _stay_csv(admitted: date, consent: str) -> bytes:
    return (
        _HEADER + f"KX-1,R-priv-0001,1938,female,Sykehjem 1,Korttid 2,{admitted}T10:00:00+01:00,,"
        f"18,,{consent}\n"
    ).encode()


def test_import_withdrawing_care_consent_erases_its_days_and_fhir_follows_consent(
    world: World,
) -> None:
    today = datetime.now(OSLO).date()
    admitted = today - timedelta(days=10)
    integrator = world.client("tenant-a-integrator")
    csv = {"Content-Type": "text/csv"}
    r = integrator.post("/imports/stays", content=_stay_csv(admitted, "ja"), headers=csv)
    assert r.status_code == 200, r.text
    days = [today - timedelta(days=k) for k in (3, 2, 1)]
    uncovered = today - timedelta(days=20)  # before the stay: no consent covers it
    with world.connect() as conn:
        row = conn.execute(
            "SELECT resident_id FROM residents WHERE pseudonym = 'R-priv-0001'"
        ).fetchone()
        assert row is not None
        rid = int(row[0])
        donor = world.a.resident_ids[0]
        for day in [*days, uncovered]:
            # A computed day of the new resident: a seeded one's figures, renamed.
            conn.execute(
                """INSERT INTO resident_days SELECT (jsonb_populate_record(NULL::resident_days,
                       to_jsonb(d) || jsonb_build_object('resident_id', %s, 'day', %s))).*
                   FROM resident_days d WHERE d.resident_id = %s AND d.walker_data
                     AND d.steps_n IS NOT NULL LIMIT 1""",
                (rid, day, donor),
            )
    admin = world.client("tenant-a-admin")
    fhir = {"patient": f"Patient/{rid}", "date": [f"ge{uncovered}", f"le{today}"]}
    served = [
        e["resource"]["effectivePeriod"]["start"][:10]
        for e in admin.get("/fhir/Observation", params=fhir).json().get("entry", [])
    ]
    assert sorted(served) == [str(d) for d in days]  # not the day without consent

    r = integrator.post("/imports/stays", content=_stay_csv(admitted, "nei"), headers=csv)
    assert r.status_code == 200, r.text
    assert r.json()["consents_withdrawn"] == 1
    assert r.json()["erased"]["resident_days"] == 3
    with world.connect() as conn:
        left = [
            d
            for (d,) in conn.execute(
                "SELECT day FROM resident_days WHERE resident_id = %s ORDER BY day", (rid,)
            )
        ]
        audited = conn.execute(
            """SELECT detail->'erased'->>'resident_days' FROM audit_log
               WHERE action = 'consent.withdraw' AND subject_id = %s""",
            (str(rid),),
        ).fetchall()
    assert left == [uncovered]  # outside the withdrawn consent's time: not the import's to erase
    assert audited == [("3",)]
    assert admin.get("/fhir/Observation", params=fhir).json().get("entry", []) == []
