"""Care-record import: stays, consents and device assignments from the care record system.

:func:`import_care_records` and :func:`import_assignments` load CSV extracts (format in
``docs/operations.md``). The parsing is pure and reusable (:func:`parse_care_record` gives a
:class:`CareRecord`; an importer of another format builds the same records); the writing goes
through :mod:`stayactive.registry` for tenants, wards, residents, devices and assignments.
"""

from stayactive.records._import import import_assignments, import_care_records
from stayactive.records._parse import (
    ASSIGNMENT_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    AssignmentRecord,
    CareRecord,
    FileChecks,
    RowError,
    RowProblems,
    parse_assignment,
    parse_care_record,
    parse_instant,
)
from stayactive.records._report import ImportReport
from stayactive.records._write import IMPORT_SOURCE, write_assignment, write_care_record

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "IMPORT_SOURCE",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "AssignmentRecord",
    "CareRecord",
    "FileChecks",
    "ImportReport",
    "RowError",
    "RowProblems",
    "import_assignments",
    "import_care_records",
    "parse_assignment",
    "parse_care_record",
    "parse_instant",
    "write_assignment",
    "write_care_record",
]
