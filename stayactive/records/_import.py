"""Importing stays and consents from a care-record CSV extract, and device assignments.

The format is documented in ``docs/operations.md`` ("Importing care records"). In short, one row
per short-term stay: ``external_ref``, ``resident``, ``birth_year``, ``sex``, ``site``, ``ward``,
``ward_go_live_on``, ``admitted_at``, ``discharged_at``, ``stay_type``,
``discharge_destination``, ``consent_evaluation``, ``consent_open_data``,
``admission_gait_speed_mps``, ``hospital_admission_at``.

* **Idempotent** on ``external_ref``: importing the same file twice changes nothing the second
  time; a changed row (a discharge now known, a corrected time) updates the stay.
* **Row by row**: every row runs in its own savepoint. A bad row is reported with its line
  number, the field and the reason, and the good rows are kept.
* **Consent per stay**: ``consent_evaluation``/``consent_open_data`` true records a consent for
  that purpose valid over the stay (``[admitted_at, discharged_at)``, open while the stay
  goes on), marked ``source = 'records-import'``. If a later extract says false for a stay whose
  imported consent exists, the consent is marked withdrawn (counted in the report, so the
  erasure process can run); consents recorded by other means are never touched.
* **Times** carry a UTC offset (``2026-03-01T10:15:00+01:00``) or are local wall-clock times of
  the tenant's time zone; a local time that does not exist or occurs twice at a daylight-saving
  change is refused (give the offset).
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final, TextIO
from zoneinfo import ZoneInfo

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import TupleRow

from stayactive.errors import ConfigurationError

logger = logging.getLogger(__name__)

_Conn = psycopg.Connection[TupleRow]

#: Columns every care-record extract must have.
REQUIRED_COLUMNS: Final = (
    "external_ref",
    "resident",
    "site",
    "ward",
    "admitted_at",
    "stay_type",
)
#: Columns that may be missing or empty.
OPTIONAL_COLUMNS: Final = (
    "birth_year",
    "sex",
    "ward_go_live_on",
    "discharged_at",
    "discharge_destination",
    "consent_evaluation",
    "consent_open_data",
    "admission_gait_speed_mps",
    "hospital_admission_at",
)
ASSIGNMENT_COLUMNS: Final = ("device_id", "kind", "resident", "valid_from", "valid_to")
IMPORT_SOURCE: Final = "records-import"

_PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_SEXES: Final = ("female", "male", "other", "unknown")
_DESTINATIONS: Final = ("home", "long_term_care", "hospital", "death", "other")
_TRUE: Final = frozenset({"true", "1", "yes", "ja", "y"})
_FALSE: Final = frozenset({"false", "0", "no", "nei", "n", ""})


@dataclass(frozen=True)
class RowError:
    """A row that was not imported: where, which field, why."""

    line: int
    field: str
    reason: str
    external_ref: str = ""

    def __str__(self) -> str:
        ref = f" ({self.external_ref})" if self.external_ref else ""
        where = f", {self.field}" if self.field else ""
        return f"line {self.line}{ref}{where}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did. ``failed`` rows are listed in ``errors``; the others are kept."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    consents_withdrawn: int = 0
    tenant_created: bool = False
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line of counts."""
        text = (
            f"{self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed"
        )
        if self.consents_withdrawn:
            text += f"; {self.consents_withdrawn} imported consents marked withdrawn"
        return text


@dataclass(frozen=True)
class CareRecord:
    """One parsed, validated row of a care-record extract."""

    line: int
    external_ref: str
    resident: str
    birth_year: int | None
    sex: str
    site: str
    ward: str
    ward_go_live_on: date | None
    admitted_at: datetime
    discharged_at: datetime | None
    stay_type: int
    destination: str | None
    consent_evaluation: bool
    consent_open_data: bool
    gait_speed_mps: float | None
    hospital_admission_at: datetime | None


class _RowProblems(Exception):
    """The field errors of one row (collected, so a row reports all its problems at once)."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """An ISO 8601 date-time with offset, or a local wall-clock time of ``tz``, as UTC.

    Raises
    ------
    ValueError
        Not a date-time, a date without time, or a local time that is skipped or repeated at
        a daylight-saving change.
    """
    value = text.strip()
    if len(value) <= 10:
        raise ValueError(f"{value!r} needs a time of day, e.g. 2026-03-01T10:15")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from exc
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    early, late = parsed.replace(tzinfo=tz, fold=0), parsed.replace(tzinfo=tz, fold=1)
    # A skipped time does not survive the round trip; a repeated one has two offsets.
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != parsed:
        raise ValueError(
            f"local time {value} does not exist in {tz.key} (clocks went forward); "
            "give the UTC offset"
        )
    if early.utcoffset() != late.utcoffset():
        raise ValueError(
            f"local time {value} occurs twice in {tz.key} (clocks went back); give the UTC offset"
        )
    return early.astimezone(UTC)


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{text!r} is not true or false")


def parse_care_record(line: int, row: dict[str, str], tz: ZoneInfo) -> CareRecord:
    """Validate one CSV row; raise _RowProblems listing every bad field."""
    problems: list[RowError] = []
    ref = (row.get("external_ref") or "").strip()

    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    def bad(name: str, reason: str) -> None:
        problems.append(RowError(line, name, reason, ref))

    if not ref:
        bad("external_ref", "is empty")
    elif len(ref) > 200:
        bad("external_ref", "is longer than 200 characters")
    resident = get("resident")
    if not _PSEUDONYM.match(resident):
        bad("resident", f"{resident!r} is not a pseudonym (4-64 letters, digits, - or _)")
    birth_year: int | None = None
    if get("birth_year"):
        try:
            birth_year = int(get("birth_year"))
            if not 1900 <= birth_year <= 2100:
                raise ValueError
        except ValueError:
            bad("birth_year", f"{get('birth_year')!r} is not a year between 1900 and 2100")
            birth_year = None
    sex = get("sex").lower() or "unknown"
    if sex not in _SEXES:
        bad("sex", f"{get('sex')!r} is not one of {', '.join(_SEXES)}")
    for name in ("site", "ward"):
        if not get(name):
            bad(name, "is empty")
    go_live: date | None = None
    if get("ward_go_live_on"):
        try:
            go_live = date.fromisoformat(get("ward_go_live_on"))
        except ValueError:
            bad("ward_go_live_on", f"{get('ward_go_live_on')!r} is not a date (YYYY-MM-DD)")
    admitted_at = discharged_at = hospital_at = None
    for name in ("admitted_at", "discharged_at", "hospital_admission_at"):
        if not get(name):
            if name == "admitted_at":
                bad(name, "is empty")
            continue
        try:
            instant = parse_instant(get(name), tz)
        except ValueError as exc:
            bad(name, str(exc))
            continue
        if name == "admitted_at":
            admitted_at = instant
        elif name == "discharged_at":
            discharged_at = instant
        else:
            hospital_at = instant
    stay_type = int(get("stay_type")) if get("stay_type").isdigit() else 0
    if stay_type not in (18, 19, 20):
        bad("stay_type", f"{get('stay_type')!r} is not a KPR short-term stay code (18, 19, 20)")
    destination = get("discharge_destination") or None
    if destination is not None and destination not in _DESTINATIONS:
        bad("discharge_destination", f"{destination!r} is not one of {', '.join(_DESTINATIONS)}")
    if discharged_at is not None and destination is None:
        bad("discharge_destination", "is needed when discharged_at is given")
    if discharged_at is None and destination is not None and not get("discharged_at"):
        bad("discharged_at", "is needed when discharge_destination is given")
    if admitted_at and discharged_at and discharged_at <= admitted_at:
        bad("discharged_at", "is not after admitted_at")
    if hospital_at is not None and (discharged_at is None or hospital_at <= discharged_at):
        bad("hospital_admission_at", "must be after the stay's discharge")
    consents: dict[str, bool] = {}
    for name in ("consent_evaluation", "consent_open_data"):
        try:
            consents[name] = _flag(get(name))
        except ValueError as exc:
            bad(name, str(exc))
            consents[name] = False
    speed: float | None = None
    if get("admission_gait_speed_mps"):
        try:
            speed = float(get("admission_gait_speed_mps").replace(",", "."))
            if not (math.isfinite(speed) and 0 <= speed <= 3):
                raise ValueError
        except ValueError:
            bad("admission_gait_speed_mps", f"{get('admission_gait_speed_mps')!r} is not 0-3 m/s")
            speed = None
    if problems:
        raise _RowProblems(problems)
    assert admitted_at is not None
    return CareRecord(
        line=line,
        external_ref=ref,
        resident=resident,
        birth_year=birth_year,
        sex=sex,
        site=get("site"),
        ward=get("ward"),
        ward_go_live_on=go_live,
        admitted_at=admitted_at,
        discharged_at=discharged_at,
        stay_type=stay_type,
        destination=destination,
        consent_evaluation=consents["consent_evaluation"],
        consent_open_data=consents["consent_open_data"],
        gait_speed_mps=speed,
        hospital_admission_at=hospital_at,
    )


def _rows(stream: TextIO, required: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """CSV rows with their line numbers; comma or semicolon separated (Excel in Norway)."""
    text = stream.read()
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise ConfigurationError(
            f"the CSV lacks the column(s) {', '.join(missing)}; "
            f"found: {', '.join(header) or 'none'}"
        )
    for row in reader:
        yield reader.line_num, {k: v for k, v in row.items() if isinstance(k, str)}


def _ensure_tenant(conn: _Conn, tenant: str, tenant_name: str | None, time_zone: str) -> bool:
    if not _TENANT_ID.match(tenant):
        raise ConfigurationError(
            f"tenant id {tenant!r} must be 2-63 lower-case letters, digits or '-'"
        )
    cur = conn.execute(
        """INSERT INTO tenants (tenant_id, name, time_zone) VALUES (%s, %s, %s)
           ON CONFLICT (tenant_id) DO NOTHING""",
        (tenant, tenant_name or tenant, time_zone),
    )
    return cur.rowcount == 1


def _tenant_zone(conn: _Conn, tenant: str) -> ZoneInfo:
    row = conn.execute("SELECT time_zone FROM tenants WHERE tenant_id = %s", (tenant,)).fetchone()
    assert row is not None
    return ZoneInfo(str(row[0]))


def import_care_records(
    conn: _Conn,
    tenant: str,
    source: Path | TextIO,
    *,
    tenant_name: str | None = None,
    time_zone: str = "Europe/Oslo",
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

    Returns
    -------
    ImportReport
        Counts and one :class:`RowError` per field problem of every failed row.

    Raises
    ------
    ConfigurationError
        The file lacks a required column, or the tenant id is invalid.
    """
    report = ImportReport()
    with conn.transaction():
        report.tenant_created = _ensure_tenant(conn, tenant, tenant_name, time_zone)
        tz = _tenant_zone(conn, tenant)
        go_live_in_file: dict[tuple[str, str], date | None] = {}
        seen_refs: dict[str, int] = {}
        with _open(source) as stream:
            for line, row in _rows(stream, REQUIRED_COLUMNS):

                def write(line: int = line, row: dict[str, str] = row) -> str:
                    record = parse_care_record(line, row, tz)
                    _check_file_consistency(record, go_live_in_file, seen_refs)
                    return _write_record(conn, tenant, record, report)

                _import_row(conn, report, line, row, write)
    logger.info("care-record import for %s: %s", tenant, report.summary())
    return report


class _open:
    """A context manager giving a text stream for a path (opened) or a stream (left open)."""

    def __init__(self, source: Path | TextIO) -> None:
        self._source = source
        self._opened: TextIO | None = None

    def __enter__(self) -> TextIO:
        if isinstance(self._source, Path):
            # utf-8-sig: spreadsheet programs write a byte-order mark.
            self._opened = self._source.open(encoding="utf-8-sig", newline="")
            return self._opened
        return self._source

    def __exit__(self, *exc: object) -> None:
        if self._opened is not None:
            self._opened.close()


def _check_file_consistency(
    record: CareRecord,
    go_live_in_file: dict[tuple[str, str], date | None],
    seen_refs: dict[str, int],
) -> None:
    """Refuse a row that contradicts an earlier row of the same file."""
    if record.external_ref in seen_refs:
        raise _RowProblems(
            [
                RowError(
                    record.line,
                    "external_ref",
                    f"repeats the stay of line {seen_refs[record.external_ref]}",
                    record.external_ref,
                )
            ]
        )
    key = (record.site, record.ward)
    if key in go_live_in_file and go_live_in_file[key] != record.ward_go_live_on:
        raise _RowProblems(
            [
                RowError(
                    record.line,
                    "ward_go_live_on",
                    f"ward {record.ward!r} has go-live {go_live_in_file[key]} on an earlier row",
                    record.external_ref,
                )
            ]
        )
    go_live_in_file[key] = record.ward_go_live_on
    seen_refs[record.external_ref] = record.line


def _write_record(conn: _Conn, tenant: str, r: CareRecord, report: ImportReport) -> str:
    """Write one stay and what belongs to it; return "created", "updated" or "unchanged"."""
    ward_id, ward_changed = _ward(conn, tenant, r.site, r.ward, r.ward_go_live_on)
    if ward_changed:
        report.notes.append(f"line {r.line}: ward {r.ward!r} go-live set to {r.ward_go_live_on}")
    row = conn.execute(
        """INSERT INTO residents (tenant_id, pseudonym, birth_year, sex) VALUES (%s, %s, %s, %s)
           ON CONFLICT (tenant_id, pseudonym) DO UPDATE
               SET birth_year = coalesce(excluded.birth_year, residents.birth_year),
                   sex = CASE WHEN excluded.sex = 'unknown' THEN residents.sex ELSE excluded.sex END
           RETURNING resident_id, xmax = 0""",
        (tenant, r.resident, r.birth_year, r.sex),
    ).fetchone()
    assert row is not None
    resident_id = int(row[0])
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
            raise _RowProblems(
                [
                    RowError(
                        r.line,
                        "resident",
                        "this external_ref belongs to another resident in the registry",
                        r.external_ref,
                    )
                ]
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
        ("evaluation", r.consent_evaluation),
        ("open_data", r.consent_open_data),
    ):
        effect = _consent(conn, tenant, resident_id, purpose, wanted, old_admitted, r)
        changed |= effect != ""
        report.consents_withdrawn += effect == "withdrawn"
    if old is None:
        return "created"
    return "updated" if changed else "unchanged"


def _ward(
    conn: _Conn, tenant: str, site: str, ward: str, go_live_on: date | None
) -> tuple[int, bool]:
    """The ward's id (site and ward created as needed) and whether its go-live was changed."""
    conn.execute(
        "INSERT INTO sites (tenant_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (tenant, site),
    )
    row = conn.execute(
        """SELECT w.ward_id, w.go_live_on FROM wards w JOIN sites s ON s.site_id = w.site_id
           WHERE s.tenant_id = %s AND s.name = %s AND w.name = %s""",
        (tenant, site, ward),
    ).fetchone()
    if row is None:
        created = conn.execute(
            """INSERT INTO wards (tenant_id, site_id, name, go_live_on)
               SELECT %s, site_id, %s, %s FROM sites WHERE tenant_id = %s AND name = %s
               RETURNING ward_id""",
            (tenant, ward, go_live_on, tenant, site),
        ).fetchone()
        assert created is not None
        return int(created[0]), False
    ward_id, current = int(row[0]), row[1]
    # An empty go-live in the extract leaves the registry's as it is; a date sets it.
    if go_live_on is not None and current != go_live_on:
        conn.execute("UPDATE wards SET go_live_on = %s WHERE ward_id = %s", (go_live_on, ward_id))
        return ward_id, True
    return ward_id, False


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
        conn.execute("UPDATE consents SET withdrawn_at = now() WHERE consent_id = %s", (row[0],))
        return "withdrawn"
    if row is not None:
        if row[3] is not None:
            raise _RowProblems(
                [
                    RowError(
                        r.line,
                        f"consent_{purpose}",
                        "the imported consent for this stay was withdrawn; a renewed consent "
                        "must be recorded by hand",
                        r.external_ref,
                    )
                ]
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


def _import_row(
    conn: _Conn, report: ImportReport, line: int, row: dict[str, str], write: Callable[[], str]
) -> None:
    """Write one row in a savepoint of its own and count the outcome: a bad row is reported
    (line, field, reason) and rolled back alone, the good rows stay."""
    report.rows += 1
    try:
        with conn.transaction():
            outcome = write()
    except _RowProblems as exc:
        report.failed += 1
        report.errors.extend(exc.errors)
        return
    except psycopg.Error as exc:
        report.failed += 1
        report.errors.append(_database_problem(line, row, exc))
        return
    setattr(report, outcome, getattr(report, outcome) + 1)


def _database_problem(line: int, row: dict[str, str], exc: psycopg.Error) -> RowError:
    """Translate a constraint violation into a row error a person can act on."""
    ref = (row.get("external_ref") or "").strip()
    constraint = getattr(exc.diag, "constraint_name", None) or ""
    if isinstance(exc, pg_errors.ExclusionViolation):
        if constraint.startswith("stays"):
            return RowError(line, "admitted_at", "overlaps another stay of the same resident", ref)
        if constraint.startswith("consents"):
            return RowError(
                line, "consent_evaluation", "overlaps a consent recorded by other means", ref
            )
        if constraint.startswith("device_assignments"):
            return RowError(
                line, "valid_from", "the device is assigned to someone else at that time", ref
            )
    message = exc.diag.message_primary or str(exc)
    return RowError(line, constraint, f"refused by the database: {message}", ref)


def import_assignments(conn: _Conn, tenant: str, source: Path | TextIO) -> ImportReport:
    """Load device assignments (``device_id, kind, resident, valid_from, valid_to``).

    Devices are registered for the tenant if new (serial = device id). Residents must exist
    (import the care records first). Idempotent on (device, resident, valid_from): a changed
    ``valid_to`` updates the assignment.
    """
    report = ImportReport()
    with conn.transaction():
        tz = _tenant_zone_or_fail(conn, tenant)
        with _open(source) as stream:
            for line, row in _rows(stream, ASSIGNMENT_COLUMNS):
                write = functools.partial(_write_assignment, conn, tenant, line, row, tz)
                _import_row(conn, report, line, row, write)
    logger.info("assignment import for %s: %s", tenant, report.summary())
    return report


def _tenant_zone_or_fail(conn: _Conn, tenant: str) -> ZoneInfo:
    row = conn.execute("SELECT time_zone FROM tenants WHERE tenant_id = %s", (tenant,)).fetchone()
    if row is None:
        raise ConfigurationError(f"unknown tenant {tenant!r}: import its care records first")
    return ZoneInfo(str(row[0]))


def _write_assignment(
    conn: _Conn, tenant: str, line: int, row: dict[str, str], tz: ZoneInfo
) -> str:
    problems: list[RowError] = []
    device_id = (row.get("device_id") or "").strip()
    kind = (row.get("kind") or "").strip()
    resident = (row.get("resident") or "").strip()
    if not _DEVICE_ID.match(device_id):
        problems.append(RowError(line, "device_id", f"{device_id!r} is not a device id"))
    if kind not in ("walker", "robot"):
        problems.append(RowError(line, "kind", f"{kind!r} is not walker or robot"))
    times: dict[str, datetime | None] = {"valid_from": None, "valid_to": None}
    for name in times:
        text = (row.get(name) or "").strip()
        if not text:
            if name == "valid_from":
                problems.append(RowError(line, name, "is empty"))
            continue
        try:
            times[name] = parse_instant(text, tz)
        except ValueError as exc:
            problems.append(RowError(line, name, str(exc)))
    start, end = times["valid_from"], times["valid_to"]
    if start and end and end <= start:
        problems.append(RowError(line, "valid_to", "is not after valid_from"))
    found = conn.execute(
        "SELECT resident_id FROM residents WHERE tenant_id = %s AND pseudonym = %s",
        (tenant, resident),
    ).fetchone()
    if found is None:
        problems.append(
            RowError(line, "resident", f"unknown resident {resident!r}: import the stays first")
        )
    if problems:
        raise _RowProblems(problems)
    assert found is not None and start is not None
    resident_id = int(found[0])
    conn.execute(
        """INSERT INTO devices (device_id, tenant_id, kind, serial) VALUES (%s, %s, %s, %s)
           ON CONFLICT (device_id) DO NOTHING""",
        (device_id, tenant, kind, device_id),
    )
    owner = conn.execute(
        "SELECT tenant_id, kind FROM devices WHERE device_id = %s", (device_id,)
    ).fetchone()
    assert owner is not None
    if owner[0] != tenant or owner[1] != kind:
        raise _RowProblems(
            [
                RowError(
                    line,
                    "device_id",
                    f"device {device_id} is registered as another tenant's or kind",
                )
            ]
        )
    existing = conn.execute(
        """SELECT assignment_id, upper(valid) FROM device_assignments
           WHERE tenant_id = %s AND device_id = %s AND resident_id = %s AND lower(valid) = %s""",
        (tenant, device_id, resident_id, start),
    ).fetchone()
    if existing is None:
        conn.execute(
            """INSERT INTO device_assignments (tenant_id, device_id, resident_id, valid)
               VALUES (%s, %s, %s, tstzrange(%s, %s))""",
            (tenant, device_id, resident_id, start, end),
        )
        return "created"
    if existing[1] == end:
        return "unchanged"
    conn.execute(
        "UPDATE device_assignments SET valid = tstzrange(%s, %s) WHERE assignment_id = %s",
        (start, end, existing[0]),
    )
    return "updated"
