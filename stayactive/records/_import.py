"""Importing stays and consents from a care-record CSV extract, and device assignments.

The format is documented in ``docs/operations.md`` ("Importing care records"). In short, one row
per short-term stay: ``external_ref``, ``resident``, ``birth_year``, ``sex``, ``site``, ``ward``,
``ward_go_live_on``, ``admitted_at``, ``discharged_at``, ``stay_type``,
``discharge_destination``, ``consent_care``, ``consent_evaluation``, ``consent_open_data``,
``admission_gait_speed_mps``, ``hospital_admission_at``.

* **Idempotent** on ``external_ref``: importing the same file twice changes nothing the second
  time; a changed row (a discharge now known, a corrected time) updates the stay.
* **Row by row**: every row runs in its own savepoint. A bad row (a bad field, or a row the
  database refuses: an overlapping stay, another tenant's device) is reported with its line
  number, the field and the reason, and the good rows are kept.
* **All or nothing when the database goes away**: a transient database error (a restart, a
  lost connection) is not the row's fault. It stops the import, which is rolled back whole,
  and raises :class:`~stayactive.errors.ImportInterrupted` (retry: importing again is safe).
* **Consent per stay**: ``consent_care``/``consent_evaluation``/``consent_open_data`` true
  (``consent_care`` absent: not given) records a consent for
  that purpose valid over the stay (``[admitted_at, discharged_at)``, open while the stay
  goes on), marked ``source = 'records-import'``. If a later extract says false for a stay whose
  imported consent exists, the consent is marked withdrawn (counted in the report, so the
  erasure process can run); consents recorded by other means are never touched.
* **Times** carry a UTC offset (``2026-03-01T10:15:00+01:00``) or are local wall-clock times of
  the tenant's time zone; a local time that does not exist or occurs twice at a daylight-saving
  change is refused (give the offset).

The import is split along its seams: :mod:`._parse` reads rows into records (pure, no
database), :mod:`._write` writes a record (tenants, wards, residents, devices and assignments
through :mod:`stayactive.registry`), :mod:`._report` counts what happened; this module runs an
import row by row.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import psycopg
from psycopg.rows import TupleRow

from stayactive import db, registry
from stayactive.errors import (
    ConfigurationError,
    ConstraintViolation,
    ImportInterrupted,
    RejectedInput,
    StorageUnavailable,
)
from stayactive.records._parse import (
    ASSIGNMENT_COLUMNS,
    REQUIRED_COLUMNS,
    CareRecord,
    FileChecks,
    RowError,
    RowProblems,
    open_source,
    parse_care_record,
    read_rows,
)
from stayactive.records._report import ImportReport, ResidentChange
from stayactive.records._write import IMPORT_SOURCE, write_assignment, write_care_record
from stayactive.registry import DEFAULT_TIME_ZONE, Outcome

logger = logging.getLogger(__name__)

_Conn = psycopg.Connection[TupleRow]
_WriteRow = Callable[[int, dict[str, str]], Outcome]


def import_care_records(
    conn: _Conn,
    tenant: str,
    source: Path | TextIO,
    *,
    tenant_name: str | None = None,
    time_zone: str = DEFAULT_TIME_ZONE,
    actor: str = IMPORT_SOURCE,
    actor_role: str | None = None,
) -> ImportReport:
    """Load a care-record CSV into tenants, sites, wards, residents, stays and consents.

    Parameters
    ----------
    conn
        A connection with the application schema on the search path.
    tenant
        Tenant id; created (with ``tenant_name`` and ``time_zone``) if it does not exist.
    source
        Path of the CSV, or an open text stream.
    tenant_name, time_zone
        Used only when the tenant is created.
    actor, actor_role
        Who imports: named in the audit row of a consent the import withdraws.

    Returns
    -------
    ImportReport
        Counts and one :class:`RowError` per field problem of every failed row.

    Raises
    ------
    ConfigurationError
        The file lacks a required column, or the tenant id is invalid.
    ImportInterrupted
        The database became unavailable; nothing of this import was kept. Run it again.
    """
    report = ImportReport()
    checks = FileChecks()

    def prepare(conn: _Conn) -> _WriteRow:
        report.tenant_created = registry.ensure_tenant(
            conn, tenant, tenant_name or tenant, time_zone
        )
        tz = registry.tenant_time_zone(conn, tenant)

        def write(line: int, row: dict[str, str]) -> Outcome:
            record = parse_care_record(line, row, tz)
            checks.check(record)
            before = _imported_consents(conn, tenant, record.resident)
            outcome = write_care_record(
                conn, tenant, record, report, actor=actor, actor_role=actor_role
            )
            if outcome != "unchanged":
                report.changes.append(_change(conn, tenant, record, outcome, before))
            return outcome

        return write

    _run(conn, source, REQUIRED_COLUMNS, report, prepare)
    logger.info("care-record import for %s: %s", tenant, report.summary())
    return report


# The consents this import recorded for a resident (not those recorded by other means): compared
# before and after a row to name what the row gave, for the resident's audit rows. (What it
# withdrew is audited by stayactive.privacy.withdraw_consent, the one withdrawal.)
_IMPORTED_CONSENTS = """
    SELECT c.consent_id, c.purpose
    FROM consents c JOIN residents r ON r.tenant_id = c.tenant_id AND r.resident_id = c.resident_id
    WHERE c.tenant_id = %s AND r.pseudonym = %s AND c.source = %s
"""


def _imported_consents(conn: _Conn, tenant: str, pseudonym: str) -> dict[int, str]:
    """Consent id -> purpose of the resident's imported consents."""
    rows = conn.execute(_IMPORTED_CONSENTS, (tenant, pseudonym, IMPORT_SOURCE)).fetchall()
    return {int(r[0]): str(r[1]) for r in rows}


def _change(
    conn: _Conn, tenant: str, record: CareRecord, outcome: Outcome, before: dict[int, str]
) -> ResidentChange:
    """What the row just written changed for its resident."""
    after = _imported_consents(conn, tenant, record.resident)
    resident_id = registry.find_resident(conn, tenant, record.resident)
    assert resident_id is not None  # the row was just written
    return ResidentChange(
        resident_id=resident_id,
        external_ref=record.external_ref,
        stay=outcome,
        consents_given=tuple(sorted(p for cid, p in after.items() if cid not in before)),
    )


def import_assignments(conn: _Conn, tenant: str, source: Path | TextIO) -> ImportReport:
    """Load device assignments (``device_id, kind, resident, valid_from, valid_to``).

    Devices are registered for the tenant if new (serial = device id). Residents must exist
    (import the care records first). Idempotent on (device, resident, valid_from): a changed
    ``valid_to`` updates the assignment. Raises as :func:`import_care_records` does.
    """
    report = ImportReport()

    def prepare(conn: _Conn) -> _WriteRow:
        try:
            tz = registry.tenant_time_zone(conn, tenant)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{exc}: import its care records first") from exc
        return functools.partial(write_assignment, conn, tenant, tz=tz)

    _run(conn, source, ASSIGNMENT_COLUMNS, report, prepare)
    logger.info("assignment import for %s: %s", tenant, report.summary())
    return report


def _run(
    conn: _Conn,
    source: Path | TextIO,
    columns: tuple[str, ...],
    report: ImportReport,
    prepare: Callable[[_Conn], _WriteRow],
) -> None:
    """Run an import in one transaction, each row in a savepoint of its own."""
    line = 0  # the line reached, for the message if the database goes away
    try:
        # translated() outside the transaction: a rollback that fails because the connection
        # is gone is translated too.
        with db.translated(), conn.transaction(), open_source(source) as stream:
            write = prepare(conn)
            for line, row in read_rows(stream, columns):
                _import_row(conn, report, line, row, write)
    except StorageUnavailable as exc:
        raise ImportInterrupted(line, str(exc)) from exc


def _import_row(
    conn: _Conn, report: ImportReport, line: int, row: dict[str, str], write: _WriteRow
) -> None:
    """Write one row in a savepoint of its own and count the outcome: a bad row is reported
    (line, field, reason) and rolled back alone, the good rows stay. A transient database
    error is not the row's fault: it propagates and ends the import."""
    report.rows += 1
    try:
        with db.translated(), conn.transaction():
            outcome = write(line, row)
    except RowProblems as exc:
        report.failed += 1
        report.errors.extend(exc.errors)
        return
    except RejectedInput as exc:
        report.failed += 1
        report.errors.append(_refused(line, row, exc))
        return
    setattr(report, outcome, getattr(report, outcome) + 1)


def _refused(line: int, row: dict[str, str], exc: RejectedInput) -> RowError:
    """A row error a person can act on, for a row the database refused."""
    ref = (row.get("external_ref") or "").strip()
    if isinstance(exc, ConstraintViolation):
        if exc.kind == "exclusion":
            if exc.constraint.startswith("stays"):
                return RowError(
                    line, "admitted_at", "overlaps another stay of the same resident", ref
                )
            if exc.constraint.startswith("consents"):
                return RowError(
                    line, "consent_evaluation", "overlaps a consent recorded by other means", ref
                )
            if exc.constraint.startswith("device_assignments"):
                return RowError(
                    line, "valid_from", "the device is assigned to someone else at that time", ref
                )
        return RowError(line, exc.constraint, f"refused by the database: {exc.detail}", ref)
    return RowError(line, "", f"refused by the database: {exc.detail}", ref)
