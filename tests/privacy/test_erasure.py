"""Withdrawal erases: after a care withdrawal no table holds a row that can be joined back to
the resident, the device's data outside their assignments stays, and what was erased is
answered, audited, and kept erased when late data arrives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from analytics import runner as runner_module
from analytics.runner import AnalyticsRunner
from analytics.stays.store import load_stays
from stayactive import db, registry
from stayactive.cli import app as cli_app
from stayactive.registry import NewDevice
from stayactive.settings import get_settings
from tests.privacy import rows
from tests.privacy.conftest import World

pytestmark = pytest.mark.integration

PSEUDONYM = "erase-me-4f2c9a"
T = "tenant-a"


@dataclass
class Setup:
    resident_id: int
    stay_id: int
    other_id: int
    shared_device: str
    robot: str
    before: datetime  # the shared walker's frames before it was the resident's
    mine: tuple[datetime, datetime]  # the resident's assignment of the shared walker
    after: datetime  # the shared walker's frames once another resident had it


def _count(conn: psycopg.Connection[TupleRow], query: str, *args: object) -> int:
    row = conn.execute(query, args).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def erasable(world: World) -> Setup:
    """A resident with a stay, care consent, a walker of their own (open assignment) and a
    shared walker they had for two days before another resident got it; telemetry, robot
    events, rejects and derived rows of every kind."""
    now = datetime.now(UTC).replace(microsecond=0)
    ward = world.a.ward_ids[0]
    other = world.a.residents_by_ward[ward][0]
    mine = (now - timedelta(days=4), now - timedelta(days=2))
    with world.connect() as conn:
        rid = registry.ensure_resident(conn, T, PSEUDONYM, 1938, "female")
        stay = conn.execute(
            """INSERT INTO stays (tenant_id, resident_id, ward_id, admitted_at, stay_type)
               VALUES (%s, %s, %s, %s, 18) RETURNING stay_id""",
            (T, rid, ward, now - timedelta(days=6)),
        ).fetchone()
        assert stay is not None
        conn.execute(
            """INSERT INTO consents (tenant_id, resident_id, purpose, valid)
               VALUES (%s, %s, 'care', tstzrange(%s, NULL))""",
            (T, rid, now - timedelta(days=6)),
        )
        conn.execute(
            "INSERT INTO resident_details (resident_id, display_name, room) "
            "VALUES (%s, 'Kari Nordmann', '114')",
            (rid,),
        )
        registry.upsert_devices(
            conn,
            T,
            [NewDevice("W-own-1", "walker", "SN-own-1", ward),
             NewDevice("W-shared-1", "walker", "SN-shared-1", ward),
             NewDevice("R-ward-1", "robot", "SN-robot-1", ward)],
        )  # fmt: skip
        registry.assign_device(conn, T, "W-own-1", rid, now - timedelta(days=6), None)
        registry.assign_device(conn, T, "W-shared-1", rid, *mine)
        registry.assign_device(conn, T, "W-shared-1", other, mine[1], None)
        for h in range(0, 48, 6):
            rows.frame(conn, T, "W-own-1", now - timedelta(days=5, hours=-h))
            rows.status(conn, T, "W-own-1", now - timedelta(days=5, hours=-h))
            rows.frame(conn, T, "W-shared-1", mine[0] + timedelta(hours=h))  # the resident's
            rows.status(conn, T, "W-shared-1", mine[0] + timedelta(hours=h))
        before = mine[0] - timedelta(hours=5)
        after = mine[1] + timedelta(hours=5)
        rows.frame(conn, T, "W-shared-1", before)  # nobody's
        rows.frame(conn, T, "W-shared-1", after)  # the other resident's
        rows.status(conn, T, "W-shared-1", after)
        other_pseudonym = conn.execute(
            "SELECT pseudonym FROM residents WHERE resident_id = %s", (other,)
        ).fetchone()[0]  # type: ignore[index]
        rows.robot_event(conn, T, "R-ward-1", now - timedelta(days=3), [PSEUDONYM])
        rows.robot_event(conn, T, "R-ward-1", now - timedelta(days=3), [PSEUDONYM, other_pseudonym])
        rows.robot_event(conn, T, "R-ward-1", now - timedelta(days=3), [other_pseudonym])
        rows.reject(conn, "W-shared-1", mine[0] + timedelta(hours=1), b"{}")
        rows.reject(conn, "R-ward-1", now - timedelta(days=9), f'{{"p":"{PSEUDONYM}"}}'.encode())
        rows.reject_overflow(conn, "W-shared-1", mine[0] + timedelta(hours=2), 40)  # the resident's
        rows.reject_overflow(conn, "W-shared-1", before, 3)  # nobody's
        conn.execute(
            """INSERT INTO device_latest_status (device_id, tenant_id, last_seen_at)
               VALUES ('W-own-1', %s, now())""",
            (T,),
        )
        for k in range(1, 6):
            conn.execute(
                """INSERT INTO resident_days (tenant_id, resident_id, day, metric_version,
                       walker_data, robot_data, coverage, steps_n)
                   VALUES (%s, %s, current_date - %s, 'test', true, false, 0.9, 900)""",
                (T, rid, k),
            )
        conn.execute(
            """INSERT INTO stay_trajectories (stay_id, tenant_id, metric_version, n_days,
                   n_days_with_data, declining_3d, steps_declining_3d)
               VALUES (%s, %s, 'test', 5, 5, false, false)""",
            (stay[0], T),
        )
        conn.execute(
            """INSERT INTO alerts (tenant_id, ward_id, resident_id, kind, since, detail)
               VALUES (%s, %s, %s, 'no_data', now(), %s)""",
            (T, ward, rid, Jsonb({"pseudonym": PSEUDONYM})),
        )
        conn.execute(
            "INSERT INTO analytics_dirty (resident_id, day) VALUES (%s, current_date) "
            "ON CONFLICT DO NOTHING",
            (rid,),
        )
        conn.commit()
    return Setup(rid, int(stay[0]), other, "W-shared-1", "R-ward-1", before, mine, after)


def test_care_withdrawal_leaves_nothing_joinable_to_the_resident(
    world: World, erasable: Setup
) -> None:
    rid = erasable.resident_id
    with world.connect() as conn:
        found_before = rows.joinable_rows(conn, rid)
        other_days = _count(
            conn, "SELECT count(*) FROM resident_days WHERE resident_id = %s", erasable.other_id
        )
        outside = _count(
            conn,
            "SELECT count(*) FROM walker_frames WHERE device_id = %s AND time IN (%s, %s)",
            erasable.shared_device, erasable.before, erasable.after,
        )  # fmt: skip
        other_events = _count(
            conn, "SELECT count(*) FROM robot_events WHERE NOT body::text LIKE %s", f"%{PSEUDONYM}%"
        )
    # The scan sees every kind of row the fixture made.
    made = {"walker_frames", "device_status", "robot_events", "ingest_rejects", "resident_days",
            "stay_trajectories", "alerts", "analytics_dirty", "resident_details",
            "device_latest_status", "message_keys", "ingest_reject_overflow"}  # fmt: skip
    assert made <= set(found_before), found_before
    assert outside == 2

    r = world.client("tenant-a-admin").post(f"/residents/{rid}/consents/care/withdraw")
    assert r.status_code == 200, r.text
    body = r.json()
    erased = body["erased"]
    assert body["consents_withdrawn"] == 1 and body["rows_erased"] > 0
    assert "not rewritten" in body["note"]
    # The answer counts what the scan found, table by table.
    assert erased["walker_frames"] == found_before["walker_frames"] == 8 + 8
    assert erased["resident_days"] == 5 and erased["stay_trajectories"] == 1
    assert erased["alerts"] == 1 and erased["resident_details"] == 1
    assert erased["robot_events"] == 1 and erased["robot_events_redacted"] == 1
    assert erased["ingest_rejects"] == 2 and erased["device_assignments_ended"] == 1
    # One key per message of the resident's walkers (16 frames, 16 statuses); the overflow
    # count of the resident's hour goes, the one from before the assignment stays.
    assert erased["message_keys"] == found_before["message_keys"] == 16 + 16
    assert erased["ingest_reject_overflow"] == 1

    with world.connect() as conn:
        assert rows.joinable_rows(conn, rid) == {}
        # Untouched: the shared walker outside the resident's assignment, the other
        # resident's days, the events of others (the shared one keeps its other participant).
        assert outside == _count(
            conn,
            "SELECT count(*) FROM walker_frames WHERE device_id = %s AND time IN (%s, %s)",
            erasable.shared_device, erasable.before, erasable.after,
        )  # fmt: skip
        assert other_days == _count(
            conn, "SELECT count(*) FROM resident_days WHERE resident_id = %s", erasable.other_id
        )
        assert _count(conn, "SELECT count(*) FROM robot_events") == other_events + 1
        # The registry keeps the resident, the stay and the proof of withdrawal.
        consent = conn.execute(
            "SELECT withdrawn_at IS NOT NULL FROM consents WHERE resident_id = %s", (rid,)
        ).fetchone()
        assert consent == (True,)
        audit = conn.execute(
            """SELECT actor, detail FROM audit_log
               WHERE action = 'consent.withdraw' AND subject_id = %s""",
            (str(rid),),
        ).fetchall()
    assert len(audit) == 1 and audit[0][0] == "tenant-a-admin"
    assert audit[0][1]["erased"] == erased and audit[0][1]["purpose"] == "care"
    # Withdrawing again: nothing left to withdraw.
    again = world.client("tenant-a-admin").post(f"/residents/{rid}/consents/care/withdraw")
    assert again.status_code == 409
    # Another tenant's admin cannot even find the resident.
    other = world.client("tenant-b-admin").post(f"/residents/{rid}/consents/care/withdraw")
    assert other.status_code == 404


def test_late_data_stays_erased_and_the_runner_leaves_the_resident_out(
    world: World, erasable: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = erasable.resident_id
    r = world.client("tenant-a-admin").post(f"/residents/{rid}/consents/care/withdraw")
    assert r.status_code == 200
    # A device replays what it buffered before the withdrawal: stored again by ingest...
    late = erasable.mine[0] + timedelta(hours=3, minutes=7)
    with world.connect() as conn:
        rows.frame(conn, T, erasable.shared_device, late)
        conn.commit()
        assert rows.joinable_rows(conn, rid) == {"walker_frames": 1, "message_keys": 1}
    # ...the runner leaves the day out (no care consent covers it) and says so...
    monkeypatch.setattr(runner_module, "SAFETY_LAG", timedelta(0))
    report = AnalyticsRunner(world.settings).run_once()
    assert report.excluded_no_consent >= 1
    # ...and maintenance erases it again.
    done = db.maintain(world.settings)
    assert done.late_care_rows_erased == 2  # the frame and its message's key
    with world.connect() as conn:
        assert rows.joinable_rows(conn, rid) == {}
        assert _count(conn, "SELECT count(*) FROM resident_days WHERE resident_id = %s", rid) == 0


def test_evaluation_withdrawal_excludes_the_stay_from_the_next_run(
    world: World, erasable: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evaluation statistics use only stays with evaluation consent; a withdrawal through the
    CLI leaves the stay out of the next load (counted), without erasing care data."""
    admin = world.client("tenant-a-admin")
    r = admin.post(
        f"/residents/{erasable.resident_id}/consents",
        json={"purpose": "evaluation", "valid_from": "2020-01-01T00:00:00+01:00"},
    )
    assert r.status_code == 201, r.text
    assert {c["purpose"]: c["status"] for c in r.json()}["evaluation"] == "given"
    with world.connect() as conn:
        before = load_stays(conn, T)
    monkeypatch.setenv("STAYACTIVE_DATABASE_SCHEMA", world.schema)
    monkeypatch.setenv("STAYACTIVE_DATABASE_NAME", world.settings.database_name)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli_app,
            ["residents", "withdraw", PSEUDONYM, "--tenant", T, "--purpose", "evaluation"],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "not rewritten" in result.output
    with world.connect() as conn:
        after = load_stays(conn, T)
        days = _count(
            conn, "SELECT count(*) FROM resident_days WHERE resident_id = %s", erasable.resident_id
        )
    key = "no consent to evaluation"
    assert after.excluded[key] == before.excluded[key] + 1
    assert days == 5  # care data is care consent's business
    listed = admin.get("/residents", params={"limit": 500}).json()["items"]
    mine = next(x for x in listed if x["resident_id"] == erasable.resident_id)
    assert mine["consent"] == {"care": "given", "evaluation": "withdrawn", "open_data": "none"}
