"""Connection pools: the schema on the search path, broken connections replaced, timeouts ours."""

from __future__ import annotations

import asyncio

import pytest

from stayactive import db
from stayactive.errors import ConstraintViolation, StorageUnavailable
from tests.fixtures.services import Schema


def test_pooled_connections_see_the_schema_and_commit_at_the_end(schema: Schema) -> None:
    with db.open_pool(schema.settings, schema=schema.name, max_size=2) as pool:
        with db.pooled(pool) as conn:
            row = conn.execute("SHOW search_path").fetchone()
            assert row is not None and row[0] == f"{schema.name},public"
            zone = conn.execute("SHOW timezone").fetchone()
            assert zone is not None and zone[0] == "UTC"
            conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ('oslo', 'Oslo')")
        with pytest.raises(ConstraintViolation), db.pooled(pool) as conn:
            conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ('bergen', 'Bergen')")
            conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ('oslo', 'Oslo')")
    with schema.connect() as conn:
        rows = conn.execute("SELECT tenant_id FROM tenants ORDER BY 1").fetchall()
    assert rows == [("oslo",)]  # the failed block rolled back whole


def test_a_connection_broken_by_the_server_is_replaced(schema: Schema) -> None:
    with db.open_pool(schema.settings, schema=schema.name, min_size=1, max_size=1) as pool:
        with db.pooled(pool) as conn:
            first_pid = conn.info.backend_pid
        with schema.connect() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
        with db.pooled(pool) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None and row[0] != first_pid


def test_waiting_too_long_for_a_connection_is_storage_unavailable(schema: Schema) -> None:
    pool = db.open_pool(schema.settings, schema=schema.name, max_size=1, timeout_s=0.3)
    with pool, db.pooled(pool), pytest.raises(StorageUnavailable), db.pooled(pool):
        pass  # the only connection is in use by the outer block


def test_an_unreachable_database_fails_to_open_the_pool(schema: Schema) -> None:
    nowhere = schema.settings.model_copy(
        update={"database_url": "postgresql://nobody:x@127.0.0.1:1/none"}
    )
    with pytest.raises(StorageUnavailable):
        db.open_pool(nowhere, timeout_s=0.5)


def test_the_async_pool_is_built_inside_the_event_loop(schema: Schema) -> None:
    async def use() -> tuple[str, int]:
        pool = await db.open_async_pool(schema.settings, schema=schema.name, max_size=2)
        try:
            async with db.pooled_async(pool) as conn:
                await conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ('oslo', 'O')")
            async with db.pooled_async(pool) as conn:
                cur = await conn.execute("SHOW search_path")
                path = await cur.fetchone()
                cur = await conn.execute("SELECT count(*) FROM tenants")
                count = await cur.fetchone()
            with pytest.raises(ConstraintViolation):
                async with db.pooled_async(pool) as conn:
                    await conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ('oslo', 'O')")
        finally:
            await pool.close()
        assert path is not None and count is not None
        return str(path[0]), int(count[0])

    assert asyncio.run(use()) == (f"{schema.name},public", 1)
