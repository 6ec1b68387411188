"""The StayActive error hierarchy, grouped by what the caller should do::

StayActiveError                 base class: catch this to catch everything of ours
├── ConfigurationError          stop: the setup is wrong; fix it and start again
├── ServiceError                stop: a local service could not be installed or started
├── MigrationError              stop: the schema history and the files disagree
├── StorageUnavailable          retry: the database cannot be reached right now
└── RejectedInput               reject and keep: the input is bad; store it for inspection
"""

from __future__ import annotations


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


class RejectedInput(StayActiveError):
    """Input that fails validation. ``reason`` is a stable machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")
