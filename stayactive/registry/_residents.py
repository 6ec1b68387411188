"""Residents (known by pseudonym only) and the periods they use a device."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import psycopg
from psycopg.rows import TupleRow

_Conn = psycopg.Connection[TupleRow]

#: What :func:`upsert_assignment` did.
Outcome = Literal["created", "updated", "unchanged"]


def ensure_resident(
    conn: _Conn,
    tenant_id: str,
    pseudonym: str,
    birth_year: int | None = None,
    sex: str = "unknown",
) -> int:
    """The id of the resident with ``pseudonym``, creating it as needed.

    A known birth year or sex updates an existing resident; an unknown one (None,
    ``"unknown"``) leaves what the registry has.
    """
    row = conn.execute(
        """INSERT INTO residents (tenant_id, pseudonym, birth_year, sex) VALUES (%s, %s, %s, %s)
           ON CONFLICT (tenant_id, pseudonym) DO UPDATE
               SET birth_year = coalesce(excluded.birth_year, residents.birth_year),
                   sex = CASE WHEN excluded.sex = 'unknown' THEN residents.sex ELSE excluded.sex END
           RETURNING resident_id""",
        (tenant_id, pseudonym, birth_year, sex),
    ).fetchone()
    assert row is not None
    return int(row[0])


def find_resident(conn: _Conn, tenant_id: str, pseudonym: str) -> int | None:
    """The id of the tenant's resident with ``pseudonym``, None if there is none."""
    row = conn.execute(
        "SELECT resident_id FROM residents WHERE tenant_id = %s AND pseudonym = %s",
        (tenant_id, pseudonym),
    ).fetchone()
    return None if row is None else int(row[0])


def assign_device(
    conn: _Conn,
    tenant_id: str,
    device_id: str,
    resident_id: int,
    valid_from: datetime,
    valid_to: datetime | None,
) -> int:
    """Assign a device to a resident for [valid_from, valid_to); overlaps are refused."""
    row = conn.execute(
        """INSERT INTO device_assignments (tenant_id, device_id, resident_id, valid)
           VALUES (%s, %s, %s, tstzrange(%s, %s)) RETURNING assignment_id""",
        (tenant_id, device_id, resident_id, valid_from, valid_to),
    ).fetchone()
    assert row is not None
    return int(row[0])


def upsert_assignment(
    conn: _Conn,
    tenant_id: str,
    device_id: str,
    resident_id: int,
    valid_from: datetime,
    valid_to: datetime | None,
) -> Outcome:
    """Assign the device as :func:`assign_device` does, idempotent on (device, resident,
    ``valid_from``): the same assignment again changes nothing, a changed ``valid_to`` updates
    it. An overlap with another resident's assignment is refused by the database."""
    existing = conn.execute(
        """SELECT assignment_id, upper(valid) FROM device_assignments
           WHERE tenant_id = %s AND device_id = %s AND resident_id = %s AND lower(valid) = %s""",
        (tenant_id, device_id, resident_id, valid_from),
    ).fetchone()
    if existing is None:
        assign_device(conn, tenant_id, device_id, resident_id, valid_from, valid_to)
        return "created"
    if existing[1] == valid_to:
        return "unchanged"
    conn.execute(
        "UPDATE device_assignments SET valid = tstzrange(%s, %s) WHERE assignment_id = %s",
        (valid_from, valid_to, existing[0]),
    )
    return "updated"


def create_resident(
    conn: _Conn, tenant_id: str, pseudonym: str, birth_year: int | None, sex: str = "unknown"
) -> int | None:
    """Register a new resident; None if the tenant has one with ``pseudonym`` already."""
    row = conn.execute(
        """INSERT INTO residents (tenant_id, pseudonym, birth_year, sex) VALUES (%s, %s, %s, %s)
           ON CONFLICT (tenant_id, pseudonym) DO NOTHING RETURNING resident_id""",
        (tenant_id, pseudonym, birth_year, sex),
    ).fetchone()
    return None if row is None else int(row[0])


def delete_assignment(conn: _Conn, tenant_id: str, assignment_id: int) -> tuple[int, str] | None:
    """Delete a (wrong) assignment of the tenant, so its days are attributed anew; return the
    (resident id, device id) it had, None if the tenant has no such assignment."""
    row = conn.execute(
        """DELETE FROM device_assignments WHERE tenant_id = %s AND assignment_id = %s
           RETURNING resident_id, device_id""",
        (tenant_id, assignment_id),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))
