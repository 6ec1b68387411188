"""Care-record import: stays, consents and device assignments from the care record system.

:func:`import_care_records` and :func:`import_assignments` load CSV extracts (format in
``docs/operations.md``). The parsing is pure and reusable (:func:`parse_care_record` gives a
:class:`CareRecord`; an importer of another format builds the same records); the writing goes
through :mod:`stayactive.registry` for tenants, wards, residents, devices and assignments.
A FHIR R4 Bundle of Patient and Encounter becomes the same rows (:func:`bundle_rows`,
:func:`bundle_csv`). National identity numbers are recognised (:func:`looks_like_national_id`)
so that a file holding one is refused before anything is written. :func:`audit_import` writes
an import's audit rows: the file's, and one per change to a resident (stay, consent).
"""

from stayactive.records._audit import audit_import
from stayactive.records._fhir import (
    CONSENT_EVALUATION_URL,
    CONSENT_OPEN_DATA_URL,
    KPR_SERVICE_TYPE_SYSTEM,
    BundleRefused,
    BundleRow,
    EntryProblem,
    bundle_csv,
    bundle_rows,
)
from stayactive.records._import import import_assignments, import_care_records
from stayactive.records._national_id import (
    NATIONAL_ID_IN_TEXT,
    NATIONAL_ID_SYSTEMS,
    csv_national_ids,
    is_national_id,
    looks_like_national_id,
)
from stayactive.records._parse import (
    ASSIGNMENT_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    AssignmentRecord,
    CareRecord,
    FileChecks,
    RowError,
    RowProblems,
    check_columns,
    parse_assignment,
    parse_care_record,
    parse_instant,
)
from stayactive.records._report import ImportReport, ResidentChange
from stayactive.records._write import IMPORT_SOURCE, write_assignment, write_care_record

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "CONSENT_EVALUATION_URL",
    "CONSENT_OPEN_DATA_URL",
    "IMPORT_SOURCE",
    "KPR_SERVICE_TYPE_SYSTEM",
    "NATIONAL_ID_IN_TEXT",
    "NATIONAL_ID_SYSTEMS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "AssignmentRecord",
    "BundleRefused",
    "BundleRow",
    "CareRecord",
    "EntryProblem",
    "FileChecks",
    "ImportReport",
    "ResidentChange",
    "RowError",
    "RowProblems",
    "audit_import",
    "bundle_csv",
    "bundle_rows",
    "check_columns",
    "csv_national_ids",
    "import_assignments",
    "import_care_records",
    "is_national_id",
    "looks_like_national_id",
    "parse_assignment",
    "parse_care_record",
    "parse_instant",
    "write_assignment",
    "write_care_record",
]
