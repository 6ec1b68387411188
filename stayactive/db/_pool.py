"""Connection pools for long-running services (the API, workers that serve many requests).

Nothing is built at import time: a service opens its pool when it starts (the API in its
lifespan) and closes it when it stops, so tests can open one per test against their own schema.
Connections come with the same search path and session time zone as :func:`db.connect
<stayactive.db.connect>`, are checked before they are handed out (a connection broken by a
database restart is replaced, not given to a request), and waiting longer than ``timeout_s``
for one raises :class:`~stayactive.errors.StorageUnavailable`.

Usage::

    with db.open_pool(settings) as pool, db.pooled(pool) as conn:
        conn.execute(...)                 # committed when the block ends, rolled back on error

    pool = await db.open_async_pool(settings)   # inside the event loop, e.g. a lifespan
    async with db.pooled_async(pool) as conn:
        await conn.execute(...)
    await pool.close()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from stayactive.db._connect import connection_options
from stayactive.db._errors import translated
from stayactive.settings import DbRole, Settings

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]

DEFAULT_MIN_SIZE = 1
DEFAULT_MAX_SIZE = 8
DEFAULT_TIMEOUT_S = 10.0


def open_pool(
    settings: Settings,
    *,
    schema: str | None = None,
    min_size: int = DEFAULT_MIN_SIZE,
    max_size: int = DEFAULT_MAX_SIZE,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    name: str = "stayactive",
    role: DbRole = "owner",
) -> Pool:
    """An open pool of connections to ``schema`` (default: the settings') as ``role``; close it
    when done (it is a context manager). Raises :class:`StorageUnavailable` when the database
    cannot be reached within ``timeout_s``."""
    pool: Pool = ConnectionPool(
        check=ConnectionPool.check_connection,
        **_options(settings, schema, min_size, max_size, timeout_s, name, role),
    )
    with translated():
        try:
            pool.open(wait=True, timeout=timeout_s)
        except BaseException:
            pool.close()
            raise
    return pool


async def open_async_pool(
    settings: Settings,
    *,
    schema: str | None = None,
    min_size: int = DEFAULT_MIN_SIZE,
    max_size: int = DEFAULT_MAX_SIZE,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    name: str = "stayactive-async",
    role: DbRole = "owner",
) -> AsyncPool:
    """The asynchronous twin of :func:`open_pool`, for an asyncio service such as the API.

    It must be called from within the running event loop (the pool's workers are tasks of that
    loop), which is why it is built on first use and never at import time.
    """
    pool: AsyncPool = AsyncConnectionPool(
        check=AsyncConnectionPool.check_connection,
        **_options(settings, schema, min_size, max_size, timeout_s, name, role),
    )
    with translated():
        try:
            await pool.open(wait=True, timeout=timeout_s)
        except BaseException:
            await pool.close()
            raise
    return pool


def _options(
    settings: Settings,
    schema: str | None,
    min_size: int,
    max_size: int,
    timeout_s: float,
    name: str,
    role: DbRole,
) -> dict[str, Any]:
    # Shared by both pools; opened by the caller (open=False), so that a failure to open is ours.
    return {
        "conninfo": settings.dsn(role=role),
        "kwargs": connection_options(settings, schema),
        "min_size": min_size,
        "max_size": max_size,
        "timeout": timeout_s,
        "name": name,
        "open": False,
    }


@contextmanager
def pooled(pool: Pool) -> Iterator[psycopg.Connection[TupleRow]]:
    """A connection from ``pool`` for the block: committed at its end, rolled back if it
    raises, and database errors translated (:func:`db.translated <stayactive.db.translated>`)."""
    with translated(), pool.connection() as conn:
        yield conn


@asynccontextmanager
async def pooled_async(pool: AsyncPool) -> AsyncIterator[psycopg.AsyncConnection[TupleRow]]:
    """The asynchronous twin of :func:`pooled`."""
    with translated():
        async with pool.connection() as conn:
            yield conn
