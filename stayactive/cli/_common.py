"""Helpers of the admin commands: who runs them, async connections, one-line errors."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from psycopg.rows import TupleRow

from stayactive.db import check_schema_name
from stayactive.errors import StorageUnavailable
from stayactive.settings import Settings

T = TypeVar("T")


def os_user() -> str:
    """The operator's login name, recorded as ``cli:<name>`` in the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


async def with_async_conn(
    settings: Settings, work: Callable[[psycopg.AsyncConnection[TupleRow]], Awaitable[T]]
) -> T:
    """Run ``work`` on an async connection in one transaction (committed if it returns)."""
    schema = check_schema_name(settings.database_schema)
    try:
        conn = await psycopg.AsyncConnection.connect(
            settings.dsn(), options=f"-c search_path={schema},public -c timezone=UTC"
        )
    except psycopg.OperationalError as exc:
        raise StorageUnavailable(f"cannot connect to the database: {exc}".strip()) from exc
    async with conn:
        return await work(conn)
