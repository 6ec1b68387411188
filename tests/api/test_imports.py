"""Care-record imports over HTTP: CSV and FHIR R4, all or nothing, idempotent, national
identity numbers refused and never stored."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import World
from tests.api.fhir_bundles import bundle, encounter, patient

HEADER = (
    "external_ref,resident,birth_year,sex,site,ward,admitted_at,discharged_at,stay_type,"
    "discharge_destination,consent_evaluation\n"
)
GOOD = HEADER + (
    "S-1,R-imp-0001,1939,female,Sykehjem 1,Korttid 1,2026-03-01T10:00:00+01:00,"
    "2026-03-20T12:00:00+01:00,18,home,ja\n"
    "S-2,R-imp-0002,1941,male,Sykehjem 1,Korttid 2,2026-03-02 09:30,,19,,nei\n"
)
#: Valid check digits (a published example number).
NATIONAL_ID = "15076500565"


def _csv(client: httpx.Client, text: str | bytes) -> httpx.Response:
    body = text.encode() if isinstance(text, str) else text
    return client.post("/imports/stays", content=body, headers={"Content-Type": "text/csv"})


def _fhir(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post(
        "/imports/stays", content=body, headers={"Content-Type": "application/fhir+json"}
    )


def _stays(world: World) -> int:
    with world.connect() as conn:
        row = conn.execute("SELECT count(*) FROM stays WHERE tenant_id = 'tenant-a'").fetchone()
    assert row is not None
    return int(row[0])


def test_csv_import_and_reimport(shared_world: World) -> None:
    integrator = shared_world.client("tenant-a-integrator")
    before = _stays(shared_world)
    first = _csv(integrator, GOOD)
    assert first.status_code == 200, first.text
    assert first.json() | {"notes": []} == {
        "format": "csv", "rows": 2, "created": 2, "updated": 0, "unchanged": 0,
        "consents_withdrawn": 0, "erased": {}, "notes": [],
    }  # fmt: skip
    again = _csv(integrator, GOOD).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert _stays(shared_world) == before + 2


def test_a_bad_row_refuses_the_whole_file(shared_world: World) -> None:
    integrator = shared_world.client("tenant-a-integrator")
    before = _stays(shared_world)
    bad = (
        GOOD
        + "S-3,R-imp-0003,1940,female,Sykehjem 1,Korttid 1,2026-03-05T10:00,,21,,\n"
        + "S-4,R-imp-0004,1940,female,Sykehjem 1,Korttid 1,notadate,,18,,\n"
    )
    r = _csv(integrator, bad)
    assert r.status_code == 422
    body = r.json()
    assert body["type"].endswith("import-refused")
    assert {
        "loc": ["line", 4, "stay_type"],
        "msg": "'21' is not a KPR short-term stay code (18, 19, 20)",
    } in body["errors"]
    # The same words as the command line's import (one parser of date-times).
    assert {
        "loc": ["line", 5, "admitted_at"],
        "msg": "'notadate' is not an ISO 8601 date-time: give it with a UTC offset "
        "(2026-03-01T10:15:00+01:00) or as local time (2026-03-01 10:15)",
    } in body["errors"]
    assert "nothing of it was written" in body["detail"]
    assert _stays(shared_world) == before


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"external_ref;resident\nX;Y\n", "lacks the column"),
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"   ", "the file is empty"),
        ((HEADER + "S-9,R-imp-0009,19x9,female,,Korttid 1,yesterday,,18,,maybe\n").encode(),
         "line 2"),
    ],
)  # fmt: skip
def test_malformed_csv(shared_world: World, body: bytes, needle: str) -> None:
    r = _csv(shared_world.client("tenant-a-integrator"), body)
    assert r.status_code == 422
    assert needle in r.json()["detail"]


def test_csv_with_a_national_id_is_refused_and_not_stored(shared_world: World, caplog) -> None:  # type: ignore[no-untyped-def]
    row = f"S-7,{NATIONAL_ID},1965,male,Sykehjem 1,Korttid 1,2026-03-01T10:00:00+01:00,,18,,\n"
    r = _csv(shared_world.client("tenant-a-integrator"), GOOD + row)
    assert r.status_code == 422
    body = r.json()
    assert body["type"].endswith("national-id-refused")
    assert body["errors"][0]["loc"] == ["line", 4, "resident"]
    assert NATIONAL_ID not in r.text
    assert not any(NATIONAL_ID in rec.getMessage() for rec in caplog.records)
    _assert_nowhere(shared_world, NATIONAL_ID)


def _assert_nowhere(world: World, needle: str) -> None:
    """No text column of any table of the schema holds ``needle``."""
    with world.connect() as conn:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_type = 'BASE TABLE'",
                (world.schema,),
            )
        ]
        for table in tables:
            row = conn.execute(
                f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s', (f"%{needle}%",)
            ).fetchone()
            assert row is not None and row[0] == 0, f"{needle} found in {table}"


def test_fhir_import_and_reimport(shared_world: World) -> None:
    integrator = shared_world.client("tenant-a-integrator")
    body = bundle(
        patient("p1", "R-fhir-0001"), patient("p2", "R-fhir-0002"),
        encounter("E-1", "p1", end="2026-03-15T11:00:00+01:00"), encounter("E-2", "p2", code="20"),
    )  # fmt: skip
    first = _fhir(integrator, body)
    assert first.status_code == 200, first.text
    assert (first.json()["format"], first.json()["created"]) == ("fhir", 2)
    again = _fhir(integrator, body).json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    with shared_world.connect() as conn:
        row = conn.execute(
            """SELECT s.stay_type, s.discharge_destination, r.birth_year,
                      (SELECT count(*) FROM consents c WHERE c.resident_id = r.resident_id
                       AND c.purpose = 'evaluation')
               FROM stays s JOIN residents r USING (resident_id) WHERE s.external_ref = 'E-1'"""
        ).fetchone()
    assert row == (18, "home", 1938, 1)


def test_malformed_fhir_names_the_entries(shared_world: World) -> None:
    integrator = shared_world.client("tenant-a-integrator")
    before = _stays(shared_world)
    body = bundle(
        patient("p1", "R-fhir-0101"),
        encounter("E-11", "p1"),
        encounter("E-12", "p1", code="21"),
        {"resource": {**encounter("E-13", "nobody")["resource"]}},
    )
    r = _fhir(integrator, body)
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["errors"]}
    assert ("entry", 2, "serviceType") in locs and ("entry", 3, "subject") in locs
    assert _stays(shared_world) == before
    not_json = _fhir(integrator, b"{not json")
    assert not_json.status_code == 422 and "not JSON" in not_json.json()["detail"]
    invalid = _fhir(integrator, b'{"resourceType": "Bundle", "type": "collection", "entry": 7}')
    assert invalid.status_code == 422 and invalid.json()["errors"]
    # A row the importer refuses (two stays of one resident overlap) also refuses the Bundle.
    overlap = bundle(patient("p1", "R-fhir-0102"), encounter("E-21", "p1"), encounter("E-22", "p1"))
    r = _fhir(integrator, overlap)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][:2] == ["entry", 2]
    assert _stays(shared_world) == before


def test_fhir_with_a_national_id_is_refused_and_not_stored(shared_world: World) -> None:
    integrator = shared_world.client("tenant-a-integrator")
    by_system = bundle(
        {"fullUrl": "urn:uuid:p1", "resource": {
            "resourceType": "Patient", "id": "p1",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "R-fhir-9999"}]}},
        encounter("E-31", "p1"),
    )  # fmt: skip
    r = _fhir(integrator, by_system)
    assert r.status_code == 422 and r.json()["type"].endswith("national-id-refused")
    assert r.json()["errors"][0]["loc"] == ["entry", 0, "resource.identifier[0].system"]
    by_value = bundle(patient("p1", NATIONAL_ID), encounter("E-32", "p1"))
    r = _fhir(integrator, by_value)
    assert r.status_code == 422 and NATIONAL_ID not in r.text
    named = bundle(
        patient("p1", "R-fhir-9998", name=[{"family": "Hansen"}]), encounter("E-33", "p1")
    )
    r = _fhir(integrator, named)
    assert r.status_code == 422 and "pseudonymous" in r.json()["detail"]
    _assert_nowhere(shared_world, NATIONAL_ID)
    _assert_nowhere(shared_world, "R-fhir-999")


def test_wrong_media_type(shared_world: World) -> None:
    r = shared_world.client("tenant-a-integrator").post(
        "/imports/stays", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415


def test_an_import_leaves_an_audit_row_per_resident_changed(shared_world: World) -> None:
    """Stays created and updated, consents given and withdrawn by an import are in each
    resident's own access log; the file's row counts the withdrawn consents."""
    integrator = shared_world.client("tenant-a-integrator")
    given = HEADER + (
        "S-A1,R-aud-0001,1939,female,Sykehjem 1,Korttid 1,2026-04-01T10:00:00+02:00,,18,,ja\n"
        "S-A2,R-aud-0002,1940,male,Sykehjem 1,Korttid 1,2026-04-02T10:00:00+02:00,,18,,nei\n"
    )
    assert _csv(integrator, given).status_code == 200
    withdrawn = given.replace("18,,ja\n", "18,,nei\n")
    r = _csv(integrator, withdrawn)
    assert r.status_code == 200 and r.json()["consents_withdrawn"] == 1, r.text
    with shared_world.connect() as conn:
        ids = dict(
            conn.execute(
                "SELECT pseudonym, resident_id::text FROM residents "
                "WHERE pseudonym IN ('R-aud-0001', 'R-aud-0002')"
            ).fetchall()
        )
        logged = conn.execute(
            """SELECT subject_id, action, detail->>'purpose', detail->>'external_ref', actor,
                      endpoint
               FROM audit_log WHERE subject_kind = 'resident' AND subject_id = ANY(%s)
               ORDER BY audit_id""",
            (list(ids.values()),),
        ).fetchall()
        files = conn.execute(
            "SELECT detail FROM audit_log WHERE action = 'import' ORDER BY audit_id DESC LIMIT 1"
        ).fetchone()
    one, two = ids["R-aud-0001"], ids["R-aud-0002"]
    endpoint = "POST /api/v1/imports/stays"
    assert [row[:4] for row in logged] == [
        (one, "create", None, "S-A1"),
        (one, "consent.record", "evaluation", "S-A1"),
        (two, "create", None, "S-A2"),
        # From the one withdrawal (stayactive.privacy.withdraw_consent), written as the row
        # is; the import's own rows follow when the file is done.
        (one, "consent.withdraw", "evaluation", None),
        (one, "update", None, "S-A1"),
    ]
    assert logged[3][4] == "apikey:tenant-a-integrator"
    del logged[3]
    assert {row[4:] for row in logged} == {("apikey:tenant-a-integrator", endpoint)}
    assert files is not None
    assert files[0] == {
        "format": "csv", "rows": 2, "created": 0, "updated": 1, "unchanged": 1, "failed": 0,
        "consents_withdrawn": 1, "erased": {}, "residents": 1,
    }  # fmt: skip
    # The resident's own access log (what `stayactive audit export` writes) shows them.
    admin = shared_world.client("tenant-a-admin")
    log = admin.get(f"/audit/residents/{one}/access-log", params={"lang": "en"})
    assert log.status_code == 200
    assert [line.split(",")[3] for line in log.text.splitlines()[1:]] == [
        "create", "consent.record", "consent.withdraw", "update",
    ]  # fmt: skip
