"""The schema enforces the registry's rules itself: constraints rather than trust."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import errors
from psycopg.rows import TupleRow

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _tenant(conn: psycopg.Connection[TupleRow], tenant: str = "stavanger") -> None:
    conn.execute("INSERT INTO tenants (tenant_id, name) VALUES (%s, %s)", (tenant, tenant.title()))


def _resident(conn: psycopg.Connection[TupleRow], pseudonym: str, tenant: str = "stavanger") -> int:
    row = conn.execute(
        "INSERT INTO residents (tenant_id, pseudonym, birth_year) VALUES (%s, %s, 1940) "
        "RETURNING resident_id",
        (tenant, pseudonym),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _device(conn: psycopg.Connection[TupleRow], device_id: str, tenant: str = "stavanger") -> None:
    conn.execute(
        "INSERT INTO devices (device_id, tenant_id, kind, serial) VALUES (%s, %s, 'walker', %s)",
        (device_id, tenant, "SN-" + device_id),
    )


def _assign(
    conn: psycopg.Connection[TupleRow],
    device_id: str,
    resident_id: int,
    start: datetime,
    end: datetime | None,
    tenant: str = "stavanger",
) -> None:
    conn.execute(
        "INSERT INTO device_assignments (tenant_id, device_id, resident_id, valid) "
        "VALUES (%s, %s, %s, tstzrange(%s, %s))",
        (tenant, device_id, resident_id, start, end),
    )


def test_overlapping_assignment_of_one_device_is_rejected(
    conn: psycopg.Connection[TupleRow],
) -> None:
    _tenant(conn)
    _device(conn, "W-0001")
    anna, bjorn = _resident(conn, "R-anna01"), _resident(conn, "R-bjorn1")
    _assign(conn, "W-0001", anna, T0, T0 + timedelta(days=10))
    with pytest.raises(errors.ExclusionViolation):
        _assign(conn, "W-0001", bjorn, T0 + timedelta(days=9), None)
    # Back to back is fine: ranges are half-open.
    _assign(conn, "W-0001", bjorn, T0 + timedelta(days=10), None)
    count = conn.execute("SELECT count(*) FROM device_assignments").fetchone()
    assert count == (2,)


def test_open_ended_assignment_blocks_later_ones(
    conn: psycopg.Connection[TupleRow],
) -> None:
    _tenant(conn)
    _device(conn, "W-0002")
    anna, bjorn = _resident(conn, "R-anna01"), _resident(conn, "R-bjorn1")
    _assign(conn, "W-0002", anna, T0, None)
    with pytest.raises(errors.ExclusionViolation):
        _assign(conn, "W-0002", bjorn, T0 + timedelta(days=30), T0 + timedelta(days=31))


def test_rows_of_two_tenants_cannot_be_linked(conn: psycopg.Connection[TupleRow]) -> None:
    _tenant(conn, "stavanger")
    _tenant(conn, "kristiansand")
    _device(conn, "W-0003", tenant="stavanger")
    other = _resident(conn, "R-krs001", tenant="kristiansand")
    with pytest.raises(errors.ForeignKeyViolation):
        _assign(conn, "W-0003", other, T0, None, tenant="stavanger")


def test_resident_cannot_have_two_overlapping_stays(
    conn: psycopg.Connection[TupleRow],
) -> None:
    _tenant(conn)
    conn.execute("INSERT INTO sites (tenant_id, name) VALUES ('stavanger', 'Hundvåg')")
    conn.execute(
        "INSERT INTO wards (tenant_id, site_id, name) "
        "SELECT 'stavanger', site_id, 'Korttid 1' FROM sites"
    )
    anna = _resident(conn, "R-anna01")
    insert = (
        "INSERT INTO stays (tenant_id, resident_id, ward_id, admitted_at, discharged_at, "
        "stay_type, discharge_destination) "
        "SELECT 'stavanger', %s, ward_id, %s, %s, %s, %s FROM wards"
    )
    conn.execute(insert, (anna, T0, T0 + timedelta(days=14), 19, "home"))
    with pytest.raises(errors.ExclusionViolation):
        conn.execute(insert, (anna, T0 + timedelta(days=7), None, 19, None))
    with pytest.raises(errors.CheckViolation):  # KPR code 17 is not a short-term stay
        conn.execute(insert, (anna, T0 + timedelta(days=20), None, 17, None))
    with pytest.raises(errors.CheckViolation):  # a discharge needs a destination
        conn.execute(insert, (anna, T0 + timedelta(days=20), T0 + timedelta(days=25), 18, None))


def test_invalid_time_zone_is_rejected(conn: psycopg.Connection[TupleRow]) -> None:
    with pytest.raises(errors.CheckViolation):
        conn.execute(
            "INSERT INTO tenants (tenant_id, name, time_zone) VALUES ('x1', 'X', 'Europe/Nowhere')"
        )


def test_audit_log_is_append_only(conn: psycopg.Connection[TupleRow]) -> None:
    conn.execute("INSERT INTO audit_log (actor, action) VALUES ('nurse1', 'read_resident')")
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        conn.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        conn.execute("DELETE FROM audit_log")
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        conn.execute("TRUNCATE audit_log")
    assert conn.execute("SELECT actor FROM audit_log").fetchall() == [("nurse1",)]


def test_user_password_must_be_an_argon2_hash(conn: psycopg.Connection[TupleRow]) -> None:
    _tenant(conn)
    with pytest.raises(errors.CheckViolation):
        conn.execute(
            "INSERT INTO users (tenant_id, username, role, password_hash) "
            "VALUES ('stavanger', 'nurse1', 'care_staff', 'plaintext')"
        )


def test_raw_message_is_stored_once(conn: psycopg.Connection[TupleRow]) -> None:
    insert = (
        "INSERT INTO device_status (time, device_id, tenant_id, boot, seq, state, received_at) "
        "VALUES (%s, 'W-0001', 'stavanger', 3, 17, 'online', now()) ON CONFLICT DO NOTHING"
    )
    conn.execute(insert, (T0,))
    conn.execute(insert, (T0,))
    assert conn.execute("SELECT count(*) FROM device_status").fetchone() == (1,)


def test_frame_arrays_must_have_equal_lengths(conn: psycopg.Connection[TupleRow]) -> None:
    three, two = [0.0, 0.1, 0.2], [0.0, 0.1]
    with pytest.raises(errors.CheckViolation):
        conn.execute(
            "INSERT INTO walker_frames VALUES (%s, 'W-0001', 'stavanger', 0, 1, 0, 50, "
            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())",
            (T0, three, three, three, three, three, three, three, three, three, two, [False] * 3),
        )
