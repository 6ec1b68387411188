"""Role x router x tenant: every operation, asked by every role, about its own tenant's data,
another tenant's, and (care staff) another ward's. Each must answer exactly as the policy says:
401 without credentials, 403 for a role without the capability or a ward outside the scope,
404 for another tenant's ids (the same answer as for ids that do not exist), 2xx otherwise;
and every allowed resident-level read leaves an audit row naming the reader and the resident.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import pytest

from stayactive.auth import ROLES
from tests.api.conftest import World

Target = Literal["own", "other_tenant", "other_ward"]
Who = Literal["anonymous", "admin", "care_staff", "finance", "integrator"]

TODAY = date.today()
CSV = (
    "external_ref,resident,site,ward,admitted_at,stay_type\n"
    "{ref},{res},Sykehjem 1,Korttid 1,2026-03-01T10:00:00+01:00,18\n"
)


@dataclass(frozen=True)
class Op:
    """One operation of the API and who may call it."""

    method: str
    path: str
    allowed: frozenset[str]
    #: Which kind of id the path (or body) names: decides the other-tenant and other-ward cases.
    target: str | None = None
    ok: int = 200
    body: Callable[[World, dict[str, Any]], dict[str, Any]] | None = None
    raw: Callable[[World, dict[str, Any]], tuple[str, bytes]] | None = None
    params: dict[str, str] = field(default_factory=dict)
    #: Reads resident-level data of the target resident: must be audited.
    audited: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


ADMIN = frozenset({"admin"})
CARE = frozenset({"admin", "care_staff"})
REPORTS = frozenset({"admin", "finance"})
IMPORTS = frozenset({"admin", "integrator"})
EVERYONE = frozenset(ROLES)

DAYS = {"from": (TODAY - timedelta(days=6)).isoformat(), "to": TODAY.isoformat()}


def _uid() -> str:
    return uuid.uuid4().hex[:10]


OPS: list[Op] = [
    Op("GET", "/me", EVERYONE),
    Op("GET", "/wards", frozenset({"admin", "care_staff", "finance"})),
    Op("POST", "/wards", ADMIN, ok=201, body=lambda w, t: {"site": "S " + _uid(), "name": "W"}),
    Op(
        "PUT", "/wards/{ward}/alert-settings", ADMIN, target="ward",
        body=lambda w, t: {"not_up_by": "10:30", "battery_low_pct": 15, "offline_after_min": 30},
    ),
    Op("GET", "/wards/{ward}/overview", CARE, target="ward", audited=True),
    Op("GET", "/residents", CARE),
    Op(
        "POST", "/residents", ADMIN, ok=201,
        body=lambda w, t: {"pseudonym": "P-" + _uid(), "birth_year": 1940},
    ),
    Op("GET", "/residents/{resident}/days", CARE, target="resident", params=DAYS, audited=True),
    Op("GET", "/residents/{resident}/stays", CARE, target="resident", audited=True),
    Op("GET", "/residents/{resident}/alerts", CARE, target="resident", audited=True),
    Op(
        "GET", f"/residents/{{resident}}/days/{TODAY.isoformat()}/bouts", CARE,
        target="resident", audited=True,
    ),
    Op("GET", "/devices", CARE),
    Op(
        "POST", "/devices", ADMIN, target="ward_in_body", ok=201,
        body=lambda w, t: {"device_id": "W-" + _uid(), "kind": "walker", "serial": _uid(),
                           "ward_id": t["ward"]},
    ),
    Op("GET", "/devices/{device}/status", CARE, target="device", audited=True),
    Op("POST", "/devices/{device}/credentials", ADMIN, target="fresh_device"),
    Op("POST", "/devices/{device}/deactivate", ADMIN, target="fresh_device"),
    Op("GET", "/fleet", CARE),
    Op("GET", "/assignments", CARE),
    Op(
        "POST", "/assignments", ADMIN, target="resident_in_body", ok=201,
        body=lambda w, t: {"device_id": t["spare_device"], "resident_id": t["resident"],
                           "valid_from": (datetime.now(UTC) + timedelta(days=400)).isoformat(),
                           "valid_to": (datetime.now(UTC) + timedelta(days=401)).isoformat()},
    ),
    Op("DELETE", "/assignments/{assignment}", ADMIN, target="assignment", ok=204),
    Op("POST", "/alerts/{alert}/handled", CARE, target="alert", body=lambda w, t: {"note": "ok"}),
    Op(
        "POST", "/imports/stays", IMPORTS,
        raw=lambda w, t: ("text/csv", CSV.format(ref=_uid(), res="R-" + _uid()).encode()),
    ),
    Op(
        "GET", "/fhir/Observation", CARE, target="patient_param", audited=True,
        params={"code": "41950-7"},
    ),
    Op("GET", "/reports/savings", REPORTS, params={"resamples": "100"}),
    Op("POST", "/reports/savings/scenario", REPORTS, body=lambda w, t: {"resamples": 100}),
    Op("GET", "/reports/curves", REPORTS),
    Op("GET", "/reports/stays", REPORTS),
    Op("GET", "/reports/open-data", REPORTS),
    Op("GET", "/audit", ADMIN),
    Op("GET", "/users", ADMIN),
    Op(
        "POST", "/users", ADMIN, ok=201,
        body=lambda w, t: {"username": "u" + _uid(), "role": "finance",
                           "password": "long enough password"},
    ),
    Op("POST", "/users/{user}/disable", ADMIN, target="fresh_user"),
    Op("POST", "/users/{user}/enable", ADMIN, target="fresh_user"),
    Op(
        "PUT", "/users/{user}/wards", ADMIN, target="fresh_user",
        body=lambda w, t: {"ward_ids": []},
    ),
    Op("GET", "/api-keys", ADMIN),
    Op("POST", "/api-keys", ADMIN, ok=201, body=lambda w, t: {"name": "k " + _uid()}),
    Op("DELETE", "/api-keys/{key}", ADMIN, target="fresh_key", ok=204),
    Op("POST", "/auth/refresh", EVERYONE),
]  # fmt: skip

USERS: dict[str, str] = {
    "admin": "tenant-a-admin",
    "care_staff": "tenant-a-care",
    "finance": "tenant-a-finance",
    "integrator": "tenant-a-integrator",
}


class Targets:
    """Ids for the cases: the tenant's own (care staff's ward), another ward's, another
    tenant's; fresh ones for operations that change or remove what they name."""

    def __init__(self, world: World) -> None:
        self.world = world

    def _tenant(self, target: Target) -> tuple[Any, int]:
        if target == "other_tenant":
            return self.world.b, self.world.b.ward_ids[0]
        a = self.world.a
        return a, a.ward_ids[1] if target == "other_ward" else a.ward_ids[0]

    def ids(self, target: Target) -> dict[str, Any]:
        tenant, ward = self._tenant(target)
        resident = tenant.residents_by_ward[ward][0]
        device = tenant.device_ids[tenant.resident_ids.index(resident)]
        with self.world.connect() as conn:
            spare = f"W-spare-{_uid()}"
            conn.execute(
                "INSERT INTO devices (device_id, tenant_id, kind, serial, ward_id) "
                "VALUES (%s, %s, 'walker', %s, %s)",
                (spare, tenant.tenant_id, spare, ward),
            )
            fresh_user = conn.execute(
                "INSERT INTO users (tenant_id, username, role, password_hash) "
                "SELECT tenant_id, %s, 'finance', password_hash FROM users "
                "WHERE username = %s RETURNING user_id",
                ("x" + _uid(), f"{tenant.tenant_id}-admin"),
            ).fetchone()
            assignment = conn.execute(
                "INSERT INTO device_assignments (tenant_id, device_id, resident_id, valid) "
                "VALUES (%s, %s, %s, tstzrange(now() + interval '500 days', "
                "now() + interval '501 days')) RETURNING assignment_id",
                (tenant.tenant_id, spare, resident),
            ).fetchone()
            alert = conn.execute(
                "INSERT INTO alerts (tenant_id, ward_id, resident_id, kind, device_id, since) "
                "VALUES (%s, %s, %s, 'battery_low', %s, now()) RETURNING alert_id",
                (tenant.tenant_id, ward, resident, spare),
            ).fetchone()
            key_id = uuid.uuid4().hex[:12]
            conn.execute(
                "INSERT INTO api_keys (key_id, tenant_id, name, secret_sha256, created_by) "
                "VALUES (%s, %s, %s, %s, 'test')",
                (key_id, tenant.tenant_id, "key " + key_id, b"\0" * 32),
            )
            conn.execute(
                "INSERT INTO device_http_credentials (device_id, secret_sha256) VALUES (%s, %s)",
                (spare, b"\0" * 32),
            )
        assert fresh_user and assignment and alert
        return {
            "ward": ward, "resident": resident, "device": device, "fresh_device": spare,
            "spare_device": spare, "assignment": assignment[0], "alert": alert[0],
            "user": fresh_user[0], "key": key_id, "patient": resident,
        }  # fmt: skip


def expected(op: Op, who: Who, target: Target) -> int:
    """What the policy says the answer is."""
    if who == "anonymous":
        return 401
    if who not in op.allowed:
        return 403
    if op.target is None:
        return op.ok
    if target == "other_tenant":
        return 404
    # Care staff are scoped to their ward for everything that names a ward or a resident.
    if target == "other_ward" and who == "care_staff":
        return 403
    return op.ok


def _cases() -> list[tuple[Op, Who, Target]]:
    out: list[tuple[Op, Who, Target]] = []
    for op in OPS:
        targets: list[Target] = (
            ["own"] if op.target is None else ["own", "other_tenant", "other_ward"]
        )
        for who in ("anonymous", *ROLES):
            for target in targets:
                out.append((op, who, target))  # type: ignore[arg-type]
    return out


CASES = _cases()


@pytest.mark.parametrize(
    ("op", "who", "target"), CASES, ids=[f"{o.label}-{w}-{t}" for o, w, t in CASES]
)
def test_policy(shared_world: World, op: Op, who: Who, target: Target) -> None:
    world = shared_world
    ids = Targets(world).ids(target)
    client = world.client(None if who == "anonymous" else USERS[who])
    if op.path == "/auth/refresh" and who == "integrator":
        # An integrator calls with an API key, which has no session to refresh.
        r = client.post(op.path)
        assert r.status_code == 422 and r.json()["type"].endswith("not-a-session"), r.text
        return
    if op.path == "/auth/refresh" and who != "anonymous":
        # Refresh with a login of its own: the shared token must stay valid.
        client = world.client()
        client.headers["Authorization"] = "Bearer " + world.fresh_token(USERS[who])
    path = op.path.format(**ids)
    params = dict(op.params)
    if op.target == "patient_param":
        params["patient"] = f"Patient/{ids['patient']}"
    kwargs: dict[str, Any] = {"params": params}
    if op.body is not None:
        kwargs["json"] = op.body(world, ids)
    if op.raw is not None:
        media, content = op.raw(world, ids)
        kwargs["content"] = content
        kwargs["headers"] = {"Content-Type": media}
    before = _audit_count(world, USERS.get(who, ""), ids["resident"]) if op.audited else 0
    r = client.request(op.method, path, **kwargs)
    want = expected(op, who, target)
    assert r.status_code == want, f"{op.label} as {who} on {target}: {r.status_code} {r.text[:300]}"
    if r.status_code >= 400 and path.startswith("/fhir/"):
        # A FHIR client's error: an OperationOutcome (tests/api/test_fhir_errors.py).
        assert r.headers["content-type"] == "application/fhir+json"
        assert r.json()["issue"][0]["diagnostics"]
    elif r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"]
    elif op.audited:
        after = _audit_count(world, USERS[who], ids["resident"])
        assert after > before, f"{op.label} as {who} left no audit row for the resident"


def _audit_count(world: World, actor: str, resident_id: int) -> int:
    with world.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM audit_log WHERE actor = %s AND subject_kind = 'resident' "
            "AND subject_id = %s AND endpoint IS NOT NULL",
            (actor, str(resident_id)),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_lists_hold_only_the_callers_tenant(shared_world: World) -> None:
    """Lists never show another tenant's rows (and care staff only their ward's)."""
    world = shared_world
    admin = world.client("tenant-a-admin")
    residents = admin.get("/residents", params={"limit": 500}).json()["items"]
    assert {r["resident_id"] for r in residents} >= set(world.a.resident_ids)
    assert not {r["resident_id"] for r in residents} & set(world.b.resident_ids)
    devices = {d["device_id"] for d in admin.get("/devices", params={"limit": 500}).json()["items"]}
    assert not devices & set(world.b.device_ids)
    care = world.client("tenant-a-care")
    mine = {r["resident_id"] for r in care.get("/residents", params={"limit": 500}).json()["items"]}
    with world.connect() as conn:
        on_ward = {
            int(r[0])
            for r in conn.execute(
                "SELECT DISTINCT resident_id FROM stays WHERE ward_id = %s", (world.a.ward_ids[0],)
            )
        }
    assert mine == on_ward and set(world.a.residents_by_ward[world.a.ward_ids[0]]) <= mine
    wards = {w["ward_id"] for w in care.get("/wards").json()}
    assert wards == {world.a.ward_ids[0]}
    fleet = {d["device_id"] for d in care.get("/fleet").json()}
    assert fleet and not fleet & set(world.b.device_ids)


def test_finance_never_sees_a_pseudonym(shared_world: World) -> None:
    """Everything finance may read holds no pseudonym of any resident."""
    world = shared_world
    finance = world.client("tenant-a-finance")
    with world.connect() as conn:
        pseudonyms = [str(r[0]) for r in conn.execute("SELECT pseudonym FROM residents")]
    for path, params in (
        ("/me", {}), ("/wards", {}), ("/reports/savings", {"resamples": "100"}),
        ("/reports/curves", {}),
        ("/reports/savings", {"format": "csv", "resamples": "100"}), ("/reports/stays", {}),
        ("/reports/open-data", {}), ("/reports/open-data", {"format": "csv"}),
    ):  # fmt: skip
        r = finance.get(path, params=params)
        assert r.status_code == 200, (path, r.text)
        assert not any(p in r.text for p in pseudonyms), path
