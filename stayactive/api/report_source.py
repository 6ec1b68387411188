"""Where the API gets its reports: one function per report, so a new builder (the savings
report is being reworked on branch ``savings``) is swapped in here and nowhere else."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from stayactive.reports import OpenDataTable, SavingsReport, open_data, savings_report

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
