"""Errors under ``/fhir`` are FHIR R4 OperationOutcomes (``application/fhir+json``) with the
HTTP status and the problem document's detail; everywhere else they stay problem documents.

The statuses the FHIR route itself can give are asked of it on the real API; 415, 429 and 500
(no FHIR route takes a body, throttles or fails on purpose) of probe routes served by the same
app under ``/fhir`` and outside it, over a socket like the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends
from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import BaseModel

from stayactive.api import create_app
from stayactive.api.deps import body_media_type
from stayactive.api.paths import API_PREFIX
from stayactive.api.problems import ApiProblem, FieldProblem, problem_body
from stayactive.api.serve import start_api
from stayactive.settings import Settings
from tests.api.conftest import World

FHIR_JSON = "application/fhir+json"


def _outcome(r: httpx.Response, status: int, code: str) -> OperationOutcome:
    """The answer as an OperationOutcome, checked against the R4B models."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == FHIR_JSON, r.text
    outcome = OperationOutcome.model_validate(r.json())
    assert outcome.issue and all(i.severity == "error" for i in outcome.issue), r.text
    assert outcome.issue[0].code == code, r.text
    assert outcome.issue[0].diagnostics, r.text
    assert "Traceback" not in r.text
    return outcome


def _kind(outcome: OperationOutcome) -> str:
    """The problem's kind (its slug), as the issue's details carry it."""
    coding = outcome.issue[0].details.coding[0]
    assert coding.system == "urn:stayactive:problem"
    return str(coding.code)


def _params(resident: int) -> dict[str, str]:
    return {"patient": f"Patient/{resident}"}


def test_refusals_of_the_fhir_route_are_operation_outcomes(shared_world: World) -> None:
    world = shared_world
    own, other = world.a.ward_ids[0], world.a.ward_ids[1]
    resident = world.a.residents_by_ward[own][0]
    elsewhere = world.a.residents_by_ward[other][0]

    anonymous = world.client().get("/fhir/Observation", params=_params(resident))
    outcome = _outcome(anonymous, 401, "login")
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"

    care = world.client("tenant-a-care")
    denied = care.get("/fhir/Observation", params=_params(elsewhere))
    assert _kind(_outcome(denied, 403, "security")) == "forbidden"
    finance = world.client("tenant-a-finance").get("/fhir/Observation", params=_params(resident))
    _outcome(finance, 403, "security")

    admin = world.client("tenant-a-admin")
    missing = admin.get("/fhir/Observation", params=_params(world.b.resident_ids[0]))
    outcome = _outcome(missing, 404, "not-found")
    assert outcome.issue[0].diagnostics == f"resident {world.b.resident_ids[0]} not found"
    no_path = admin.get("/fhir/Patient/1")
    outcome = _outcome(no_path, 404, "not-found")
    assert outcome.issue[0].diagnostics == "no such path: GET /api/v1/fhir/Patient/1"

    post = admin.post("/fhir/Observation", params=_params(resident))
    outcome = _outcome(post, 405, "not-supported")
    assert outcome.issue[0].diagnostics == "POST is not allowed on /api/v1/fhir/Observation"
    too_big = admin.post("/fhir/Observation", content=b"{" + b" " * 70_000 + b"}")
    assert "larger than 65536 bytes" in str(_outcome(too_big, 413, "too-long").issue[0].diagnostics)


def test_invalid_searches_name_the_parameter(shared_world: World) -> None:
    admin = shared_world.client("tenant-a-admin")
    bad = admin.get("/fhir/Observation", params={"patient": "Practitioner/3"})
    outcome = _outcome(bad, 422, "invalid")
    assert _kind(outcome) == "invalid-patient"
    assert outcome.issue[0].diagnostics == "patient must be Patient/<id> or a resident id"

    # A validation error: the field at fault as the issue's expression, the detail as text.
    absent = admin.get("/fhir/Observation")
    (issue,) = _outcome(absent, 422, "value").issue
    assert issue.expression == ["query.patient"]
    assert issue.diagnostics == "query.patient: Field required"

    # The same request outside /fhir is a problem document with the same detail.
    problem = admin.get("/residents/0/days")
    assert problem.status_code == 422
    assert problem.headers["content-type"] == "application/problem+json"
    assert {"type", "title", "status", "detail", "errors"} <= set(problem.json())


def test_unavailable_audit_is_transient(shared_world: World) -> None:
    care = shared_world.client("tenant-a-care")
    resident = shared_world.a.residents_by_ward[shared_world.a.ward_ids[0]][0]
    with shared_world.connect() as conn:
        conn.execute("ALTER TABLE audit_log RENAME TO audit_log_away")
    try:
        r = care.get("/fhir/Observation", params=_params(resident))
    finally:
        with shared_world.connect() as conn:
            conn.execute("ALTER TABLE audit_log_away RENAME TO audit_log")
    outcome = _outcome(r, 503, "transient")
    assert _kind(outcome) == "audit-unavailable" and r.headers["Retry-After"] == "5"
    assert "entry" not in r.json()


class _Body(BaseModel):
    name: str


def _probes() -> APIRouter:
    """Routes that answer 415, 429 and 500 the way real routes do."""
    router = APIRouter()

    @router.post("/json")
    async def takes_json(body: _Body) -> dict[str, str]:
        return {"name": body.name}

    @router.get("/throttled")
    async def throttled() -> None:
        raise ApiProblem(429, "too-many-requests", "slow down", headers={"Retry-After": "30"})

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("a bug of ours, with a secret: 12345678901")

    return router


@pytest.fixture(scope="module")
def probed(shared_world: World) -> Iterator[str]:
    """The real app with the probes under /fhir/_probe and /_probe, served over a socket."""
    app = create_app(shared_world.settings)
    for prefix in ("/fhir/_probe", "/_probe"):
        app.include_router(
            _probes(), prefix=API_PREFIX + prefix, dependencies=[Depends(body_media_type)]
        )
    api = start_api(shared_world.settings, app)
    try:
        yield api.url + API_PREFIX
    finally:
        api.stop()


def _probe(base: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=30) as c:
        return c.request(method, path, **kwargs)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "slug"),
    [
        ("POST", "/json", {"content": b"name=x", "headers": {"Content-Type": "text/plain"}},
         415, "not-supported", "unsupported-media-type"),
        ("GET", "/throttled", {}, 429, "throttled", "too-many-requests"),
        ("GET", "/crash", {}, 500, "exception", "internal-error"),
    ],
)  # fmt: skip
def test_every_status_under_fhir_is_an_outcome_and_a_problem_outside(
    probed: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    slug: str,
) -> None:
    fhir = _probe(probed, method, "/fhir/_probe" + path, **kwargs)
    outcome = _outcome(fhir, status, code)
    assert _kind(outcome) == slug
    plain = _probe(probed, method, "/_probe" + path, **kwargs)
    assert plain.status_code == status
    assert plain.headers["content-type"] == "application/problem+json"
    problem = plain.json()
    assert problem["type"] == "urn:stayactive:problem:" + slug
    assert problem["instance"] == API_PREFIX + "/_probe" + path
    # The same text either way, and the same headers.
    assert outcome.issue[0].diagnostics == problem["detail"]
    assert fhir.headers.get("Retry-After") == plain.headers.get("Retry-After")
    assert "12345678901" not in fhir.text + plain.text
    # Every answer carries the security headers, a crash's too (docs/api.md).
    for answer in (fhir, plain):
        assert answer.headers.get("cache-control") == "no-store", (status, answer.headers)
        assert answer.headers.get("x-content-type-options") == "nosniff"


def test_the_contract_declares_outcomes_for_the_fhir_routes() -> None:
    spec = create_app(Settings()).openapi()
    responses = spec["paths"][API_PREFIX + "/fhir/Observation"]["get"]["responses"]
    for status in ("401", "403", "404", "422", "503", "default"):
        content = responses[status]["content"]
        assert FHIR_JSON in content and "application/problem+json" not in content, status
    schema = spec["components"]["schemas"]["OperationOutcome"]
    assert schema["properties"]["resourceType"]["const"] == "OperationOutcome"
    me = spec["paths"][API_PREFIX + "/me"]["get"]["responses"]["401"]["content"]
    assert "application/problem+json" in me


def test_diagnostics_write_a_field_path_as_the_expression_does() -> None:
    """``diagnostics`` said ``body.items.3.name`` where ``expression`` said
    ``body.items[3].name``: each issue's text now starts with its expression, and the problem
    document outside /fhir writes the same path."""
    errors = [
        FieldProblem(loc=["body", "items", 3, "name"], msg="Field required"),
        FieldProblem(loc=["line", 4, "stay_type"], msg="is not a KPR short-term stay code"),
    ]
    detail = errors[0].text() + " (and 1 more)"  # as the validation handler writes it
    outcome, _ = problem_body(f"{API_PREFIX}/fhir/Observation", 422, "invalid-request", detail,
                              errors=errors)  # fmt: skip
    issues = OperationOutcome.model_validate(outcome).issue
    assert [i.expression for i in issues] == [["body.items[3].name"], ["line[4].stay_type"]]
    for issue, error in zip(issues, errors, strict=True):
        assert issue.expression is not None
        assert issue.diagnostics == f"{issue.expression[0]}: {error.msg}"
    problem, _ = problem_body(f"{API_PREFIX}/residents/1/days", 422, "invalid-request", detail,
                              errors=errors)  # fmt: skip
    assert problem["detail"] == "body.items[3].name: Field required (and 1 more)"
    # A single field: the issue's diagnostics is the problem's detail, with the same path.
    single, _ = problem_body(
        f"{API_PREFIX}/fhir/Observation", 422, "invalid-request", errors[0].text(),
        errors=errors[:1],
    )  # fmt: skip
    (one,) = OperationOutcome.model_validate(single).issue
    assert one.diagnostics == "body.items[3].name: Field required"
