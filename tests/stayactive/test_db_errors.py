"""The one classification of database errors: real errors from the real server, translated."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from psycopg.rows import TupleRow

from stayactive import db
from stayactive.errors import (
    ConfigurationError,
    ConstraintViolation,
    RejectedInput,
    StorageUnavailable,
)
from stayactive.settings import Settings
from tests.fixtures.services import Schema

Conn = psycopg.Connection[TupleRow]


def _raised(conn: Conn, statement: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)
    return caught.value


def test_constraint_violations_say_which_kind_and_constraint(conn: Conn) -> None:
    conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ('oslo', 'Oslo')")
    cases = {
        "INSERT INTO tenants (tenant_id, name) VALUES ('oslo', 'Oslo')": (
            "unique",
            "tenants_pkey",
        ),
        "INSERT INTO sites (tenant_id, name) VALUES ('nowhere', 'x')": (
            "foreign_key",
            "sites_tenant_id_fkey",
        ),
        "INSERT INTO tenants (tenant_id, name) VALUES ('Not An Id', 'x')": (
            "check",
            "tenants_tenant_id_check",
        ),
        "INSERT INTO tenants (tenant_id, name) VALUES ('bergen', NULL)": ("not_null", ""),
    }
    for statement, (kind, constraint) in cases.items():
        exc = _raised(conn, statement)
        assert not db.is_transient(exc)
        ours = db.translate(exc)
        assert isinstance(ours, ConstraintViolation), statement
        assert (ours.kind, ours.reason) == (kind, f"{kind}_violation")
        assert ours.constraint == constraint
        assert ours.table in ("tenants", "sites")


def test_an_overlap_is_an_exclusion_violation(conn: Conn) -> None:
    conn.execute("CREATE TEMP TABLE periods (k int, p tstzrange, EXCLUDE USING gist "
                 "(k WITH =, p WITH &&))")  # fmt: skip
    conn.execute("INSERT INTO periods VALUES (1, tstzrange('2026-01-01', '2026-02-01'))")
    exc = _raised(conn, "INSERT INTO periods VALUES (1, tstzrange('2026-01-15', '2026-03-01'))")
    assert isinstance(exc, errors.ExclusionViolation)
    with pytest.raises(ConstraintViolation) as caught, db.translated():
        raise exc
    assert caught.value.kind == "exclusion"
    assert caught.value.constraint.startswith("periods_")
    assert isinstance(caught.value.__cause__, errors.ExclusionViolation)


def test_a_value_the_column_cannot_take_is_rejected_input(conn: Conn) -> None:
    exc = _raised(conn, "SELECT 'not a time'::timestamptz")
    ours = db.translate(exc)
    assert type(ours) is RejectedInput
    assert ours.reason == "invalid_value"
    assert "not a time" in ours.detail


def test_a_value_psycopg_cannot_send_is_rejected_input(conn: Conn) -> None:
    """A NUL character is refused by psycopg before the server sees it (no SQLSTATE)."""
    try:
        conn.execute("SELECT %s::text", ("a\x00b",))
    except psycopg.DataError as exc:
        ours = db.translate(exc)
    else:
        raise AssertionError("psycopg sent a NUL character")
    assert type(ours) is RejectedInput and ours.reason == "invalid_value"


def test_bugs_pass_through_unchanged(conn: Conn) -> None:
    exc = _raised(conn, "SELECT * FROM no_such_table")
    assert db.translate(exc) is None
    assert not db.is_transient(exc)
    with pytest.raises(errors.UndefinedTable), db.translated():
        raise exc


def test_a_terminated_session_is_transient(schema: Schema) -> None:
    with schema.connect() as victim, schema.connect() as killer:
        pid = victim.info.backend_pid
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        exc = _raised(victim, "SELECT 1")
        assert db.is_transient(exc)
        assert isinstance(db.translate(exc), StorageUnavailable)
        # The connection is broken now: using it again is transient too (no SQLSTATE).
        again = _raised(victim, "SELECT 1")
        assert again.sqlstate is None
        assert db.is_transient(again)


def test_transient_by_sqlstate_without_a_server() -> None:
    for cls in (
        errors.SerializationFailure,
        errors.DeadlockDetected,
        errors.AdminShutdown,
        errors.CannotConnectNow,
        errors.TooManyConnections,
        errors.LockNotAvailable,
        errors.ConnectionFailure,
    ):
        assert db.is_transient(cls("x")), cls.__name__
    assert db.is_transient(StorageUnavailable("x"))
    assert not db.is_transient(ValueError("x"))
    assert not db.is_transient(errors.InsufficientPrivilege("x"))
    assert isinstance(db.translate(errors.InvalidPassword("x")), ConfigurationError)


def test_an_unreachable_server_is_storage_unavailable(settings: Settings) -> None:
    nowhere = settings.model_copy(update={"database_url": "postgresql://nobody:x@127.0.0.1:1/none"})
    with pytest.raises(StorageUnavailable, match="database is unavailable"):
        db.connect(nowhere)
