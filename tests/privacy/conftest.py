"""Fixtures of the privacy tests: a seeded two-tenant world served by the real API, and
connections as each service role (the roles `services up` and the migrations set up)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.rows import TupleRow

from stayactive import db
from stayactive.auth import hash_password
from stayactive.settings import DbRole, Settings
from tests.api.conftest import PASSWORD, World, build_world

__all__ = ["PASSWORD", "World"]


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def world(settings: Settings, password_hash: str) -> Iterator[World]:
    """Two seeded tenants in a schema of the test's own, and the API serving it."""
    yield from build_world(settings, password_hash)


RoleConn = Callable[..., psycopg.Connection[TupleRow]]


@pytest.fixture
def as_role(world: World) -> Iterator[RoleConn]:
    """Factory: an autocommit connection as a service role, optionally naming a tenant for the
    session (as the API does per transaction)."""
    made: list[psycopg.Connection[TupleRow]] = []

    def connect(role: DbRole, tenant: str | None = None) -> psycopg.Connection[TupleRow]:
        conn = db.connect(world.settings, role=role, autocommit=True)
        made.append(conn)
        if tenant is not None:
            conn.execute("SELECT set_config('stayactive.tenant_id', %s, false)", (tenant,))
        return conn

    yield connect
    for conn in made:
        conn.close()
