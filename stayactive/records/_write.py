"""Writing imported care records: stays, admission mobility, hospital admissions, consents.

Tenants, wards, residents, devices and assignments are written through :mod:`stayactive.registry`
(their one writer); this module owns what only a care-record import writes. Every function runs
inside the caller's savepoint: a :class:`RowProblems` or a database error rolls back that row
alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, cast
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow

from stayactive import privacy, registry
from stayactive.errors import RejectedInput
from stayactive.records._parse import CareRecord, RowError, RowProblems, parse_assignment
from stayactive.records._report import ImportReport
from stayactive.registry import Outcome

_Conn = psycopg.Connection[TupleRow]

#: ``source`` of every row this import writes, so a later import touches only its own.
IMPORT_SOURCE: Final = "records-import"


def write_care_record(
    conn: _Conn,
    tenant: str,
    r: CareRecord,
    report: ImportReport,
    *,
    actor: str = IMPORT_SOURCE,
    actor_role: str | None = None,
) -> Outcome:
    """Write one stay and what belongs to it: its ward and resident (through the registry),
    admission mobility, a hospital admission after it, and its imported consents.

    A consent the extract no longer gives is withdrawn through
    :func:`stayactive.privacy.withdraw_consent` in the name of ``actor``: for care, that
    consent's time is erased as by a withdrawal in the API, audited, counted in ``report``."""
    ward = registry.ensure_ward(conn, tenant, r.site, r.ward, r.ward_go_live_on)
    if ward.go_live_changed:
        report.notes.append(f"line {r.line}: ward {r.ward!r} go-live set to {r.ward_go_live_on}")
    ward_id = ward.ward_id
    resident_id = registry.ensure_resident(conn, tenant, r.resident, r.birth_year, r.sex)
    old = conn.execute(
        """SELECT stay_id, resident_id, ward_id, admitted_at, discharged_at, stay_type,
                  discharge_destination
           FROM stays WHERE tenant_id = %s AND external_ref = %s""",
        (tenant, r.external_ref),
    ).fetchone()
    new_values = (resident_id, ward_id, r.admitted_at, r.discharged_at, r.stay_type, r.destination)
    if old is None:
        inserted = conn.execute(
            """INSERT INTO stays (tenant_id, resident_id, ward_id, admitted_at, discharged_at,
                                  stay_type, discharge_destination, external_ref)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING stay_id""",
            (tenant, *new_values, r.external_ref),
        ).fetchone()
        assert inserted is not None
        stay_id, changed, old_admitted = int(inserted[0]), True, r.admitted_at
    else:
        stay_id, old_resident, old_admitted = int(old[0]), int(old[1]), old[3]
        if old_resident != resident_id:
            raise RowProblems.one(
                r.line,
                "resident",
                "this external_ref belongs to another resident in the registry",
                r.external_ref,
            )
        changed = tuple(old[1:]) != new_values
        if changed:
            conn.execute(
                """UPDATE stays SET ward_id = %s, admitted_at = %s, discharged_at = %s,
                                    stay_type = %s, discharge_destination = %s
                   WHERE stay_id = %s""",
                (ward_id, r.admitted_at, r.discharged_at, r.stay_type, r.destination, stay_id),
            )
    changed |= _mobility(conn, tenant, stay_id, r.gait_speed_mps)
    changed |= _hospital_admission(conn, tenant, resident_id, stay_id, r.hospital_admission_at)
    for purpose, wanted in (
        ("care", r.consent_care),
        ("evaluation", r.consent_evaluation),
        ("open_data", r.consent_open_data),
    ):
        effect = _consent(
            conn, tenant, resident_id, purpose, wanted, old_admitted, r, report, actor, actor_role
        )
        changed |= effect != ""
        report.consents_withdrawn += effect == "withdrawn"
    if old is None:
        return "created"
    return "updated" if changed else "unchanged"


def _mobility(conn: _Conn, tenant: str, stay_id: int, speed: float | None) -> bool:
    row = conn.execute(
        "SELECT gait_speed_mps FROM stay_admission_mobility WHERE stay_id = %s", (stay_id,)
    ).fetchone()
    current = None if row is None else float(row[0])
    if current == speed:
        return False
    if speed is None:
        conn.execute("DELETE FROM stay_admission_mobility WHERE stay_id = %s", (stay_id,))
    else:
        conn.execute(
            """INSERT INTO stay_admission_mobility (stay_id, tenant_id, gait_speed_mps, source)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (stay_id) DO UPDATE SET gait_speed_mps = excluded.gait_speed_mps""",
            (stay_id, tenant, speed, IMPORT_SOURCE),
        )
    return True


def _hospital_admission(
    conn: _Conn, tenant: str, resident_id: int, stay_id: int, at: datetime | None
) -> bool:
    row = conn.execute(
        "SELECT admitted_at FROM hospital_admissions WHERE reported_with_stay_id = %s",
        (stay_id,),
    ).fetchone()
    current = None if row is None else row[0]
    if current == at:
        return False
    if at is None:
        conn.execute("DELETE FROM hospital_admissions WHERE reported_with_stay_id = %s", (stay_id,))
    else:
        conn.execute(
            """INSERT INTO hospital_admissions
                   (tenant_id, resident_id, admitted_at, reported_with_stay_id, source)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (reported_with_stay_id)
                   DO UPDATE SET admitted_at = excluded.admitted_at""",
            (tenant, resident_id, at, stay_id, IMPORT_SOURCE),
        )
    return True


def _consent(
    conn: _Conn,
    tenant: str,
    resident_id: int,
    purpose: str,
    wanted: bool,
    old_admitted: datetime,
    r: CareRecord,
    report: ImportReport,
    actor: str,
    actor_role: str | None,
) -> str:
    """Bring the imported consent of one stay in line with the extract.

    Returns "" (nothing changed), "recorded", "corrected" or "withdrawn".
    """
    row = conn.execute(
        """SELECT consent_id, lower(valid), upper(valid), withdrawn_at FROM consents
           WHERE tenant_id = %s AND resident_id = %s AND purpose = %s AND source = %s
             AND lower(valid) = %s""",
        (tenant, resident_id, purpose, IMPORT_SOURCE, old_admitted),
    ).fetchone()
    if not wanted:
        if row is None or row[3] is not None:
            return ""
        done = privacy.withdraw_consent(
            conn,
            tenant=tenant,
            resident_id=resident_id,
            purpose=cast(privacy.ConsentPurpose, purpose),
            actor=actor,
            actor_role=actor_role,
            endpoint=f"care-record import, line {r.line}",
            consent_ids=[int(row[0])],
        )
        for table, n in done.erased.items():
            report.erased[table] = report.erased.get(table, 0) + n
        return "withdrawn"
    if row is not None:
        if row[3] is not None:
            raise RowProblems.one(
                r.line,
                f"consent_{purpose}",
                "the imported consent for this stay was withdrawn; a renewed consent "
                "must be recorded by hand",
                r.external_ref,
            )
        if (row[1], row[2]) == (r.admitted_at, r.discharged_at):
            return ""
        conn.execute(
            "UPDATE consents SET valid = tstzrange(%s, %s) WHERE consent_id = %s",
            (r.admitted_at, r.discharged_at, row[0]),
        )
        return "corrected"
    covered = conn.execute(
        """SELECT 1 FROM consents WHERE tenant_id = %s AND resident_id = %s AND purpose = %s
             AND withdrawn_at IS NULL AND valid @> %s::timestamptz""",
        (tenant, resident_id, purpose, r.admitted_at),
    ).fetchone()
    if covered is not None:
        return ""  # a consent recorded otherwise already covers the stay
    conn.execute(
        """INSERT INTO consents (tenant_id, resident_id, purpose, valid, source)
           VALUES (%s, %s, %s, tstzrange(%s, %s), %s)""",
        (tenant, resident_id, purpose, r.admitted_at, r.discharged_at, IMPORT_SOURCE),
    )
    return "recorded"


def write_assignment(
    conn: _Conn, tenant: str, line: int, row: dict[str, str], tz: ZoneInfo
) -> Outcome:
    """Parse one assignments row and write it: the device is registered for the tenant if new
    (serial = device id) and assigned to the resident, idempotent on (device, resident,
    valid_from). The resident must exist; an unknown one is reported with the row's other
    problems."""
    pseudonym = (row.get("resident") or "").strip()
    resident_id = registry.find_resident(conn, tenant, pseudonym)
    unknown = (
        []
        if resident_id is not None
        else [RowError(line, "resident", f"unknown resident {pseudonym!r}: import the stays first")]
    )
    try:
        a = parse_assignment(line, row, tz)
    except RowProblems as exc:
        raise RowProblems(exc.errors + unknown) from None
    if resident_id is None:
        raise RowProblems(unknown)
    try:
        registry.ensure_device(conn, tenant, a.device_id, a.kind)
    except RejectedInput as exc:
        raise RowProblems.one(line, "device_id", exc.detail) from exc
    return registry.upsert_assignment(
        conn, tenant, a.device_id, resident_id, a.valid_from, a.valid_to
    )
