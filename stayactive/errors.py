"""The StayActive error hierarchy, grouped by what the caller should do::

StayActiveError                 base class: catch this to catch everything of ours
├── ConfigurationError          stop: the setup is wrong; fix it and start again
│   └── InvalidParameter        stop: a money parameter is wrong; also a ValueError
├── ServiceError                stop: a local service could not be installed or started
├── MigrationError              stop: the schema history and the files disagree
├── StorageUnavailable          retry: the database cannot be reached right now
│   └── ImportInterrupted       retry: an import stopped part-way and was rolled back whole
├── RejectedInput               reject and keep: the input is bad; store it for inspection
│   └── ConstraintViolation     reject: the database refused it (unique, foreign key, overlap, …)
├── InsufficientData            report "not enough data" instead of a figure
└── AuditUnavailable            stop: the audit row was not written, so neither was the work

Database errors become these in one place, :mod:`stayactive.db._errors` (``db.translated``,
``db.is_transient``); nothing else catches a bare ``psycopg.Error`` but the audit writer
(:mod:`stayactive.audit`), whose rule is the same whatever the database said: no audit row, no
work (the API answers 503 ``audit-unavailable``).
"""

from __future__ import annotations

from typing import Literal

#: Which kind of constraint a :class:`ConstraintViolation` broke.
ConstraintKind = Literal[
    "unique", "foreign_key", "check", "not_null", "exclusion", "restrict", "other"
]


class StayActiveError(Exception):
    """Base class of every error StayActive raises on purpose."""


class ConfigurationError(StayActiveError):
    """The configuration is wrong or incomplete; retrying will not help."""


class ServiceError(StayActiveError):
    """A step of installing, starting or stopping a local service failed.

    ``command`` and ``output`` say which command failed and what it printed.
    """

    def __init__(self, message: str, *, command: str | None = None, output: str = "") -> None:
        self.command = command
        self.output = output
        detail = message
        if command:
            detail += f"\n  command: {command}"
        if output.strip():
            tail = "\n".join(output.strip().splitlines()[-25:])
            detail += "\n  output (last lines):\n    " + tail.replace("\n", "\n    ")
        super().__init__(detail)


class MigrationError(StayActiveError):
    """Applied migrations do not match the files (changed, missing or out of order)."""


class StorageUnavailable(StayActiveError):
    """The database is unreachable or restarting; the operation may be retried."""


class ImportInterrupted(StorageUnavailable):
    """The database became unavailable during an import, which was rolled back whole.

    Nothing of the import was kept, and importing the same file again is safe (imports are
    idempotent). ``line`` is the line of the file the import had reached.
    """

    def __init__(self, line: int, cause: str) -> None:
        self.line = line
        super().__init__(
            f"the import stopped at line {line} because {cause}; it was rolled back "
            "(nothing of it was kept): run it again when the database is back"
        )


class RejectedInput(StayActiveError):
    """Input that fails validation. ``reason`` is a stable machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class ConstraintViolation(RejectedInput):
    """The database refused a row because of a constraint: a duplicate, a missing reference, an
    out-of-range value, an overlapping period.

    ``kind`` says which kind of constraint, ``constraint`` and ``table`` name it (empty when
    the server did not say), so a caller can tell the person which field to fix; ``reason`` is
    ``"<kind>_violation"``.
    """

    def __init__(
        self, kind: ConstraintKind, detail: str, *, constraint: str = "", table: str = ""
    ) -> None:
        self.kind: ConstraintKind = kind
        self.constraint = constraint
        self.table = table
        super().__init__(f"{kind}_violation", detail)


class InsufficientData(StayActiveError):
    """Too few stays or outcomes for the figure asked for.

    Every stays estimator raises it when the stays given cannot support an honest figure (an
    empty arm, fewer stays than the publication threshold, a Kaplan-Meier curve that ends
    before the horizon); reports show "not enough data" and this message instead of a number.

    Parameters
    ----------
    what
        The figure that could not be computed, e.g. ``"effect on length of stay"``.
    n_available, n_required
        How many stays (or outcomes) there are and how many the figure needs.
    detail
        One sentence on why, for the person reading the report.
    """

    def __init__(self, what: str, *, n_available: int, n_required: int, detail: str = "") -> None:
        self.what = what
        self.n_available = n_available
        self.n_required = n_required
        self.detail = detail
        message = f"not enough data for the {what}: {n_available} available, {n_required} needed"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class InvalidParameter(ConfigurationError, ValueError):
    """A parameter of a money calculation is out of range or inconsistent.

    It is both a :class:`ConfigurationError` (stop and fix the parameter set) and a
    :class:`ValueError`, so callers may catch either. ``name`` is the parameter's name.
    """

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


class AuditUnavailable(StayActiveError):
    """The audit row could not be written (the database refused it or went away), so the work
    it describes must not be done: its transaction is rolled back and no data is returned."""
