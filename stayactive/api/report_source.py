"""Where the API gets its reports: one function per report, so a builder is swapped in here and
nowhere else."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from analytics.stays.store import load_stays
from stayactive import audit
from stayactive.reports import OpenDataTable, SavingsReport, build_savings_report, open_data
from stayactive.reports.curves import los_curves

_Conn = psycopg.Connection[TupleRow]


def build_savings(
    conn: _Conn, tenant_id: str, *, actor: str, analysis_at: datetime | None, n_resamples: int
) -> SavingsReport:
    """The finance report (it writes its own audit row)."""
    return build_savings_report(
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
    audit.record(
        conn, tenant=tenant_id, actor=actor, action="report.curves", subject_kind="stays",
        subject_id=tenant_id, purpose="evaluation",
        detail={"analysis_at": loaded.analysis_at.isoformat(), "stays_read": len(loaded.records)},
    )  # fmt: skip
    return {
        "analysis_at": loaded.analysis_at.isoformat(),
        "curves": [dataclasses.asdict(c) for c in made],
    }
