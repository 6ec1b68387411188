"""Audit rows: who, role, endpoint, resident, purpose, before the data leaves; no audit row,
no data."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from psycopg import sql

from tests.api.conftest import World


def test_every_resident_read_is_audited(api_world: World, audit_rows) -> None:  # type: ignore[no-untyped-def]
    care = api_world.client("tenant-a-care")
    ward = api_world.a.ward_ids[0]
    body = care.get(f"/wards/{ward}/overview").json()
    shown = {str(r["resident_id"]) for r in body["residents"]}
    rows = audit_rows(actor="tenant-a-care", endpoint="GET /api/v1/wards/{ward_id}/overview")
    assert {r[4] for r in rows} == shown
    assert all(r[1] == "care_staff" and r[3] == "resident" and r[5] == "care" for r in rows)


def test_a_read_fails_when_its_audit_row_cannot_be_written(api_world: World) -> None:
    care = api_world.client("tenant-a-care")
    resident = api_world.a.residents_by_ward[api_world.a.ward_ids[0]][0]
    today = date.today()
    params = {"from": (today - timedelta(days=3)).isoformat(), "to": today.isoformat()}
    assert care.get(f"/residents/{resident}/days", params=params).status_code == 200
    with api_world.connect() as conn:
        conn.execute("ALTER TABLE audit_log RENAME TO audit_log_away")
    try:
        r = care.get(f"/residents/{resident}/days", params=params)
        assert r.status_code == 503
        assert r.json()["type"].endswith("audit-unavailable")
        assert "days" not in r.json()
        overview = care.get(f"/wards/{api_world.a.ward_ids[0]}/overview")
        assert overview.status_code == 503 and "pseudonym" not in overview.text
    finally:
        with api_world.connect() as conn:
            conn.execute("ALTER TABLE audit_log_away RENAME TO audit_log")


def test_audit_log_by_resident_and_user(api_world: World) -> None:
    care = api_world.client("tenant-a-care")
    resident = api_world.a.residents_by_ward[api_world.a.ward_ids[0]][1]
    care.get(f"/residents/{resident}/stays")
    admin = api_world.client("tenant-a-admin")
    page = admin.get("/audit", params={"resident": resident}).json()
    assert page["total"] >= 1
    assert {e["actor"] for e in page["items"]} == {"tenant-a-care"}
    assert all(e["subject_id"] == str(resident) for e in page["items"])
    mine = admin.get("/audit", params={"user": "tenant-a-care"}).json()
    assert mine["total"] >= page["total"]
    too_long = admin.get("/audit", params={"from": "2024-01-01", "to": "2025-06-01"})
    assert too_long.status_code == 422 and "at most 366" in too_long.json()["detail"]
    # Tenant B's admin sees nothing of tenant A's log.
    other = api_world.client("tenant-b-admin").get("/audit", params={"resident": resident})
    assert other.json()["total"] == 0


def test_reading_the_audit_log_is_audited(api_world: World, audit_rows) -> None:  # type: ignore[no-untyped-def]
    """Who looked at a resident is the resident's data: GET /audit (by resident, by user) and
    GET /audit/flags write an access_log.read row per resident they show."""
    care = api_world.client("tenant-a-care")
    w1 = api_world.a.ward_ids[0]
    first, second = api_world.a.residents_by_ward[w1][:2]
    care.get(f"/residents/{first}/stays")
    care.get(f"/residents/{second}/stays")
    admin = api_world.client("tenant-a-admin")
    by_resident = admin.get("/audit", params={"resident": first})
    assert by_resident.status_code == 200
    # The answer does not list its own row.
    assert {e["action"] for e in by_resident.json()["items"]} == {"read"}
    rows = audit_rows(actor="tenant-a-admin", action="access_log.read")
    assert rows == [
        ("tenant-a-admin", "admin", "access_log.read", "resident", str(first), "administration",
         "GET /api/v1/audit"),
    ]  # fmt: skip
    by_user = admin.get("/audit", params={"user": "tenant-a-care"})
    assert by_user.status_code == 200
    shown = {e["subject_id"] for e in by_user.json()["items"] if e["subject_kind"] == "resident"}
    assert {str(first), str(second)} <= shown
    rows = audit_rows(actor="tenant-a-admin", action="access_log.read")
    assert {r[4] for r in rows[1:]} == shown
    flags = admin.get("/audit/flags")
    assert flags.status_code == 200
    flagged = {r for f in flags.json() for r in f["residents"]}
    read = audit_rows(
        actor="tenant-a-admin", action="access_log.read", endpoint="GET /api/v1/audit/flags"
    )
    expected = {("resident", r) for r in flagged} or {("audit_log", api_world.a.tenant_id)}
    assert {(r[3], r[4]) for r in read} == expected
    # The resident's own access log shows that the admin looked.
    log = admin.get(f"/audit/residents/{first}/access-log", params={"lang": "en"})
    assert "tenant-a-admin,admin,access_log.read,GET /api/v1/audit," in log.text


def test_reports_and_imports_answer_503_when_the_audit_row_is_refused(  # type: ignore[no-untyped-def]
    api_world: World, caplog
) -> None:
    """The api role may not insert audit rows: every route answers the same 503 problem (the
    reports and the import, which write their rows on a sync connection, as the reads do),
    with no data and no traceback in the log."""
    finance = api_world.client("tenant-a-finance")
    care = api_world.client("tenant-a-care")
    integrator = api_world.client("tenant-a-integrator")
    resident = api_world.a.residents_by_ward[api_world.a.ward_ids[0]][0]
    role = api_world.settings.database_api_role
    csv = (
        "external_ref,resident,birth_year,sex,site,ward,admitted_at,discharged_at,stay_type,"
        "discharge_destination\n"
        "S-503,R-503-0001,1939,female,Sykehjem 1,Korttid 1,2026-04-01T10:00:00+02:00,,18,\n"
    )
    assert finance.get("/reports/open-data").status_code == 200
    with api_world.connect() as conn:
        conn.execute(sql.SQL("REVOKE INSERT ON audit_log FROM {}").format(sql.Identifier(role)))
    try:
        answers = {
            "open-data": finance.get("/reports/open-data"),
            "stays": finance.get("/reports/stays"),
            "curves": finance.get("/reports/curves"),
            "savings": finance.get("/reports/savings", params={"format": "json"}),
            "import": integrator.post(
                "/imports/stays", content=csv.encode(), headers={"Content-Type": "text/csv"}
            ),
            "read": care.get(f"/residents/{resident}/stays"),
        }
    finally:
        with api_world.connect() as conn:
            conn.execute(sql.SQL("GRANT INSERT ON audit_log TO {}").format(sql.Identifier(role)))
    for name, r in answers.items():
        assert r.status_code == 503, (name, r.status_code, r.text)
        assert r.json()["type"] == "urn:stayactive:problem:audit-unavailable", name
        assert r.headers["Retry-After"] == "5"
    with api_world.connect() as conn:
        row = conn.execute("SELECT count(*) FROM stays WHERE external_ref = 'S-503'").fetchone()
    assert row == (0,)  # no audit row, no import
    assert not [rec for rec in caplog.records if rec.exc_info], "a traceback was logged"


def test_a_refused_read_is_audited_and_flagged(api_world: World, audit_rows) -> None:  # type: ignore[no-untyped-def]
    """Care staff asking for a resident or ward outside their scope get 403 and read nothing;
    the attempt is an audit row (action ``denied``), the resident's access log lists it, and
    the review flags it (kind ``denied``). Before, a refused attempt left no trace."""
    care = api_world.client("tenant-a-care")
    other_ward = api_world.a.ward_ids[1]
    resident = api_world.a.residents_by_ward[other_ward][0]
    today = date.today()
    params = {"from": (today - timedelta(days=3)).isoformat(), "to": today.isoformat()}
    for path, query in (
        (f"/residents/{resident}/days", params),
        (f"/wards/{other_ward}/overview", {}),
        ("/residents", {"ward": other_ward}),
    ):
        r = care.get(path, params=query)
        assert r.status_code == 403, (path, r.text)
    denied = audit_rows(actor="tenant-a-care", action="denied")
    assert [(r[3], r[4], r[6]) for r in denied] == [
        ("resident", str(resident), "GET /api/v1/residents/{resident_id}/days"),
        ("ward", str(other_ward), "GET /api/v1/wards/{ward_id}/overview"),
        ("ward", str(other_ward), "GET /api/v1/residents"),
    ]
    assert not audit_rows(actor="tenant-a-care", action="read", subject_id=str(resident))
    admin = api_world.client("tenant-a-admin")
    log = admin.get(f"/audit/residents/{resident}/access-log").text
    assert "avvist (ingenting lest)" in log
    flags = admin.get("/audit/flags").json()
    (flag,) = [f for f in flags if f["kind"] == "denied"]
    assert flag["actor"] == "tenant-a-care" and flag["reads"] == 3
    assert flag["residents"] == [str(resident)]
    assert f"avdeling {other_ward}" in flag["detail"]


def test_asking_for_a_residents_assignments_is_audited_when_none_is_shown(
    api_world: World,
    audit_rows,  # type: ignore[no-untyped-def]
) -> None:
    """`GET /assignments?resident=R` with nothing on the page (here: a page past the end) still
    read about R, and is audited; it wrote no row before."""
    care = api_world.client("tenant-a-care")
    resident = api_world.a.residents_by_ward[api_world.a.ward_ids[0]][0]
    r = care.get("/assignments", params={"resident": resident, "offset": 1000})
    assert r.status_code == 200 and r.json()["items"] == []
    rows = audit_rows(actor="tenant-a-care", endpoint="GET /api/v1/assignments")
    assert [(row[2], row[3], row[4]) for row in rows] == [("read", "resident", str(resident))]


def test_refusals_of_a_device_an_alert_and_a_day_outside_the_stays_are_audited(
    api_world: World,
    audit_rows,  # type: ignore[no-untyped-def]
) -> None:
    """The other 403s for what lies outside a care user's scope are audited as ``denied`` too:
    a device on another ward (its status names the resident using it), handling an alert of
    another ward, and a day outside the stays on the user's wards. Before, they left no trace."""
    care = api_world.client("tenant-a-care")
    a = api_world.a
    own, other = a.ward_ids[0], a.ward_ids[1]
    elsewhere, mine = a.residents_by_ward[other][0], a.residents_by_ward[own][0]
    with api_world.connect() as conn:
        device = f"W-probe-{uuid.uuid4().hex[:8]}"
        conn.execute(
            "INSERT INTO devices (device_id, tenant_id, kind, serial, ward_id) "
            "VALUES (%s, %s, 'walker', %s, %s)",
            (device, a.tenant_id, device, other),
        )
        alert = conn.execute(
            "INSERT INTO alerts (tenant_id, ward_id, resident_id, kind, device_id, since) "
            "VALUES (%s, %s, %s, 'battery_low', %s, now()) RETURNING alert_id",
            (a.tenant_id, other, elsewhere, device),
        ).fetchone()
    assert alert is not None
    for r in (
        care.get(f"/devices/{device}/status"),
        care.post(f"/alerts/{alert[0]}/handled", json={"note": "sjekket"}),
        care.get(f"/residents/{mine}/days/2000-01-02/bouts"),
    ):
        assert r.status_code == 403, (r.request.url, r.text)
    denied = audit_rows(actor="tenant-a-care", action="denied")
    assert [(r[3], r[4], r[6]) for r in denied] == [
        ("ward", str(other), "GET /api/v1/devices/{device_id}/status"),
        ("ward", str(other), "POST /api/v1/alerts/{alert_id}/handled"),
        ("resident", str(mine), "GET /api/v1/residents/{resident_id}/days/{date}/bouts"),
    ]
