"""Migrations: ordered, idempotent, checksum-guarded, one starter at a time."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from stayactive import db
from stayactive.errors import MigrationError
from tests.fixtures.services import Schema


def test_migrate_twice_applies_nothing_the_second_time(empty_schema: Schema) -> None:
    first = db.migrate(empty_schema.settings, schema=empty_schema.name)
    second = db.migrate(empty_schema.settings, schema=empty_schema.name)
    assert [m.version for m in first] == [m.version for m in db.available_migrations()]
    assert second == []
    with empty_schema.connect() as conn:
        rows = conn.execute("SELECT version, checksum FROM schema_migrations ORDER BY 1").fetchall()
    assert rows == [(m.version, m.checksum) for m in db.available_migrations()]


def test_changed_applied_migration_is_refused(schema: Schema) -> None:
    files = db.available_migrations()
    edited = [dataclasses.replace(files[0], sql=files[0].sql + "\n-- edited\n"), *files[1:]]
    with pytest.raises(MigrationError, match="changed after it was applied"):
        db.migrate(schema.settings, schema=schema.name, migrations=edited)


def test_missing_file_of_applied_migration_is_refused(schema: Schema) -> None:
    with pytest.raises(MigrationError, match="file is missing"):
        db.migrate(schema.settings, schema=schema.name, migrations=db.available_migrations()[:1])


def test_out_of_order_migration_is_refused(empty_schema: Schema) -> None:
    files = db.available_migrations()
    db.migrate(empty_schema.settings, schema=empty_schema.name, migrations=[files[0]])
    late = db.Migration(files[-1].version + 1, "later", "SELECT 1;")
    db.migrate(empty_schema.settings, schema=empty_schema.name, migrations=[files[0], late])
    with pytest.raises(MigrationError, match="out of order"):
        db.migrate(empty_schema.settings, schema=empty_schema.name, migrations=[*files, late])


def test_two_concurrent_starters_apply_each_migration_once(empty_schema: Schema) -> None:
    results: list[list[db.Migration]] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(db.migrate(empty_schema.settings, schema=empty_schema.name))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    applied = sorted(len(r) for r in results)
    assert applied == [0, len(db.available_migrations())]


def test_raw_tables_are_hypertables_with_one_day_chunks(schema: Schema) -> None:
    with schema.connect() as conn:
        rows = conn.execute(
            """SELECT hypertable_name, time_interval FROM timescaledb_information.dimensions
               WHERE hypertable_schema = %s ORDER BY 1""",
            (schema.name,),
        ).fetchall()
    assert [r[0] for r in rows] == ["device_status", "robot_events", "walker_frames"]
    assert {str(r[1]) for r in rows} == {"1 day, 0:00:00"}


def test_login_throttle_rows_of_a_name_survive_0025(empty_schema: Schema) -> None:
    """The counters kept per name before 0025 become its rows of one name over every address,
    locks and all; the API's role may now delete rows (the purge)."""
    older = [m for m in db.available_migrations() if m.version < 25]
    db.migrate(empty_schema.settings, schema=empty_schema.name, migrations=older)
    with empty_schema.connect() as conn:
        conn.execute(
            """INSERT INTO login_throttle (username, failures, last_failed_at, locked_until)
               VALUES ('pleier.a', 7, now(), now() + interval '60 seconds')"""
        )
    db.migrate(empty_schema.settings, schema=empty_schema.name)
    with empty_schema.connect() as conn:
        row = conn.execute(
            "SELECT scope, username, client, failures, locked_until > now() FROM login_throttle"
        ).fetchone()
        api_may_delete = conn.execute(
            "SELECT has_table_privilege('stayactive_api', 'login_throttle', 'DELETE')"
        ).fetchone()
    assert row == ("account", "pleier.a", "", 7, True)
    assert api_may_delete == (True,)
