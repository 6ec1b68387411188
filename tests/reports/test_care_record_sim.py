"""The simulator's care-record extract: columns, the historical period, isolation."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from firmware_sim.records import (
    ASSIGNMENT_COLUMNS,
    CARE_RECORD_COLUMNS,
    CareRecordConfig,
    simulate_care_records,
    write_assignments,
    write_care_records,
)
from tests.reports.reports_helpers import OSLO


def test_extract_has_a_historical_period_without_devices(tmp_path: Path) -> None:
    config = CareRecordConfig(
        start=datetime(2026, 1, 5, tzinfo=OSLO),
        before_days=90,
        after_days=90,
        device_ward_stays=200,
        comparison_ward_stays=60,
        seed=4,
    )
    records = simulate_care_records(config)
    n = write_care_records(records, tmp_path / "stays.csv")
    write_assignments(records, tmp_path / "assignments.csv")
    with (tmp_path / "stays.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with (tmp_path / "assignments.csv").open(encoding="utf-8") as f:
        assignments = list(csv.DictReader(f))
    assert n == len(rows) == 260
    assert tuple(rows[0]) == CARE_RECORD_COLUMNS and tuple(assignments[0]) == ASSIGNMENT_COLUMNS
    go_live = records.go_live_on.isoformat()
    device_rows = [r for r in rows if r["ward"] in config.device_wards]
    assert {r["ward_go_live_on"] for r in device_rows} == {go_live}
    assert {r["ward_go_live_on"] for r in rows if r["ward"] == "ward-c"} == {""}
    before = {r["resident"] for r in device_rows if r["admitted_at"][:10] < go_live}
    after = {r["resident"] for r in device_rows if r["admitted_at"][:10] >= go_live}
    assigned = {a["resident"] for a in assignments}
    assert before and not (before & assigned)  # no devices before go-live
    assert assigned <= after and len(assigned) > 0.8 * len(after)
    assert all(a["valid_from"][:10] >= go_live for a in assignments)
    # Stays still going on at the extract have no discharge; times carry their UTC offset.
    ongoing = [r for r in rows if not r["discharged_at"]]
    assert ongoing and all(not r["discharge_destination"] for r in ongoing)
    assert rows[0]["admitted_at"].endswith("+01:00")
    assert {r["consent_evaluation"] for r in rows} == {"true", "false"}
    # The same config gives the same extract.
    again = simulate_care_records(config)
    assert [s.stay_id for s in again.stays] == [s.stay_id for s in records.stays]
