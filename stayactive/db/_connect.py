"""Opening connections with the application schema on the search path."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from stayactive.db._errors import translated
from stayactive.errors import ConfigurationError
from stayactive.settings import Settings

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CONNECT_TIMEOUT_S = 10


def check_schema_name(schema: str) -> str:
    """Return ``schema`` if it is a plain lower-case identifier, else raise."""
    if not _SCHEMA_NAME.match(schema):
        raise ConfigurationError(f"invalid database schema name {schema!r}")
    return schema


def connection_options(settings: Settings, schema: str | None = None) -> dict[str, Any]:
    """Keyword arguments of ``psycopg.connect`` (and of the pools' connections): ``schema``
    (default: the settings') first on the search path, UTC as the session time zone."""
    name = check_schema_name(schema or settings.database_schema)
    return {
        "options": f"-c search_path={name},public -c timezone=UTC",
        "connect_timeout": CONNECT_TIMEOUT_S,
    }


def connect(
    settings: Settings, *, schema: str | None = None, autocommit: bool = False
) -> psycopg.Connection[TupleRow]:
    """Connect to the configured database with ``schema`` (default: the settings') first on the
    search path. Unreachable servers raise :class:`StorageUnavailable` (retry later)."""
    kwargs = connection_options(settings, schema)
    with translated():
        return psycopg.connect(settings.dsn(), autocommit=autocommit, **kwargs)
