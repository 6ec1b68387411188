"""A database restart in the middle of a care-record import: the import stops, is rolled back
whole and says to run it again; it does not turn the remaining rows into row errors."""

from __future__ import annotations

import threading
from io import StringIO

import psycopg
import pytest
from psycopg.rows import TupleRow

from stayactive import services
from stayactive.errors import ImportInterrupted, StorageUnavailable
from stayactive.records import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, import_care_records
from stayactive.services import postgres
from tests.fixtures.services import Schema
from tests.fixtures.streams import wait_until
from tests.reports.reports_helpers import csv_text

N_STAYS = 20
HELD_REF = "S-10"  # the row the import is held at while the database restarts


def extract() -> StringIO:
    rows = [
        {
            "external_ref": f"S-{i}",
            "resident": f"R-{i:04d}",
            "site": "Hillevåg",
            "ward": "ward-a",
            "admitted_at": "2026-03-10T11:00:00+01:00",
            "discharged_at": "2026-03-20T11:00:00+01:00",
            "stay_type": "18",
            "discharge_destination": "home",
            "consent_evaluation": "true",
        }
        for i in range(1, N_STAYS + 1)
    ]
    return csv_text([*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS], rows)


def count(conn: psycopg.Connection[TupleRow], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def sleeping_backends(conn: psycopg.Connection[TupleRow]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
        "AND datname = current_database()"
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.slow
def test_a_database_restart_stops_the_import_and_rolls_it_back(schema: Schema) -> None:
    assert schema.settings.uses_local_database, "this test restarts the local cluster"
    with schema.connect() as setup:
        # Holds the import at one row (in pg_sleep) so that the restart comes mid-import.
        setup.execute(
            f"""CREATE FUNCTION hold_import() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.external_ref = '{HELD_REF}' THEN PERFORM pg_sleep(120); END IF;
                    RETURN NEW;
                END $$"""
        )
        setup.execute(
            "CREATE TRIGGER hold BEFORE INSERT ON stays FOR EACH ROW EXECUTE FUNCTION hold_import()"
        )
    outcome: dict[str, object] = {}

    def run_import() -> None:
        with schema.connect(autocommit=False) as conn:
            try:
                outcome["report"] = import_care_records(conn, "stavanger", extract())
                conn.commit()
            except Exception as exc:  # the test inspects whatever it was
                outcome["error"] = exc

    importer = threading.Thread(target=run_import)
    importer.start()
    with schema.connect() as watch:
        wait_until(lambda: sleeping_backends(watch) == 1, 30, f"the import held at {HELD_REF}")
        assert count(watch, "stays") == 0  # nothing is visible before the commit
    postgres.restart(services.paths_for(schema.settings))
    importer.join(60)
    assert not importer.is_alive()

    error = outcome.get("error")
    assert "report" not in outcome, outcome.get("report")
    assert isinstance(error, ImportInterrupted), repr(error)
    assert isinstance(error, StorageUnavailable)  # what the caller does: retry
    assert error.line == 11  # the header is line 1, so S-10 is on line 11
    assert "run it again" in str(error)

    with schema.connect() as after:
        # Rolled back whole: not even the nine rows before the restart, nor the tenant.
        assert [count(after, t) for t in ("tenants", "residents", "stays", "consents")] == [0] * 4
        after.execute("DROP TRIGGER hold ON stays")
        report = import_care_records(after, "stavanger", extract())
        assert (report.rows, report.created, report.failed) == (N_STAYS, N_STAYS, 0)
        assert count(after, "stays") == N_STAYS
