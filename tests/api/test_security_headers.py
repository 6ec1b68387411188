"""Every answer of the API carries the headers that keep health data out of caches and browsers'
guesses (docs/api.md, "Security headers"): ``Cache-Control: no-store``, ``nosniff``, no framing,
no referrer; errors too, and on the operations routes."""

from __future__ import annotations

import httpx

from tests.api.conftest import World

EXPECTED = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _assert_headers(r: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert r.headers.get(name) == value, (r.request.url, name, dict(r.headers))


def test_resident_data_errors_and_ops_routes_carry_the_security_headers(
    shared_world: World,
) -> None:
    care = shared_world.client("tenant-a-care")
    ward = shared_world.a.ward_ids[0]
    overview = care.get(f"/wards/{ward}/overview")
    assert overview.status_code == 200, overview.text
    _assert_headers(overview)
    _assert_headers(care.get("/me"))
    # A refusal and an unauthenticated call, as an attacker sees them.
    refused = care.get("/audit")
    assert refused.status_code == 403
    _assert_headers(refused)
    anonymous = shared_world.client().get("/me")
    assert anonymous.status_code == 401
    _assert_headers(anonymous)
    login = shared_world.client().post(
        "/auth/token", data={"username": "nobody-here", "password": "wrong wrong wrong"}
    )
    assert login.status_code == 401
    _assert_headers(login)
    _assert_headers(httpx.get(shared_world.api.url + "/healthz"))
