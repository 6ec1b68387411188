"""Opening connections with the application schema on the search path."""

from __future__ import annotations

import re

import psycopg
from psycopg.rows import TupleRow

from stayactive.errors import ConfigurationError, StorageUnavailable
from stayactive.settings import Settings

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(schema: str) -> str:
    """Return ``schema`` if it is a plain lower-case identifier, else raise."""
    if not _SCHEMA_NAME.match(schema):
        raise ConfigurationError(f"invalid database schema name {schema!r}")
    return schema


def connect(
    settings: Settings, *, schema: str | None = None, autocommit: bool = False
) -> psycopg.Connection[TupleRow]:
    """Connect to the configured database with ``schema`` (default: the settings') first on the
    search path. Unreachable servers raise :class:`StorageUnavailable` (retry later)."""
    name = check_schema_name(schema or settings.database_schema)
    try:
        return psycopg.connect(
            settings.dsn(),
            autocommit=autocommit,
            options=f"-c search_path={name},public -c timezone=UTC",
            connect_timeout=10,
        )
    except psycopg.OperationalError as exc:
        raise StorageUnavailable(f"cannot connect to the database: {exc}".strip()) from exc
