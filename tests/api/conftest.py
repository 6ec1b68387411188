"""Fixtures of the API tests: a migrated schema with two seeded tenants, the real API serving
it over a socket, and logged-in clients for every role.

The module-scoped world is shared by read-only tests of a module (the matrix); tests that
change state use ``api_world`` built for them alone (function scope).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.rows import TupleRow

from stayactive import db
from stayactive.api.serve import RunningApi
from stayactive.auth import hash_password
from stayactive.settings import Settings
from stayactive.tools.bench.api_seed import SeededTenant, seed_tenant
from tests.fixtures.served import remove_broker_accounts, served_schema

PASSWORD = "correct horse battery staple"
#: Where the schemathesis run leaves its counts for the terminal summary (a config attribute).
FUZZ_COUNTS = "stayactive_fuzz_counts"


@dataclass
class World:
    """Two tenants in a schema of their own, served by a running API."""

    settings: Settings
    schema: str
    api: RunningApi
    a: SeededTenant
    b: SeededTenant
    _tokens: dict[str, str]
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, username: str | None = None, **headers: str) -> httpx.Client:
        """A client of the API, logged in as ``username`` (None: anonymous)."""
        client = httpx.Client(base_url=self.api.url + "/api/v1", timeout=60, headers=headers)
        self._clients.append(client)
        key = {**self.a.api_keys, **self.b.api_keys}.get(username or "")
        if key is not None:  # an integrator: the API key, never a password
            client.headers["X-API-Key"] = key
        elif username is not None:
            client.headers["Authorization"] = "Bearer " + self.token(username)
        return client

    def token(self, username: str) -> str:
        """A token of ``username``, logged in once per world."""
        if username not in self._tokens:
            self._tokens[username] = self.fresh_token(username)
        return self._tokens[username]

    def fresh_token(self, username: str, password: str = PASSWORD) -> str:
        """A token of a new login (a session of its own)."""
        with httpx.Client(base_url=self.api.url, timeout=30) as c:
            r = c.post("/api/v1/auth/token", data={"username": username, "password": password})
            assert r.status_code == 200, r.text
            return str(r.json()["access_token"])

    def connect(self) -> psycopg.Connection[TupleRow]:
        return db.connect(self.settings, autocommit=True)

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


def build_world(settings: Settings, password_hash: str) -> Iterator[World]:
    """Migrate a schema, seed two tenants, serve the API; undo it all afterwards."""

    def seed(conn: psycopg.Connection[TupleRow]) -> tuple[SeededTenant, SeededTenant]:
        a = seed_tenant(conn, "tenant-a", password_hash=password_hash, wards=2, seed=1)
        b = seed_tenant(
            conn, "tenant-b", password_hash=password_hash, wards=1, residents_per_ward=2, seed=2
        )
        return a, b

    # The periodic alert evaluation is off: the tests read alerts as the overview leaves them
    # (test_background.py turns it on).
    with served_schema(settings, seed, api_alerts_interval_s=0) as served:
        world = World(served.settings, served.schema, served.api, *served.seeded, {})
        try:
            yield world
        finally:
            world.close()
            remove_broker_accounts(served.settings)


@pytest.fixture(scope="module")
def shared_world(settings: Settings, password_hash: str) -> Iterator[World]:
    """A world shared by the tests of one module (they must not change what others read)."""
    yield from build_world(settings, password_hash)


@pytest.fixture
def api_world(settings: Settings, password_hash: str) -> Iterator[World]:
    """A world of the test's own."""
    yield from build_world(settings, password_hash)


@pytest.fixture
def audit_rows(api_world: World) -> Callable[..., list[tuple[object, ...]]]:
    """Factory: the audit rows of the test's world, filtered by column values."""

    def rows(**equal: object) -> list[tuple[object, ...]]:
        query = sql.SQL(
            "SELECT actor, actor_role, action, subject_kind, subject_id, purpose, endpoint "
            "FROM audit_log"
        )
        if equal:
            query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(
                sql.SQL("{} = %s").format(sql.Identifier(k)) for k in equal
            )
        with api_world.connect() as conn:
            return list(conn.execute(query + sql.SQL(" ORDER BY audit_id"), tuple(equal.values())))

    return rows


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how much the schemathesis run sent (it is part of the issue's done-when)."""
    counts: dict[str, dict[str, int]] = getattr(terminalreporter.config, FUZZ_COUNTS, {})
    if counts:
        positive = sum(c["positive"] for c in counts.values())
        negative = sum(c["negative"] for c in counts.values())
        terminalreporter.write_line(
            f"schemathesis: {len(counts)} operations passed, {positive} valid and {negative} "
            "invalid requests sent"
        )
