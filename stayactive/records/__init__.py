"""Care-record import: stays, consents and device assignments from the care record system."""

from stayactive.records._import import (
    ASSIGNMENT_COLUMNS,
    IMPORT_SOURCE,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    CareRecord,
    ImportReport,
    RowError,
    import_assignments,
    import_care_records,
    parse_care_record,
    parse_instant,
)

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "IMPORT_SOURCE",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "CareRecord",
    "ImportReport",
    "RowError",
    "import_assignments",
    "import_care_records",
    "parse_care_record",
    "parse_instant",
]
