"""Open data: monthly aggregates with primary and secondary suppression, and a dictionary."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from analytics.stays.store import OpenDataStay
from stayactive.reports import build_open_data, dictionary_markdown, open_data, write_open_data
from stayactive.reports.open_data import COLUMN_TYPES, COLUMNS
from tests.reports.reports_helpers import OSLO, SeededTenant


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=OSLO)


def stays_admitted(month: int, n: int, los_days: int = 10, home: bool = True) -> list[OpenDataStay]:
    return [
        OpenDataStay(
            local(2026, month, 2 + k, 12),
            local(2026, month, 2 + k, 12) + timedelta(days=los_days),
            "home" if home else "long_term_care",
            False if home else None,
        )
        for k in range(n)
    ]


def by_month(rows: tuple[dict[str, str], ...]) -> dict[str, dict[str, str]]:
    return {r["month"]: r for r in rows}


def test_small_months_are_suppressed_with_a_second_cell_to_protect_the_total() -> None:
    stays = stays_admitted(1, 10) + stays_admitted(2, 3) + stays_admitted(3, 8)
    table = build_open_data(
        "t", stays, None, time_zone="Europe/Oslo", analysis_at=local(2026, 3, 31)
    )
    rows = by_month(table.rows)
    assert rows["2026-02"]["stays_admitted"] == ""  # 3 < 5
    # With February alone withheld, total - January - March would give it away: the smallest
    # other month is withheld too.
    assert rows["2026-03"]["stays_admitted"] == ""
    assert rows["2026-01"]["stays_admitted"] == "10"
    assert rows["total"]["stays_admitted"] == "21"
    assert rows["2026-03"]["complete_month"] == "false"
    assert rows["2026-01"]["median_los_days"] == "10.0"
    assert rows["2026-02"]["median_los_days"] == ""  # its discharges are withheld
    # Readmission rates need at least 5 readmitted and 5 not readmitted.
    assert rows["2026-01"]["readmission_rate_30d"] == ""
    assert rows["total"]["mean_daily_steps"] == ""
    assert any("resident_days" in note for note in table.notes)


def test_bed_days_over_dst_and_new_year_follow_the_calendar() -> None:
    # Five stays 20 Oct 2026 - 5 Jan 2027: 77 nights each, 12 + 30 + 31 + 4 by month.
    stays = [
        OpenDataStay(local(2026, 10, 20, 10), local(2027, 1, 5, 10), "long_term_care", None)
        for _ in range(5)
    ]
    table = build_open_data(
        "t", stays, None, time_zone="Europe/Oslo", analysis_at=local(2027, 1, 31)
    )
    rows = by_month(table.rows)
    assert [rows[m]["bed_days"] for m in ("2026-10", "2026-11", "2026-12", "2027-01")] == [
        "60",
        "150",
        "155",
        "20",
    ]
    assert rows["total"]["bed_days"] == str(5 * 77)
    assert rows["2027-01"]["median_los_days"] == f"{77 + 1 / 24:.1f}"


def test_steps_are_averaged_only_over_enough_residents() -> None:
    stays = stays_admitted(1, 6)
    steps = [(local(2026, 1, 5).date(), r, 1000.0 * (r + 1)) for r in range(5)]
    steps += [(local(2026, 2, 5).date(), 1, 900.0)]
    table = build_open_data(
        "t", stays, steps, time_zone="Europe/Oslo", analysis_at=local(2026, 2, 28)
    )
    rows = by_month(table.rows)
    assert rows["2026-01"]["mean_daily_steps"] == "3000"
    assert rows["2026-02"]["mean_daily_steps"] == ""


def test_no_consented_stays() -> None:
    table = build_open_data("t", [], None, time_zone="Europe/Oslo", analysis_at=local(2026, 2, 28))
    assert table.rows == ()
    assert "nothing to publish" in dictionary_markdown(table)


def test_open_data_from_the_database(
    conn: psycopg.Connection[TupleRow],
    seeded: Callable[..., SeededTenant],
    tmp_path: Path,
) -> None:
    tenant = seeded()
    table = open_data(conn, "stavanger", actor="test", analysis_at=tenant.extract_at)
    csv_path, md_path = write_open_data(table, tmp_path)
    with csv_path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(COLUMNS)
    assert rows[-1]["month"] == "total"
    for row in rows:
        for column in ("stays_admitted", "stays_discharged"):
            assert row[column] == "" or int(row[column]) >= 5
    consented = sum(tenant.records.consent_open_data.values())
    assert int(rows[-1]["stays_admitted"]) == consented
    dictionary = md_path.read_text(encoding="utf-8")
    assert all(f"`{c}`" in dictionary for c in COLUMNS)
    audited = conn.execute(
        "SELECT purpose FROM audit_log WHERE action = 'report.open_data'"
    ).fetchall()
    assert audited == [("open_data",)]


def test_every_column_has_its_json_type() -> None:
    assert list(COLUMN_TYPES) == list(COLUMNS)
