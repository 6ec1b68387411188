"""The audit trail is reviewable: accesses by resident and by user, a resident's own access
log as CSV with Norwegian headers, unusual access flagged, unused accounts closed, and admin
changes (roles, wards, device credentials) audited."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from stayactive.cli import app as cli_app
from stayactive.settings import get_settings
from tests.privacy.conftest import PASSWORD, World

pytestmark = pytest.mark.integration

OSLO = ZoneInfo("Europe/Oslo")


def test_accesses_by_resident_and_by_user(world: World) -> None:
    ward = world.a.ward_ids[0]
    rid = world.a.residents_by_ward[ward][0]
    care = world.client("tenant-a-care")
    assert care.get(f"/residents/{rid}/stays").status_code == 200
    admin = world.client("tenant-a-admin")
    by_resident = admin.get("/audit", params={"resident": rid}).json()["items"]
    assert {(e["actor"], e["endpoint"]) for e in by_resident} >= {
        ("tenant-a-care", "GET /api/v1/residents/{resident_id}/stays")
    }
    by_user = admin.get("/audit", params={"user": "tenant-a-care"}).json()["items"]
    assert by_user and all(e["actor"] == "tenant-a-care" for e in by_user)
    # Another tenant's admin sees none of it.
    other = world.client("tenant-b-admin").get("/audit", params={"resident": rid}).json()
    assert other["items"] == []


def test_a_resident_gets_their_access_log_as_csv(world: World) -> None:
    ward = world.a.ward_ids[0]
    rid = world.a.residents_by_ward[ward][0]
    care = world.client("tenant-a-care")
    for _ in range(2):
        assert care.get(f"/residents/{rid}/stays").status_code == 200
    admin = world.client("tenant-a-admin")
    r = admin.get(f"/audit/residents/{rid}/access-log")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "tilgangslogg-" in r.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(r.text), delimiter=";"))
    assert table[0] == ["Tidspunkt", "Bruker", "Rolle", "Handling", "Hva ble brukt", "Formål"]
    reads = [row for row in table[1:] if row[1] == "tenant-a-care"]
    assert len(reads) == 2
    assert reads[0][3] == "lest" and reads[0][5] == "helsehjelp"
    datetime.strptime(reads[0][0], "%d.%m.%Y %H:%M:%S")  # Norwegian date and time
    # The export is itself logged; the English version has English headers.
    again = admin.get(f"/audit/residents/{rid}/access-log", params={"lang": "en"}).text
    first = next(csv.reader(io.StringIO(again)))
    assert first[:2] == ["Time", "User"]
    assert "access_log.export" in again
    assert (
        world.client("tenant-b-admin").get(f"/audit/residents/{rid}/access-log").status_code == 404
    )
    assert care.get(f"/audit/residents/{rid}/access-log").status_code == 403


def _read(conn: object, actor: str, resident: int, at: datetime) -> None:
    conn.execute(  # type: ignore[attr-defined]
        """INSERT INTO audit_log (at, tenant_id, actor, actor_role, action, subject_kind,
                                  subject_id, purpose, detail)
           VALUES (%s, 'tenant-a', %s, 'admin', 'read', 'resident', %s, 'care', %s)""",
        (at, actor, str(resident), Jsonb({})),
    )


def test_unusual_access_is_flagged(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a = world.a
    w1, w2 = a.ward_ids
    yesterday = datetime.now(OSLO).date() - timedelta(days=1)
    with world.connect() as conn:
        # The care user reads their own ward's residents in the day: nothing unusual.
        for k, rid in enumerate(a.residents_by_ward[w1]):
            _read(conn, "tenant-a-care", rid, datetime.combine(yesterday, time(10, k), OSLO))
        # At 02:30, the same user reads a resident of their ward: a night read.
        _read(conn, "tenant-a-care", a.residents_by_ward[w1][0],
              datetime.combine(yesterday, time(2, 30), OSLO))  # fmt: skip
        # The admin, who read only ward 1 in the weeks before, reads a ward 2 resident.
        for k in range(3):
            _read(conn, "tenant-a-admin", a.residents_by_ward[w1][0],
                  datetime.combine(yesterday - timedelta(days=10 + k), time(9), OSLO))  # fmt: skip
        _read(conn, "tenant-a-admin", a.residents_by_ward[w2][0],
              datetime.combine(yesterday, time(13), OSLO))  # fmt: skip
        # Another account reads 40 residents' data in five minutes.
        start = datetime.combine(yesterday, time(15), OSLO)
        rows = conn.execute(
            """INSERT INTO residents (tenant_id, pseudonym)
               SELECT 'tenant-a', 'bulk-' || g FROM generate_series(1, 40) g
               RETURNING resident_id"""
        ).fetchall()
        for k, (rid,) in enumerate(rows):
            _read(conn, "tenant-a-care2", int(rid), start + timedelta(seconds=7 * k))
        conn.commit()
    flags = (
        world.client("tenant-a-admin")
        .get("/audit/flags", params={"from": str(yesterday), "to": str(yesterday)})
        .json()
    )
    kinds = {(f["kind"], f["actor"]) for f in flags}
    assert ("night", "tenant-a-care") in kinds
    assert ("outside_usual_wards", "tenant-a-admin") in kinds
    assert ("many_residents", "tenant-a-care2") in kinds
    assert ("outside_usual_wards", "tenant-a-care") not in kinds
    assert ("many_residents", "tenant-a-care") not in kinds
    burst = next(f for f in flags if f["kind"] == "many_residents")
    assert burst["reads"] == 40 and len(burst["residents"]) == 40
    night = next(f for f in flags if f["kind"] == "night")
    assert night["reads"] == 1 and night["residents"] == [str(a.residents_by_ward[w1][0])]
    # Bokmål first for the reviewer, English beside it; the night is named by its morning.
    assert (
        night["detail"]
        == f"oppslag natten til {yesterday:%d.%m.%Y} (mellom 23:00 og 06:00 lokal tid)"
    )
    assert night["detail_en"].startswith("reads in the night of")
    assert burst["detail"] == "40 beboere innen 10 minutter"
    # The same review on the server, for the security officer.
    day = str(yesterday)
    printed = _cli(world, monkeypatch, "audit", "flags", "--tenant", "tenant-a", "--from", day,
                   "--to", day)  # fmt: skip
    assert f"{len(flags)} flagg" in printed
    assert "40 oppslag   40 beboere  40 beboere innen 10 minutter" in printed


def _cli(world: World, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("STAYACTIVE_DATABASE_SCHEMA", world.schema)
    monkeypatch.setenv("STAYACTIVE_DATABASE_NAME", world.settings.database_name)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, list(args))
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


def test_users_expire_disables_accounts_unused_for_90_days(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = world.fresh_token("tenant-a-finance")  # a live session, to be ended
    with world.connect() as conn:
        conn.execute(
            """UPDATE users SET last_login_at = now() - interval '91 days',
                                created_at = now() - interval '200 days'
               WHERE username IN ('tenant-a-finance', 'tenant-b-care')"""
        )
        conn.execute(
            """UPDATE users SET created_at = now() - interval '200 days', last_login_at = NULL
               WHERE username = 'tenant-a-integrator'"""
        )
        conn.execute(
            "UPDATE users SET last_login_at = now() - interval '89 days' "
            "WHERE username = 'tenant-a-care'"
        )
        conn.commit()
    dry = _cli(world, monkeypatch, "users", "expire", "--dry-run")
    assert "3 users" in dry and "would be closed" in dry
    out = _cli(world, monkeypatch, "users", "expire")
    assert "3 users" in out and "were closed" in out
    with world.connect() as conn:
        state = dict(conn.execute("SELECT username, active FROM users").fetchall())
        audited = {
            str(s) for (s,) in conn.execute(
                "SELECT subject_id FROM audit_log WHERE action = 'user.expire'")
        }  # fmt: skip
    assert state["tenant-a-finance"] is False and state["tenant-a-integrator"] is False
    assert state["tenant-b-care"] is False and state["tenant-a-care"] is True
    assert audited == {"tenant-a-finance", "tenant-a-integrator", "tenant-b-care"}
    # Its session ended at once, and logging in is refused.
    with world.client() as anon:
        me = anon.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
        login = anon.post(
            "/auth/token", data={"username": "tenant-a-finance", "password": PASSWORD}
        )
        assert login.status_code == 401
    # A successful login is what counts as use.
    world.fresh_token("tenant-a-care")
    with world.connect() as conn:
        row = conn.execute(
            "SELECT last_login_at > now() - interval '1 minute' FROM users "
            "WHERE username = 'tenant-a-care'"
        ).fetchone()
    assert row == (True,)


def test_admin_changes_are_audited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = world.client("tenant-a-admin")
    with world.connect() as conn:
        user_id = conn.execute(
            "SELECT user_id FROM users WHERE username = 'tenant-a-care'"
        ).fetchone()[0]  # type: ignore[index]
    assert admin.put(f"/users/{user_id}/role", json={"role": "finance"}).status_code == 200
    assert admin.put(f"/users/{user_id}/role", json={"role": "care_staff"}).status_code == 200
    w = world.a.ward_ids
    assert admin.put(f"/users/{user_id}/wards", json={"ward_ids": w}).status_code == 200
    device = world.a.device_ids[0]
    assert admin.post(f"/devices/{device}/credentials").status_code == 200
    _cli(world, monkeypatch, "users", "set-role", "tenant-a-finance", "--role", "admin")
    _cli(world, monkeypatch, "users", "set-wards", "tenant-a-care2", "--ward", str(w[0]))
    with world.connect() as conn:
        audited = conn.execute(
            """SELECT actor, action, subject_kind, subject_id, detail FROM audit_log
               WHERE purpose = 'administration' AND at > now() - interval '5 minutes'
               ORDER BY audit_id"""
        ).fetchall()
    actions = [(a, k, s) for _actor, a, k, s, _d in audited]
    assert ("set-role", "user", "tenant-a-care") in actions
    assert ("set-wards", "user", "tenant-a-care") in actions
    assert ("rotate-credentials", "device", device) in actions
    assert ("user.set-role", "user", "tenant-a-finance") in actions
    assert ("user.set-wards", "user", "tenant-a-care2") in actions
    role_rows = [d for _a, a, _k, s, d in audited if a == "set-role" and s == "tenant-a-care"]
    assert role_rows[0] == {"role": "finance", "previous": "care_staff"}
    cli_rows = [actor for actor, a, _k, _s, _d in audited if a.startswith("user.")]
    assert all(actor.startswith("cli:") for actor in cli_rows)
    # An admin cannot take away their own admin role.
    with world.connect() as conn:
        me = conn.execute("SELECT user_id FROM users WHERE username = 'tenant-a-admin'").fetchone()[
            0
        ]  # type: ignore[index]
    assert admin.put(f"/users/{me}/role", json={"role": "finance"}).status_code == 422
