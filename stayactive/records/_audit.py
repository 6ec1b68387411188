"""The audit rows of a care-record import: one for the file, and one per change to a resident.

A resident may ask who changed their data: a stay created or updated and a consent given by
an import are changes to their data, so each is an audit row of its own with the resident as
the subject (``stayactive audit export`` and ``GET /audit?resident=`` find them); a consent
the import withdraws has its row from :func:`stayactive.privacy.withdraw_consent`, the one
withdrawal. The file's row keeps the counts, the withdrawn consents and what their withdrawal
erased among them. Written by :mod:`stayactive.audit`, the one writer, in the import's
transaction.
"""

from __future__ import annotations

from typing import Literal

import psycopg
from psycopg.rows import TupleRow

from stayactive import audit
from stayactive.records._report import ImportReport
from stayactive.records._write import IMPORT_SOURCE


def audit_import(
    conn: psycopg.Connection[TupleRow],
    report: ImportReport,
    *,
    tenant: str,
    actor: str,
    actor_role: str | None = None,
    endpoint: str | None = None,
    fmt: Literal["csv", "fhir"] = "csv",
) -> int:
    """Write the import's audit rows (see the module); return how many."""
    audit.record(
        conn, tenant=tenant, actor=actor, actor_role=actor_role, action="import",
        endpoint=endpoint, purpose="administration", subject_kind="stays", subject_id=tenant,
        detail={"format": fmt, "rows": report.rows, "created": report.created,
                "updated": report.updated, "unchanged": report.unchanged,
                "failed": report.failed, "consents_withdrawn": report.consents_withdrawn,
                "erased": report.erased,
                "residents": len({c.resident_id for c in report.changes})},
    )  # fmt: skip
    written = 1
    for change in report.changes:
        base = {"external_ref": change.external_ref, "source": IMPORT_SOURCE}
        entries = [("create" if change.stay == "created" else "update", {"what": "stay"})]
        entries += [("consent.record", {"purpose": p}) for p in change.consents_given]
        for action, detail in entries:
            audit.record(
                conn, tenant=tenant, actor=actor, actor_role=actor_role, action=action,
                endpoint=endpoint, purpose="administration", subject_kind="resident",
                subject_id=str(change.resident_id), detail=base | detail,
            )  # fmt: skip
            written += 1
    return written
