"""Where the API gets its reports: one function per report, so a new builder (the savings
report is being reworked on branch ``savings``) is swapped in here and nowhere else."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from analytics.stays.store import load_stays
from stayactive.reports import OpenDataTable, SavingsReport, open_data, savings_report
from stayactive.reports.curves import los_curves
from stayactive.savings_store import audit

_Conn = psycopg.Connection[TupleRow]


def build_savings(
    conn: _Conn, tenant_id: str, *, actor: str, analysis_at: datetime | None, n_resamples: int
) -> SavingsReport:
    """The finance report of today's builder (it writes its own audit row)."""
    return savings_report(
        conn, tenant_id, actor=actor, analysis_at=analysis_at, n_resamples=n_resamples
    )


def build_open_data(
    conn: _Conn, tenant_id: str, *, actor: str, analysis_at: datetime
) -> OpenDataTable:
    """The open-data aggregates (suppressed; it writes its own audit row)."""
    return open_data(conn, tenant_id, actor=actor, analysis_at=analysis_at)


def build_curves(
    conn: _Conn, tenant_id: str, *, actor: str, analysis_at: datetime
) -> dict[str, Any]:
    """Kaplan-Meier curves per group (aggregates; the read of the stays is audited)."""
    loaded = load_stays(conn, tenant_id, analysis_at=analysis_at)
    made = los_curves(loaded)
    audit(
        conn, tenant=tenant_id, actor=actor, action="report.curves", subject_kind="stays",
        subject_id=tenant_id, purpose="evaluation",
        detail={"analysis_at": loaded.analysis_at.isoformat(), "stays_read": len(loaded.records)},
    )  # fmt: skip
    return {
        "analysis_at": loaded.analysis_at.isoformat(),
        "curves": [dataclasses.asdict(c) for c in made],
    }
