"""Helpers of the admin commands: who runs them, async connections, one-line errors."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from psycopg.rows import TupleRow

from stayactive import db
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
    with db.translated():
        conn = await psycopg.AsyncConnection.connect(
            settings.dsn(), **db.connection_options(settings)
        )
        async with conn:
            return await work(conn)
