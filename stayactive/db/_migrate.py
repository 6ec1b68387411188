"""Numbered SQL migrations, applied in order, each recorded with its checksum.

Files are ``NNNN_name.sql`` in ``stayactive/db/migrations``. A migration runs in one transaction.
An applied file whose content changed, or an applied migration whose file is gone, stops the
run: the schema history must not silently diverge from the code. An advisory lock makes a
second starter wait for the first instead of racing it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from stayactive.db._connect import check_schema_name, connect
from stayactive.errors import MigrationError
from stayactive.settings import Settings

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """The migration files shipped with the package, in version order."""
    found: list[Migration] = []
    folder = resources.files("stayactive.db").joinpath("migrations")
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number: {versions}")
    return found


def migrate(
    settings: Settings, *, schema: str | None = None, migrations: list[Migration] | None = None
) -> list[Migration]:
    """Apply the pending migrations to ``schema``; return the ones applied now."""
    schema = check_schema_name(schema or settings.database_schema)
    todo = available_migrations() if migrations is None else migrations
    # No statement timeout: a migration may rewrite a large table.
    with connect(settings, schema=schema, autocommit=True, statement_timeout_s=0) as conn:
        _prepare_database(conn, schema)
        # Session-level lock: held across the per-migration transactions below.
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"stayactive-migrate:{schema}",))
        try:
            applied = {
                int(v): c
                for v, c in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            _check_history(applied, todo)
            done: list[Migration] = []
            for migration in todo:
                if migration.version in applied:
                    continue
                log.info("applying migration %04d_%s", migration.version, migration.name)
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum)"
                        " VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                done.append(migration)
            return done
        finally:
            conn.execute(
                "SELECT pg_advisory_unlock(hashtext(%s))", (f"stayactive-migrate:{schema}",)
            )


def _prepare_database(conn: psycopg.Connection[TupleRow], schema: str) -> None:
    # Extensions are database-wide and live in `public`; the application's tables live in `schema`.
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('stayactive-extensions'))")
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb SCHEMA public")
        conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public")
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   checksum   text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now()
               )"""
        )


def _check_history(applied: dict[int, str], files: list[Migration]) -> None:
    by_version = {m.version: m for m in files}
    for version, checksum in sorted(applied.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"migration {version:04d} is applied in the database but its file is missing: "
                "this code is older than the database"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{migration.name}.sql changed after it was applied "
                f"(recorded checksum {checksum[:12]}…, file {migration.checksum[:12]}…): "
                "write a new migration instead of editing an applied one"
            )
    pending = [v for v in by_version if v not in applied]
    if applied and pending and min(pending) < max(applied):
        raise MigrationError(
            f"migration {min(pending):04d} is older than the newest applied one "
            f"({max(applied):04d}); it would be applied out of order"
        )
