"""Problem details, limits, ranges, pagination, FHIR out, health and metrics."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from tests.api.conftest import World


def test_problem_details_everywhere(shared_world: World) -> None:
    admin = shared_world.client("tenant-a-admin")
    for method, path, status in (
        ("GET", "/no/such/path", 404),
        ("DELETE", "/me", 405),
        ("GET", "/residents/0/days", 422),
        ("GET", f"/residents/{shared_world.b.resident_ids[0]}/stays", 404),
    ):
        r = admin.request(method, path)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["status"] == status and body["detail"] and body["type"].startswith("urn:")
        assert "Traceback" not in r.text
    # Another tenant's id and an id that does not exist get the same answer.
    missing = admin.get("/residents/999999999/stays").json()
    other = admin.get(f"/residents/{shared_world.b.resident_ids[0]}/stays").json()
    assert missing["title"] == other["title"] and missing["type"] == other["type"]


def test_validation_errors_do_not_echo_input(shared_world: World) -> None:
    admin = shared_world.client("tenant-a-admin")
    r = admin.post("/users", json={"username": "x", "role": "admin", "password": "short-secret"})
    assert r.status_code == 422
    assert "short-secret" not in r.text
    assert {tuple(e["loc"]) for e in r.json()["errors"]} >= {("body", "username")}


def test_a_body_in_another_format_is_415(shared_world: World) -> None:
    # RFC 9110 §15.5.16: the format is at fault, not the fields (it was 422 "Input should be a
    # valid dictionary", which sent the integrator looking at the fields).
    admin = shared_world.client("tenant-a-admin")
    ward = json.dumps({"site": "S " + uuid.uuid4().hex[:8], "name": "W"})
    for content, media in (
        (ward, "text/plain"),
        ("site=S&name=W", "application/x-www-form-urlencoded"),
        (ward, None),
    ):
        headers = {"Content-Type": media} if media else {}
        r = admin.post("/wards", content=content, headers=headers)
        assert r.status_code == 415, (media, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["type"] == "urn:stayactive:problem:unsupported-media-type"
        assert body["detail"] == f"send application/json, not {media or 'no content type'}"
    login = json.dumps({"username": "tenant-a-admin", "password": "x" * 12})
    r = admin.post("/auth/token", content=login, headers={"Content-Type": "application/json"})
    assert r.status_code == 415, r.text
    assert "application/x-www-form-urlencoded" in r.json()["detail"]
    # The types the routes take still pass; an empty body is still a 422 naming the fields.
    ok = admin.post(
        "/wards", content=ward, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 201, ok.text
    empty = admin.post("/wards", headers={"Content-Type": "application/json"})
    assert empty.status_code == 422 and empty.json()["errors"][0]["loc"] == ["body"]


def test_request_size_limits(shared_world: World) -> None:
    admin = shared_world.client("tenant-a-admin")
    r = admin.post("/wards", content=b"{" + b" " * (70 * 1024) + b"}",
                   headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and r.json()["type"].endswith("too-large")
    big = b"external_ref,resident\n" + b"x,y\n" * 100_000  # 400 kB: within the import limit
    ok = shared_world.client("tenant-a-integrator").post(
        "/imports/stays", content=big, headers={"Content-Type": "text/csv"}
    )
    assert ok.status_code == 422  # read whole, refused for its content, not its size


def test_a_ward_go_live_out_of_range_is_refused(shared_world: World) -> None:
    """POST /wards with go_live_on 0001-01-01 made the ward; it is 422 now, naming the range."""
    admin = shared_world.client("tenant-a-admin")
    for day in ("0001-01-01", (date.today() + timedelta(days=400)).isoformat()):
        r = admin.post("/wards", json={"site": "Golive", "name": f"W {day}", "go_live_on": day})
        assert r.status_code == 422, r.text
        assert f"go-live {day} is out of range" in r.json()["detail"]
    names = {w["name"] for w in admin.get("/wards").json()}
    assert not any(n.startswith("W ") for n in names)


def test_a_name_with_a_control_character_is_refused(shared_world: World) -> None:
    """A ward or site name with a line break or NUL was stored and split every list printing
    it; it is 422 naming the field, and nothing is made."""
    admin = shared_world.client("tenant-a-admin")
    for body in ({"site": "Linje", "name": "Korttid\n2"}, {"site": "Linje\x00", "name": "K"}):
        r = admin.post("/wards", json=body)
        assert r.status_code == 422, r.text
        assert "must not hold a control character" in r.text
    assert "Linje" not in {w["site"] for w in admin.get("/wards").json()}


def test_ranges_and_pages(shared_world: World) -> None:
    care = shared_world.client("tenant-a-care")
    resident = shared_world.a.residents_by_ward[shared_world.a.ward_ids[0]][0]
    too_long = care.get(
        f"/residents/{resident}/days", params={"from": "2025-01-01", "to": "2026-06-01"}
    )
    assert too_long.status_code == 422 and "at most 366" in too_long.json()["detail"]
    backwards = care.get(
        f"/residents/{resident}/days", params={"from": "2026-02-01", "to": "2026-01-01"}
    )
    assert backwards.status_code == 422 and "before it starts" in backwards.json()["detail"]
    admin = shared_world.client("tenant-a-admin")
    first = admin.get("/devices", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    rest = admin.get("/devices", params={"limit": 500, "offset": 2}).json()
    assert rest["next_offset"] is None and len(rest["items"]) == first["total"] - 2
    assert admin.get("/devices", params={"limit": 501}).status_code == 422


def test_a_page_past_the_end_keeps_the_total(shared_world: World) -> None:
    # The total came from count(*) OVER () of the page's rows: a page past the end had none,
    # and said total 0, so a client paging by the total thought the list had emptied.
    admin = shared_world.client("tenant-a-admin")
    for path in ("/devices", "/residents", "/assignments", "/audit"):
        first = admin.get(path, params={"limit": 1}).json()
        assert first["total"] > 1, path
        past = admin.get(path, params={"limit": 1, "offset": first["total"] + 5})
        assert past.status_code == 200, (path, past.text)
        body = past.json()
        assert body["items"] == [] and body["next_offset"] is None, path
        # Reading the audit log writes rows of its own, so its total can only have grown.
        assert body["total"] == first["total"] or (path == "/audit" and body["total"] > 1), (
            path,
            body["total"],
        )


def test_care_staff_filtering_by_another_ward_get_403(shared_world: World) -> None:
    # /fleet said so; /residents and /devices answered an empty list, "nobody on that ward".
    care = shared_world.client("tenant-a-care")
    own, other = shared_world.a.ward_ids[0], shared_world.a.ward_ids[1]
    for path in ("/residents", "/devices", "/fleet"):
        r = care.get(path, params={"ward": other})
        assert r.status_code == 403, (path, r.text)
        assert r.json()["detail"] == f"ward {other} is not one of your wards", path
        assert care.get(path, params={"ward": own}).status_code == 200, path
    assert (
        shared_world.client("tenant-a-admin")
        .get("/residents", params={"ward": other})
        .json()["items"]
    )


def test_filtering_by_a_ward_outside_the_tenant_is_404(shared_world: World) -> None:
    # An admin's ?ward=99 answered an empty list, "nobody on that ward", for a ward that does
    # not exist; as a path naming the ward does, the filter now answers 404 for every role.
    elsewhere = shared_world.b.ward_ids[0]
    for who in ("tenant-a-admin", "tenant-a-care"):
        client = shared_world.client(who)
        for path in ("/residents", "/devices", "/fleet"):
            for ward in (elsewhere, 999_999):
                r = client.get(path, params={"ward": ward})
                assert r.status_code == 404, (who, path, ward, r.text)
                assert r.json()["detail"] == f"ward {ward} not found", (who, path)


def test_fhir_dates_that_are_not_days_are_422(shared_world: World) -> None:
    care = shared_world.client("tenant-a-care")
    resident = shared_world.a.residents_by_ward[shared_world.a.ward_ids[0]][0]
    for value in ("2026-02-30", "ge2026-13-01", "gt9999-12-31", "lt0001-01-01"):
        r = care.get("/fhir/Observation", params={"patient": f"Patient/{resident}", "date": value})
        assert r.status_code == 422, (value, r.text)
        (issue,) = r.json()["issue"]
        assert issue["details"]["coding"][0]["code"] == "invalid-date", value
        assert "calendar day" in issue["diagnostics"], value


def test_fhir_observations_are_valid_r4(shared_world: World) -> None:
    care = shared_world.client("tenant-a-care")
    resident = shared_world.a.residents_by_ward[shared_world.a.ward_ids[0]][0]
    today = date.today()
    r = care.get(
        "/fhir/Observation",
        params=[("patient", f"Patient/{resident}"), ("code", "http://loinc.org|41950-7"),
                ("date", f"ge{(today - timedelta(days=9)).isoformat()}"),
                ("date", f"le{today.isoformat()}")],
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    bundle = Bundle.model_validate(r.json())
    assert bundle.type == "searchset" and bundle.entry
    with shared_world.connect() as conn:
        expected = {
            d.isoformat(): s
            for d, s in conn.execute(
                "SELECT day, steps_n FROM resident_days WHERE resident_id = %s AND day >= %s "
                "AND day <= %s AND walker_data AND steps_n IS NOT NULL",
                (resident, today - timedelta(days=9), today),
            )
        }
    seen = {}
    for entry in bundle.entry:
        obs = Observation.model_validate(entry.resource.model_dump())
        assert obs.code.coding[0].code == "41950-7" and obs.valueQuantity.unit == "/d"
        seen[str(obs.effectivePeriod.start)[:10]] = int(obs.valueQuantity.value)
    assert seen == expected
    assert (
        care.get(
            "/fhir/Observation", params={"patient": str(resident), "code": "8867-4"}
        ).status_code
        == 422
    )


def test_health_and_metrics(shared_world: World) -> None:
    import httpx

    with httpx.Client(base_url=shared_world.api.url) as c:
        assert c.get("/healthz").json() == {"status": "ok", "database": "ok"}
        shared_world.client("tenant-a-admin").get("/me")
        text = c.get("/metrics").text
    assert 'stayactive_api_requests_total{method="GET",route="/api/v1/me",status="200"}' in text
    assert "stayactive_api_audit_rows_total" in text
