"""Importing stays from the care record: all or nothing per file, re-imports change nothing.

Both formats end in the same importer (:func:`stayactive.records.import_care_records`): a CSV
as it is, a FHIR Bundle as the care-record rows of its Encounters
(:func:`stayactive.records.bundle_rows`). The import
runs in one transaction; if any row fails, everything is rolled back and every problem is
reported (CSV: line and column; FHIR: entry index and path). Before any of that, the whole
file is searched for national identity numbers: one is enough to refuse the file, and the
value is never repeated in the answer or the log.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import TupleRow

from stayactive.records import IMPORT_SOURCE, ImportReport, import_care_records

_Conn = psycopg.Connection[TupleRow]


@dataclass(frozen=True)
class Problem:
    """Where (``line``/``column`` of a CSV, or ``entry``/``path`` of a Bundle) and why."""

    reason: str
    line: int | None = None
    column: str | None = None
    entry: int | None = None
    path: str | None = None


@dataclass
class ImportRefused(Exception):
    """The file was not imported (nothing of it was written)."""

    problems: list[Problem] = field(default_factory=list)


def decode_csv(body: bytes) -> str:
    """The CSV's text (UTF-8, a byte-order mark allowed)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            [Problem(f"the file is not UTF-8 (byte {exc.start}): save it as UTF-8 CSV")]
        ) from exc
    if not text.strip():
        raise ImportRefused([Problem("the file is empty")])
    return text


def import_all_or_nothing(
    conn: _Conn,
    tenant_id: str,
    text: str,
    *,
    time_zone: str,
    entry_of_line: dict[int, int] | None = None,
    actor: str = IMPORT_SOURCE,
    actor_role: str | None = None,
) -> ImportReport:
    """Import the CSV text in a savepoint; roll it back and raise :class:`ImportRefused` with
    every row problem if any row fails."""
    with conn.transaction():
        report = import_care_records(
            conn,
            tenant_id,
            io.StringIO(text),
            time_zone=time_zone,
            actor=actor,
            actor_role=actor_role,
        )
        if report.failed:
            problems = []
            for e in report.errors:
                if entry_of_line is not None:
                    problems.append(
                        Problem(e.reason, entry=entry_of_line.get(e.line), path=e.field or None)
                    )
                else:
                    problems.append(Problem(e.reason, line=e.line, column=e.field or None))
            # Leaving the block with an exception rolls the savepoint back: nothing stays.
            raise ImportRefused(problems)
    return report
