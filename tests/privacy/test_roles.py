"""Least privilege in the database: each service role is refused what it must not do, and the
API's role sees one tenant's rows only, even when a query forgets its WHERE clause."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from psycopg import errors, sql

from stayactive import db
from stayactive.settings import Settings
from tests.privacy.conftest import RoleConn, World

pytestmark = pytest.mark.integration

DENIED = errors.InsufficientPrivilege


def _denied(conn: psycopg.Connection, statement: str, *args: object) -> str:  # type: ignore[type-arg]
    with pytest.raises(DENIED) as caught:
        conn.execute(statement, args or None)
    return str(caught.value)


def test_ingest_writes_raw_rows_and_reads_only_the_device_registry(
    world: World, as_role: RoleConn
) -> None:
    ingest = as_role("ingest")
    device = world.a.device_ids[0]
    assert ingest.execute(
        "SELECT tenant_id FROM devices WHERE device_id = %s", (device,)
    ).fetchone()
    ingest.execute(
        """INSERT INTO device_status (time, device_id, tenant_id, boot, seq, state, received_at)
           VALUES (now(), %s, 'tenant-a', 7, 1, 'online', now())""",
        (device,),
    )
    ingest.execute(
        """INSERT INTO ingest_rejects (topic, device_id, reason, payload, payload_size,
                                       payload_sha256) VALUES ('t', %s, 'x', '', 0, sha256(''))""",
        (device,),
    )
    ingest.execute("INSERT INTO message_keys (device_id, boot, seq) VALUES (%s, 7, 1)", (device,))
    ingest.execute(
        """INSERT INTO ingest_reject_overflow (device_id, reason, window_start, suppressed_n,
               payload_bytes, last_received_at) VALUES (%s, 'x', now(), 1, 0, now())""",
        (device,),
    )
    for table in ("residents", "resident_details", "stays", "consents", "users", "audit_log",
                  "resident_days", "device_assignments", "api_keys"):  # fmt: skip
        message = _denied(ingest, f"SELECT count(*) FROM {table}")
        assert f"permission denied for table {table}" in message
    _denied(ingest, "UPDATE device_status SET state = 'offline'")
    _denied(ingest, "DELETE FROM walker_frames")
    _denied(ingest, "INSERT INTO resident_days (tenant_id, resident_id, day, metric_version, "
                    "walker_data, robot_data, coverage) VALUES ('tenant-a', 1, now(), 'x', "
                    "false, false, 0)")  # fmt: skip


def test_analytics_reads_raw_and_writes_derived_only(world: World, as_role: RoleConn) -> None:
    analytics = as_role("analytics")
    assert analytics.execute("SELECT count(*) FROM walker_frames").fetchone()[0] > 0  # type: ignore[index]
    resident = world.a.resident_ids[0]
    assert (
        analytics.execute(
            "UPDATE resident_days SET computed_at = now() WHERE resident_id = %s", (resident,)
        ).rowcount
        > 0
    )
    _denied(analytics, "INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, "
                       "frame_no, rate_hz, received_at) VALUES (now(), 'x', 'tenant-a', 0, 1, 0, "
                       "50, now())")  # fmt: skip
    _denied(analytics, "DELETE FROM device_status")
    for table in ("users", "api_keys", "api_sessions", "audit_log", "resident_details"):
        _denied(analytics, f"SELECT count(*) FROM {table}")
    _denied(analytics, "UPDATE residents SET sex = 'other'")


def test_api_cannot_change_or_remove_audit_rows(world: World, as_role: RoleConn) -> None:
    api = as_role("api", "tenant-a")
    api.execute(
        """INSERT INTO audit_log (tenant_id, actor, action, subject_kind, subject_id, purpose)
           VALUES ('tenant-a', 'test', 'read', 'resident', '1', 'care')"""
    )
    assert api.execute("SELECT count(*) FROM audit_log").fetchone()[0] >= 1  # type: ignore[index]
    # Refused by the grants (not only by the append-only trigger, which the owner meets).
    for statement in ("UPDATE audit_log SET actor = 'someone else'",
                      "DELETE FROM audit_log", "TRUNCATE audit_log"):  # fmt: skip
        assert "permission denied for table audit_log" in _denied(api, statement)
    # Nor can it touch raw data: the HTTP telemetry path writes as the ingest role.
    _denied(api, "DELETE FROM walker_frames")
    _denied(api, "INSERT INTO robot_events (time, device_id, tenant_id, boot, seq, event, "
                 "session_id, body, received_at) VALUES (now(), 'x', 'tenant-a', 0, 1, "
                 "'session_end', 's', '{}', now())")  # fmt: skip
    _denied(api, "DELETE FROM resident_days")
    _denied(api, "SELECT count(*) FROM schema_migrations")


def test_api_cannot_backdate_or_number_its_audit_rows(world: World, as_role: RoleConn) -> None:
    # A service role that could choose `at` (or the id) could slip a row into the past, where a
    # reviewer of last month's log would find it; the log's times are the database's own.
    api = as_role("api", "tenant-a")
    row = api.execute(
        """INSERT INTO audit_log (at, tenant_id, actor, action, subject_kind, subject_id, purpose)
           VALUES ('2020-01-01T00:00:00Z', 'tenant-a', 'test', 'read', 'resident', '1', 'care')
           RETURNING at, at = now()"""
    ).fetchone()
    assert row is not None and row[1] is True, row
    newest = api.execute("SELECT max(audit_id) FROM audit_log").fetchone()
    assert newest is not None
    chosen = int(newest[0]) + 1000
    row = api.execute(
        """INSERT INTO audit_log (audit_id, tenant_id, actor, action) OVERRIDING SYSTEM VALUE
           VALUES (%s, 'tenant-a', 'test', 'read') RETURNING audit_id""",
        (chosen,),
    ).fetchone()
    assert row is not None and row[0] != chosen


def test_reporting_reads_and_writes_nothing(world: World, as_role: RoleConn) -> None:
    reporting = as_role("reporting")
    assert reporting.execute("SELECT count(*) FROM stays").fetchone()[0] > 0  # type: ignore[index]
    assert reporting.execute("SELECT count(*) FROM resident_days").fetchone()[0] > 0  # type: ignore[index]
    _denied(reporting, "INSERT INTO savings_designs (tenant_id, design, chosen_by, reason) "
                       "VALUES ('tenant-a', 'historical', 'x', 'y')")  # fmt: skip
    _denied(reporting, "UPDATE stays SET stay_type = 19")
    for table in ("users", "resident_details", "audit_log", "walker_frames", "api_sessions"):
        _denied(reporting, f"SELECT count(*) FROM {table}")


def test_row_level_security_blocks_another_tenant_without_a_where_clause(
    world: World, as_role: RoleConn
) -> None:
    with world.connect() as owner:
        everyone = owner.execute("SELECT count(*) FROM residents").fetchone()[0]  # type: ignore[index]
    a = as_role("api", "tenant-a")
    b = as_role("api", "tenant-b")
    nobody = as_role("api")
    # The same query, no WHERE: each tenant sees its own residents, a forgotten tenant none.
    only_a = a.execute("SELECT DISTINCT tenant_id FROM residents").fetchall()
    assert only_a == [("tenant-a",)]
    n_a = a.execute("SELECT count(*) FROM residents").fetchone()[0]  # type: ignore[index]
    n_b = b.execute("SELECT count(*) FROM residents").fetchone()[0]  # type: ignore[index]
    assert n_a == len(world.a.resident_ids) and n_b == len(world.b.resident_ids)
    assert n_a + n_b == everyone
    assert nobody.execute("SELECT count(*) FROM residents").fetchone()[0] == 0  # type: ignore[index]
    # Joined and derived tables too, and rows keyed only by a resident (their details).
    for table in ("resident_days", "stays", "consents", "walker_frames", "users", "alerts",
                  "device_assignments", "audit_log"):  # fmt: skip
        tenants = a.execute(f"SELECT DISTINCT tenant_id FROM {table}").fetchall()
        assert set(tenants) <= {("tenant-a",)}, table
    with world.connect() as owner:
        owner.execute(
            "INSERT INTO resident_details (resident_id, display_name) VALUES (%s, 'Kari')",
            (world.b.resident_ids[0],),
        )
    assert a.execute("SELECT count(*) FROM resident_details").fetchone()[0] == 0  # type: ignore[index]
    assert b.execute("SELECT count(*) FROM resident_details").fetchone()[0] == 1  # type: ignore[index]
    # Writes: another tenant's rows are not there to change, and none can be made for it.
    assert (
        a.execute("UPDATE residents SET sex = 'other' WHERE tenant_id = 'tenant-b'").rowcount == 0
    )
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        a.execute("INSERT INTO residents (tenant_id, pseudonym) VALUES ('tenant-b', 'intruder-01')")


def test_every_table_is_in_the_data_catalogue(world: World) -> None:
    """A new table must say who may use it, how the API sees it and what erasure does with it
    (a migration adds its catalogue row): found from PostgreSQL's own catalogue."""
    with world.connect() as owner:
        tables = {
            str(r[0])
            for r in owner.execute(
                """SELECT c.relname FROM pg_class c
                   WHERE c.relnamespace = current_schema()::regnamespace
                     AND c.relkind IN ('r', 'p')"""
            )
        }
        catalogue = {str(r[0]): r[1] for r in owner.execute(
            "SELECT table_name, tenant_key FROM data_catalogue")}  # fmt: skip
        with_tenant = {
            str(r[0])
            for r in owner.execute(
                """SELECT table_name FROM information_schema.columns
                   WHERE table_schema = current_schema() AND column_name = 'tenant_id'"""
            )
        }
        unprotected = [
            str(r[0])
            for r in owner.execute(
                """SELECT c.relname FROM pg_class c
                   JOIN data_catalogue d ON d.table_name = c.relname
                   WHERE c.relnamespace = current_schema()::regnamespace
                     AND d.tenant_key IS NOT NULL AND NOT c.relrowsecurity"""
            )
        ]
    assert tables - {"schema_migrations"} <= set(catalogue), tables - set(catalogue)
    # Every table with a tenant column is tenant-scoped for the API.
    assert all(catalogue.get(t) is not None for t in with_tenant & set(catalogue))
    assert unprotected == []


def test_services_connect_with_their_own_roles(world: World) -> None:
    """The API's pools log in as stayactive_api (and stayactive_ingest for HTTP telemetry);
    none of the services uses the owner."""
    r = world.client("tenant-a-admin").get("/me")
    assert r.status_code == 200
    with world.connect() as owner:
        users = {
            str(u)
            for (u,) in owner.execute(
                """SELECT DISTINCT usename FROM pg_stat_activity
                   WHERE datname = current_database() AND application_name = ''
                     AND usename LIKE 'stayactive_%'"""
            )
        }
        supers = owner.execute(
            """SELECT rolname FROM pg_roles WHERE rolname LIKE 'stayactive\\_%'
               AND (rolsuper OR rolcreaterole OR rolcreatedb)"""
        ).fetchall()
        bypass = dict(
            owner.execute(
                "SELECT rolname, rolbypassrls FROM pg_roles WHERE rolname LIKE 'stayactive\\_%'"
            )
        )
    assert "stayactive_api" in users
    assert supers == []
    assert bypass == {"stayactive_ingest": True, "stayactive_analytics": False,
                      "stayactive_api": False, "stayactive_reporting": False}  # fmt: skip


def test_concurrent_migrations_of_schemas_share_the_roles(settings: Settings) -> None:
    """Roles are cluster-wide, grants per schema: schemas migrated at the same time both end up
    with their grants and policies, and the roles are made once."""
    names = ["t_" + uuid.uuid4().hex[:16] for _ in range(3)]
    failures: list[BaseException] = []

    def migrate(name: str) -> None:
        try:
            db.migrate(settings.model_copy(update={"database_schema": name}), schema=name)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=migrate, args=(n,)) for n in names]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert failures == []
        with db.connect(settings, schema="public", autocommit=True) as owner:
            for name in names:
                grants = owner.execute(
                    """SELECT count(*) FROM information_schema.role_table_grants
                       WHERE table_schema = %s AND grantee = 'stayactive_api'""",
                    (name,),
                ).fetchone()
                policies = owner.execute(
                    "SELECT count(*) FROM pg_policies WHERE schemaname = %s", (name,)
                ).fetchone()
                assert grants and grants[0] > 30 and policies and policies[0] > 40
    finally:
        with db.connect(settings, schema="public", autocommit=True) as owner:
            for name in names:
                owner.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )


def test_docs_name_every_table(world: World) -> None:
    """docs/privacy.md (for a municipality's DPIA) says what each table holds and how long."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "privacy.md").read_text()
    with world.connect() as owner:
        names = [str(r[0]) for r in owner.execute("SELECT table_name FROM data_catalogue")]
    missing = [n for n in names if f"`{n}`" not in text]
    assert missing == []


def test_the_analytics_runner_connects_only_as_its_role(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection the runner opens (its work and its read-ahead) is the analytics role's:
    a new connection that forgets its role would run as the owner and pass every other test."""
    from analytics import runner as runner_module

    roles: list[str] = []
    real = runner_module.db.connect

    def spying(*args: object, **kwargs: object) -> object:
        roles.append(str(kwargs.get("role", "owner")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner_module.db, "connect", spying)
    runner_module.AnalyticsRunner(world.settings).run_once()
    assert len(roles) >= 2 and set(roles) == {"analytics"}, roles
