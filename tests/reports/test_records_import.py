"""Importing care-record extracts: good and bad rows, idempotence, updates, consents, times."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow

from stayactive.errors import ConfigurationError
from stayactive.records import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    import_assignments,
    import_care_records,
    parse_instant,
)
from tests.reports.reports_helpers import OSLO, csv_text

# The documented columns: required ones, then the optional ones, as the importer names them.
COLUMNS = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]


def stay(ref: str, resident: str = "R-0001", **fields: str) -> dict[str, str]:
    row = {
        "external_ref": ref,
        "resident": resident,
        "birth_year": "1940",
        "sex": "female",
        "site": "Hillevåg",
        "ward": "ward-a",
        "ward_go_live_on": "2026-03-02",
        "admitted_at": "2026-03-10T11:00:00+01:00",
        "discharged_at": "2026-03-20T11:00:00+01:00",
        "stay_type": "18",
        "discharge_destination": "home",
        "consent_evaluation": "true",
        "consent_open_data": "false",
        "admission_gait_speed_mps": "0.42",
        "hospital_admission_at": "",
    }
    row.update(fields)
    return row


def count(conn: psycopg.Connection[TupleRow], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_good_rows_are_kept_and_bad_rows_reported_with_line_field_and_reason(
    conn: psycopg.Connection[TupleRow],
) -> None:
    rows = [
        stay("S-1"),
        stay("S-2", stay_type="21"),  # line 3: not a short-term stay code
        stay("S-3", resident="R-0003", discharged_at="2026-03-01T10:00:00+01:00"),  # before adm.
        stay("S-4", resident="R-0004", discharged_at="", discharge_destination=""),  # ongoing
        stay("S-5", resident="x", birth_year="18x0", consent_evaluation="maybe"),  # three errors
        stay("S-6", resident="R-0001", admitted_at="2026-03-15T11:00:00+01:00"),  # overlaps S-1
        stay("S-7", resident="R-0007", ward="ward-c", ward_go_live_on=""),  # comparison ward
    ]
    report = import_care_records(conn, "stavanger", csv_text(COLUMNS, rows))
    assert (report.rows, report.created, report.failed) == (7, 3, 4)
    assert report.tenant_created
    problems = {(e.line, e.field) for e in report.errors}
    assert (3, "stay_type") in problems
    assert (4, "discharged_at") in problems
    assert {(6, "resident"), (6, "birth_year"), (6, "consent_evaluation")} <= problems
    overlap = next(e for e in report.errors if e.line == 7)
    assert overlap.field == "admitted_at" and "overlaps another stay" in overlap.reason
    assert "line 3 (S-2), stay_type" in str(next(e for e in report.errors if e.line == 3))
    assert count(conn, "stays") == 3
    assert count(conn, "wards") == 2
    go_live = conn.execute("SELECT go_live_on FROM wards WHERE name = 'ward-c'").fetchone()
    assert go_live is not None and go_live[0] is None
    # Per-stay consent over the stay; the ongoing stay's consent is open-ended.
    valid = conn.execute(
        """SELECT upper_inf(c.valid) FROM consents c JOIN residents r USING (resident_id)
           WHERE r.pseudonym = 'R-0004' AND c.purpose = 'evaluation'"""
    ).fetchone()
    assert valid is not None and valid[0] is True
    assert count(conn, "stay_admission_mobility") == 3


def test_a_go_live_out_of_range_is_a_row_error(conn: psycopg.Connection[TupleRow]) -> None:
    """A go-live such as 0001-01-01 (a slip) put every stay of its ward "after" go-live; it is
    now that row's error, naming the range, and the ward is not created."""
    rows = [
        stay("S-1"),
        stay("S-2", resident="R-0002", ward="ward-x", ward_go_live_on="0001-01-01"),
    ]
    report = import_care_records(conn, "stavanger", csv_text(COLUMNS, rows))
    assert (report.rows, report.created, report.failed) == (2, 1, 1)
    (error,) = report.errors
    assert (error.line, error.field) == (3, "ward_go_live_on")
    assert "out of range (2000-01-01 to" in error.reason, error.reason
    assert conn.execute("SELECT 1 FROM wards WHERE name = 'ward-x'").fetchone() is None


def test_a_time_in_the_future_is_a_row_error(conn: psycopg.Connection[TupleRow]) -> None:
    """A stay admitted next year (a typing slip) was imported as an ongoing stay; a time more
    than a day past the clock is that row's error now."""
    ahead = (datetime.now(UTC) + timedelta(days=200)).isoformat(timespec="seconds")
    rows = [
        stay("S-1"),
        stay("S-2", resident="R-0002", admitted_at=ahead, discharged_at="",
             discharge_destination=""),
    ]  # fmt: skip
    report = import_care_records(conn, "stavanger", csv_text(COLUMNS, rows))
    assert (report.created, report.failed) == (1, 1)
    (error,) = report.errors
    assert (error.line, error.field) == (3, "admitted_at")
    assert "lies in the future" in error.reason


def test_a_refused_discharge_is_the_only_error_of_its_row(
    conn: psycopg.Connection[TupleRow],
) -> None:
    """A good hospital admission was also reported as "after the discharge" when the discharge
    itself was refused (not a date-time, in the future, before the admission): only the field
    at fault is reported. Without any discharge, a hospital admission still is an error."""
    ahead = (datetime.now(UTC) + timedelta(days=200)).isoformat(timespec="seconds")
    hospital = "2026-03-25T08:00:00+01:00"
    rows = [
        stay("S-1", discharged_at="20.03.2026", hospital_admission_at=hospital),
        stay("S-2", resident="R-0002", discharged_at=ahead, hospital_admission_at=hospital),
        stay("S-3", resident="R-0003", discharged_at="2026-03-01T10:00:00+01:00",
             hospital_admission_at=hospital),
        stay("S-4", resident="R-0004", discharged_at="", discharge_destination="",
             hospital_admission_at=hospital),
        stay("S-5", resident="R-0005", hospital_admission_at="2026-03-15T08:00:00+01:00"),
    ]  # fmt: skip
    report = import_care_records(conn, "stavanger", csv_text(COLUMNS, rows))
    assert (report.created, report.failed) == (0, 5)
    fields = sorted((e.line, e.field) for e in report.errors)
    assert fields == [
        (2, "discharged_at"),
        (3, "discharged_at"),
        (4, "discharged_at"),
        (5, "hospital_admission_at"),  # no discharge at all: a hospital admission after what?
        (6, "hospital_admission_at"),  # an accepted discharge after it
    ], report.errors


def test_a_ward_name_with_a_control_character_is_a_row_error(
    conn: psycopg.Connection[TupleRow],
) -> None:
    rows = [stay("S-1"), stay("S-2", resident="R-0002", ward="ward\ty")]
    report = import_care_records(conn, "stavanger", csv_text(COLUMNS, rows))
    assert (report.created, report.failed) == (1, 1)
    (error,) = report.errors
    assert (error.line, error.field) == (3, "ward"), error
    assert "control character" in error.reason


def test_import_is_idempotent_and_updates_changed_rows(
    conn: psycopg.Connection[TupleRow],
) -> None:
    first = [
        stay("S-1"),
        stay("S-2", resident="R-0002", discharged_at="", discharge_destination=""),
    ]
    import_care_records(conn, "stavanger", csv_text(COLUMNS, first))
    again = import_care_records(conn, "stavanger", csv_text(COLUMNS, first))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert count(conn, "consents") == 2
    # The ongoing stay ends, with a hospital admission a week later; S-1 loses its consent.
    later = [
        stay("S-1", consent_evaluation="false"),
        stay(
            "S-2",
            resident="R-0002",
            discharged_at="2026-03-25T12:00:00+01:00",
            hospital_admission_at="2026-04-01T08:00:00+02:00",
        ),
    ]
    report = import_care_records(conn, "stavanger", csv_text(COLUMNS, later))
    assert (report.created, report.updated, report.unchanged) == (0, 2, 0)
    assert report.consents_withdrawn == 1
    ended = conn.execute(
        """SELECT s.discharged_at, upper(c.valid) FROM stays s
           JOIN consents c ON c.resident_id = s.resident_id AND c.purpose = 'evaluation'
           WHERE s.external_ref = 'S-2'"""
    ).fetchone()
    assert ended is not None and ended[0] == ended[1]
    assert count(conn, "hospital_admissions") == 1
    withdrawn = conn.execute(
        "SELECT count(*) FROM consents WHERE withdrawn_at IS NOT NULL"
    ).fetchone()
    assert withdrawn == (1,)


def test_local_times_dst_and_semicolons(conn: psycopg.Connection[TupleRow]) -> None:
    # Excel in Norway writes semicolons; times without an offset are the tenant's local time.
    rows = [
        stay("S-1", admitted_at="2026-10-20T10:00", discharged_at="2026-11-05T10:00"),
        stay("S-2", resident="R-0002", admitted_at="2026-10-25T02:30"),  # occurs twice
        stay("S-3", resident="R-0003", admitted_at="2026-03-29T02:30"),  # does not exist
    ]
    text = csv_text(COLUMNS, rows).getvalue().replace(",", ";")
    report = import_care_records(conn, "stavanger", io.StringIO(text))
    assert report.created == 1
    reasons = {e.line: e.reason for e in report.errors}
    assert "occurs twice" in reasons[3]
    assert "does not exist" in reasons[4]
    row = conn.execute("SELECT admitted_at, discharged_at FROM stays").fetchone()
    assert row is not None
    assert row[0] == datetime(2026, 10, 20, 8, 0, tzinfo=UTC)  # CEST, UTC+2
    assert row[1] == datetime(2026, 11, 5, 9, 0, tzinfo=UTC)  # CET, UTC+1


def test_parse_instant() -> None:
    assert parse_instant("2026-03-01T10:15:00+01:00", OSLO) == datetime(
        2026, 3, 1, 9, 15, tzinfo=UTC
    )
    assert parse_instant("2026-07-01 10:15", OSLO) == datetime(2026, 7, 1, 8, 15, tzinfo=UTC)
    with pytest.raises(ValueError, match="needs a time of day"):
        parse_instant("2026-03-01", OSLO)
    # Not a date at all: said so, with the documented forms, not "needs a time of day".
    for bad in ("yesterday", "notadate", "x", "2026-99-01"):
        with pytest.raises(ValueError, match="is not an ISO 8601 date-time") as refused:
            parse_instant(bad, OSLO)
        assert "2026-03-01T10:15:00+01:00" in str(refused.value)


def test_rows_contradicting_each_other_and_missing_columns(
    conn: psycopg.Connection[TupleRow], tmp_path: Path
) -> None:
    rows = [
        stay("S-1"),
        stay("S-1", resident="R-0002"),
        stay("S-3", resident="R-0003", ward_go_live_on="2026-04-01"),
    ]
    report = import_care_records(conn, "stavanger", csv_text(COLUMNS, rows))
    assert report.created == 1
    assert {e.field for e in report.errors} == {"external_ref", "ward_go_live_on"}
    path = tmp_path / "broken.csv"
    path.write_text("external_ref,resident\nS-9,R-0009\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="lacks the column"):
        import_care_records(conn, "stavanger", path)
    with pytest.raises(ConfigurationError, match="tenant id"):
        import_care_records(conn, "Not A Tenant", csv_text(COLUMNS, rows))


def test_assignments_import(conn: psycopg.Connection[TupleRow]) -> None:
    import_care_records(conn, "stavanger", csv_text(COLUMNS, [stay("S-1")]))
    columns = ["device_id", "kind", "resident", "valid_from", "valid_to"]
    rows = [
        {
            "device_id": "walker-a-01",
            "kind": "walker",
            "resident": "R-0001",
            "valid_from": "2026-03-10T13:00:00+01:00",
            "valid_to": "",
        },
        {
            "device_id": "walker-a-02",
            "kind": "walker",
            "resident": "R-9999",
            "valid_from": "notadate",
        },
    ]
    report = import_assignments(conn, "stavanger", csv_text(columns, rows))
    assert (report.created, report.failed) == (1, 1)
    assert {e.field for e in report.errors} == {"resident", "valid_from"}
    (bad_from,) = [e for e in report.errors if e.field == "valid_from"]
    assert "'notadate' is not an ISO 8601 date-time" in bad_from.reason, bad_from
    rows[0]["valid_to"] = "2026-03-20T11:00:00+01:00"
    again = import_assignments(conn, "stavanger", csv_text(columns, rows[:1]))
    assert again.updated == 1
    assert count(conn, "device_assignments") == 1
