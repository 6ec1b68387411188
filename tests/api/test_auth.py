"""Logging in, sessions, lockout, API keys: on the real API and database."""

from __future__ import annotations

import httpx

from tests.api.conftest import PASSWORD, World


def _login(world: World, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=world.api.url, timeout=30) as c:
        return c.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_token_and_me(api_world: World) -> None:
    r = _login(api_world, "tenant-a-admin", PASSWORD)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    me = api_world.client()
    me.headers["Authorization"] = "Bearer " + body["access_token"]
    assert me.get("/me").json()["tenant_id"] == "tenant-a"


def test_wrong_password_and_unknown_user_answer_alike(api_world: World) -> None:
    a = _login(api_world, "tenant-a-admin", "not the password")
    b = _login(api_world, "nobody-at-all", "not the password")
    assert a.status_code == b.status_code == 401
    assert a.json()["detail"] == b.json()["detail"]


def test_lockout_after_repeated_failures(api_world: World) -> None:
    """Five failures lock the account: even the right password is refused (429, Retry-After)
    until the lock ends; an unknown name locks the same way; the lock is logged."""
    for _ in range(5):
        assert _login(api_world, "tenant-a-care", "wrong wrong wrong").status_code == 401
    locked = _login(api_world, "tenant-a-care", PASSWORD)
    assert locked.status_code == 429
    # The lock is counted from the fifth failure; a loaded machine may take a second or two
    # to answer, so the remaining time is allowed to be slightly less than the full lock.
    assert 25 <= int(locked.headers["Retry-After"]) <= 30
    assert "too many failed logins" in locked.json()["detail"]
    for _ in range(5):
        _login(api_world, "ghost-user", "wrong wrong wrong")
    assert _login(api_world, "ghost-user", "anything at all").status_code == 429
    # The next failure after the lock doubles it.
    with api_world.connect() as conn:
        conn.execute(
            "UPDATE login_throttle SET locked_until = now() WHERE username = 'tenant-a-care'"
        )
    assert _login(api_world, "tenant-a-care", "wrong again wrong").status_code == 401
    again = _login(api_world, "tenant-a-care", PASSWORD)
    assert again.status_code == 429 and 55 <= int(again.headers["Retry-After"]) <= 60
    # Another account is not affected.
    assert _login(api_world, "tenant-a-admin", PASSWORD).status_code == 200


def test_lock_is_logged(api_world: World, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level("WARNING", logger="stayactive.auth._login"):
        for _ in range(5):
            _login(api_world, "tenant-a-finance", "wrong wrong wrong")
    assert any("locked for 30 s after 5 failed logins" in r.getMessage() for r in caplog.records)


def test_logout_revokes_at_once(api_world: World) -> None:
    token = api_world.fresh_token("tenant-a-care")
    client = api_world.client()
    client.headers["Authorization"] = "Bearer " + token
    assert client.get("/me").status_code == 200
    out = client.post("/auth/logout")
    assert out.status_code == 204 and out.content == b""
    assert "content-type" not in out.headers  # nothing to type (it said application/json)
    r = client.get("/me")
    assert r.status_code == 401 and r.json()["type"].endswith("session-ended")


def test_disabling_a_user_revokes_at_once(api_world: World) -> None:
    token = api_world.fresh_token("tenant-a-care")
    care = api_world.client()
    care.headers["Authorization"] = "Bearer " + token
    assert care.get("/me").status_code == 200
    admin = api_world.client("tenant-a-admin")
    users = {u["username"]: u["user_id"] for u in admin.get("/users").json()}
    assert admin.post(f"/users/{users['tenant-a-care']}/disable").status_code == 200
    assert care.get("/me").status_code == 401
    assert _login(api_world, "tenant-a-care", PASSWORD).status_code == 401
    assert admin.post(f"/users/{users['tenant-a-care']}/enable").status_code == 200
    assert _login(api_world, "tenant-a-care", PASSWORD).status_code == 200


def test_refresh_keeps_the_session(api_world: World) -> None:
    token = api_world.fresh_token("tenant-a-admin")
    client = api_world.client()
    client.headers["Authorization"] = "Bearer " + token
    new = client.post("/auth/refresh").json()["access_token"]
    client.headers["Authorization"] = "Bearer " + new
    assert client.get("/me").status_code == 200
    client.post("/auth/logout")
    # Logging out ends the session behind both tokens.
    other = api_world.client()
    other.headers["Authorization"] = "Bearer " + token
    assert other.get("/me").status_code == 401


def test_forged_and_garbage_tokens(api_world: World) -> None:
    import jwt

    forged = jwt.encode(
        {"sub": "1", "tid": "tenant-a", "sid": "x"},
        "a guessed key of 32 bytes or more!",
        algorithm="HS256",
    )
    long_kid = jwt.encode(
        {"sub": "1"}, "a guessed key of 32 bytes or more!", headers={"kid": "../" + "A" * 5000}
    )
    for token in (forged, "garbage", "a.b.c", long_kid):
        client = api_world.client()
        client.headers["Authorization"] = "Bearer " + token
        r = client.get("/me")
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert len(r.json()["detail"]) < 200  # a sender's kid is not repeated at length
        assert r.headers["www-authenticate"] == "Bearer"


def test_api_key_imports_only(api_world: World) -> None:
    admin = api_world.client("tenant-a-admin")
    created = admin.post("/api-keys", json={"name": "care-record sync"})
    assert created.status_code == 201
    key = created.json()["key"]
    integrator = api_world.client(**{"X-API-Key": key})
    assert integrator.get("/me").json()["role"] == "integrator"
    assert integrator.get("/wards").status_code == 403
    r = integrator.post(
        "/imports/stays",
        content=b"external_ref,resident,site,ward,admitted_at,stay_type\n"
        b"K-1,R-key-1,Sykehjem 1,Korttid 1,2026-03-01T10:00:00+01:00,18\n",
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    # A key has no session to end: said, not a 204 that reads as if the key stopped working.
    out = integrator.post("/auth/logout")
    assert out.status_code == 422 and out.json()["type"].endswith("no-session")
    assert integrator.get("/me").status_code == 200
    listed = admin.get("/api-keys").json()
    assert all("key" not in k for k in listed)
    revoked = admin.delete(f"/api-keys/{created.json()['key_id']}")
    assert revoked.status_code == 204 and "content-type" not in revoked.headers
    assert integrator.get("/me").status_code == 401
    with api_world.connect() as conn:
        stored = conn.execute("SELECT secret_sha256 FROM api_keys").fetchall()
    assert key.encode() not in b"".join(bytes(s[0]) for s in stored)


def test_care_staff_keep_a_ward_through_wards_and_role_changes(api_world: World) -> None:
    # PUT /users/{id}/wards [] left a care-staff user with no wards, and a user without wards
    # could be made care staff; POST /users alone refused it.
    admin = api_world.client("tenant-a-admin")
    users = {u["username"]: u for u in admin.get("/users").json()}
    care, finance = users["tenant-a-care"], users["tenant-a-finance"]
    assert care["ward_ids"] and not finance["ward_ids"]
    emptied = admin.put(f"/users/{care['user_id']}/wards", json={"ward_ids": []})
    assert emptied.status_code == 422 and emptied.json()["type"].endswith("wards-needed")
    made_care = admin.put(f"/users/{finance['user_id']}/role", json={"role": "care_staff"})
    assert made_care.status_code == 422 and made_care.json()["type"].endswith("wards-needed")
    created = admin.post(
        "/users",
        json={"username": "no-ward-care", "role": "care_staff", "password": "long enough pw 1"},
    )
    assert created.status_code == 422 and created.json()["type"].endswith("wards-needed")
    after = {u["username"]: u for u in admin.get("/users").json()}
    assert "no-ward-care" not in after
    assert after["tenant-a-care"]["ward_ids"] == care["ward_ids"]
    assert after["tenant-a-finance"]["role"] == "finance"


def test_a_password_user_cannot_be_an_integrator(api_world: World) -> None:
    """docs/api.md: integrators use an API key. POST /users and PUT /users/{id}/role made a
    password user of that role; both are refused in bokmål and English, naming the key's
    route and command."""
    admin = api_world.client("tenant-a-admin")
    created = admin.post(
        "/users",
        json={"username": "sync-user", "role": "integrator", "password": "long enough pw 1"},
    )
    assert created.status_code == 422, created.text
    problem = created.json()
    assert problem["type"].endswith("integrator-needs-api-key")
    detail = problem["detail"]
    assert "API-nøkkel" in detail and "API key" in detail
    assert "POST /api-keys" in detail and "stayactive apikeys add" in detail
    users = {u["username"]: u for u in admin.get("/users").json()}
    assert "sync-user" not in users
    finance = users["tenant-a-finance"]
    made = admin.put(f"/users/{finance['user_id']}/role", json={"role": "integrator"})
    assert made.status_code == 422 and made.json()["type"].endswith("integrator-needs-api-key")
    after = {u["username"]: u for u in admin.get("/users").json()}
    assert after["tenant-a-finance"]["role"] == "finance"


def test_an_integrator_accounts_password_login_is_refused_like_a_wrong_one(
    api_world: World,
) -> None:
    """An account that has the integrator role anyway (made before POST /users refused it, or
    by hand: the seed writes one) logged in with its password and got a session."""
    with httpx.Client(base_url=api_world.api.url + "/api/v1", timeout=30) as c:
        right = c.post(
            "/auth/token", data={"username": "tenant-a-integrator", "password": PASSWORD}
        )
        wrong = c.post("/auth/token", data={"username": "tenant-a-admin", "password": "nope"})
    assert right.status_code == 401, right.text
    assert right.json() == wrong.json()  # the answer tells nothing
    with api_world.connect() as conn:
        failures = conn.execute(
            """SELECT scope, failures FROM login_throttle
               WHERE username = 'tenant-a-integrator' ORDER BY scope"""
        ).fetchall()
        (sessions,) = conn.execute(
            """SELECT count(*) FROM api_sessions s JOIN users u USING (user_id)
               WHERE u.username = 'tenant-a-integrator'"""
        ).fetchone() or (0,)
    assert failures == [("account", 1), ("account_client", 1)] and sessions == 0
    # The integrator itself calls with its key.
    assert api_world.client("tenant-a-integrator").get("/me").json()["role"] == "integrator"
