"""Opening connections with the application schema on the search path."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from stayactive.db._errors import translated
from stayactive.errors import ConfigurationError
from stayactive.settings import DbRole, Settings

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CONNECT_TIMEOUT_S = 10


def check_schema_name(schema: str) -> str:
    """Return ``schema`` if it is a plain lower-case identifier, else raise."""
    if not _SCHEMA_NAME.match(schema):
        raise ConfigurationError(f"invalid database schema name {schema!r}")
    return schema


def connection_options(
    settings: Settings, schema: str | None = None, *, statement_timeout_s: float | None = None
) -> dict[str, Any]:
    """Keyword arguments of ``psycopg.connect`` (and of the pools' connections): ``schema``
    (default: the settings') first on the search path, UTC as the session time zone, every
    statement limited to ``statement_timeout_s`` (default: the settings'
    ``database_statement_timeout_s``; 0 for none, e.g. migrations) and TCP keepalives on."""
    name = check_schema_name(schema or settings.database_schema)
    timeout_s = (
        settings.database_statement_timeout_s
        if statement_timeout_s is None
        else statement_timeout_s
    )
    timeout_ms = int(timeout_s * 1000)
    return {
        "options": (
            f"-c search_path={name},public -c timezone=UTC -c statement_timeout={timeout_ms}"
        ),
        "connect_timeout": CONNECT_TIMEOUT_S,
        # TCP keepalives: a database host that vanished (power, network) is noticed within
        # about a minute, not when the kernel gives up hours later; unacknowledged data for
        # 60 s closes the connection.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": 60_000,
    }


def connect(
    settings: Settings,
    *,
    schema: str | None = None,
    autocommit: bool = False,
    statement_timeout_s: float | None = None,
    role: DbRole = "owner",
) -> psycopg.Connection[TupleRow]:
    """Connect to the configured database with the options of :func:`connection_options`, as
    ``role``: a service's own role, or the owner for migrations, maintenance and the operator's
    commands (docs/privacy.md). Unreachable servers raise :class:`StorageUnavailable` (retry
    later)."""
    kwargs = connection_options(settings, schema, statement_timeout_s=statement_timeout_s)
    with translated():
        return psycopg.connect(settings.dsn(role=role), autocommit=autocommit, **kwargs)
