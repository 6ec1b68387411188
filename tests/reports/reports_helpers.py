"""Helpers of the report tests: CSV text and a tenant seeded from a simulated extract."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow

from firmware_sim.records import (
    CareRecordConfig,
    SimulatedRecords,
    assignment_rows,
    care_record_rows,
    simulate_care_records,
)
from stayactive.records import import_assignments, import_care_records

OSLO = ZoneInfo("Europe/Oslo")


def csv_text(columns: list[str], rows: list[dict[str, str]]) -> io.StringIO:
    """Rows as an in-memory CSV (comma-separated, header first)."""
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join(row.get(c, "") for c in columns))
    return io.StringIO("\n".join(lines) + "\n")


@dataclass(frozen=True)
class SeededTenant:
    """A tenant loaded from a simulated extract."""

    tenant: str
    records: SimulatedRecords

    @property
    def extract_at(self) -> datetime:
        return self.records.config.extract_at


def seed_tenant(
    conn: psycopg.Connection[TupleRow], tenant: str = "stavanger", **overrides: object
) -> SeededTenant:
    """Simulate an extract (small by default), import stays and assignments into ``conn``."""
    settings: dict[str, object] = {
        "start": datetime(2025, 9, 1, tzinfo=OSLO),
        "before_days": 120,
        "after_days": 120,
        "device_ward_stays": 400,
        "comparison_ward_stays": 160,
        "effect": 1.0,
        "seed": 11,
    }
    settings.update(overrides)
    records = simulate_care_records(CareRecordConfig(**settings))  # type: ignore[arg-type]
    stays = care_record_rows(records)
    columns = list(stays[0])
    report = import_care_records(conn, tenant, csv_text(columns, stays))
    assert report.failed == 0, report.errors[:3]
    assigned = assignment_rows(records)
    if assigned:
        result = import_assignments(conn, tenant, csv_text(list(assigned[0]), assigned))
        assert result.failed == 0, result.errors[:3]
    return SeededTenant(tenant, records)
