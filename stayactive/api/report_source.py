"""Where the API gets its reports: one function per report, so a builder is swapped in here and
nowhere else."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from analytics.stays.store import EXPOSED_SQL, EXPOSURE_WINDOW_H, WALKER_DATA_CTE, load_stays
from stayactive import audit
from stayactive.locale_format import Language
from stayactive.reports import OpenDataTable, SavingsReport, build_savings_report, open_data
from stayactive.reports.curves import los_curves

_Conn = psycopg.Connection[TupleRow]


def build_savings(
    conn: _Conn,
    tenant_id: str,
    *,
    actor: str,
    analysis_at: datetime | None,
    n_resamples: int,
    language: Language = "nb",
    overrides: Mapping[str, float] | None = None,
    effect_share: float = 1.0,
) -> SavingsReport:
    """The finance report, or a scenario of it (it writes its own audit row)."""
    return build_savings_report(
        conn,
        tenant_id,
        overrides,
        language,
        actor=actor,
        analysis_at=analysis_at,
        n_resamples=n_resamples,
        effect_share=effect_share,
    )


# A digest of everything the savings report reads, per tenant: stays, who they belong to and
# where, consents, device assignments, go-live dates, admission mobility, hospital admissions,
# the parameter set and the design (small tables: thousands of rows a year), and which stays
# are intervention stays by their devices' data: late telemetry (a walker uploading its
# backlog) turns a stay into one, so it gives a new version like a new import.
_DATA_VERSION = f"""
WITH {WALKER_DATA_CTE}
SELECT md5(concat_ws('|',
  (SELECT count(*) || ':' || coalesce(md5(string_agg(concat_ws(',', stay_id, resident_id,
          ward_id, admitted_at, discharged_at, stay_type, discharge_destination), ';'
          ORDER BY stay_id)), '') FROM stays WHERE tenant_id = %(t)s),
  (SELECT md5(string_agg(concat_ws(',', resident_id, birth_year), ';' ORDER BY resident_id))
     FROM residents WHERE tenant_id = %(t)s),
  (SELECT md5(string_agg(concat_ws(',', consent_id, purpose, valid, withdrawn_at), ';'
          ORDER BY consent_id)) FROM consents WHERE tenant_id = %(t)s),
  (SELECT md5(string_agg(concat_ws(',', assignment_id, device_id, resident_id, valid), ';'
          ORDER BY assignment_id)) FROM device_assignments WHERE tenant_id = %(t)s),
  (SELECT md5(string_agg(concat_ws(',', ward_id, go_live_on), ';' ORDER BY ward_id))
     FROM wards WHERE tenant_id = %(t)s),
  (SELECT md5(string_agg(concat_ws(',', stay_id, gait_speed_mps), ';' ORDER BY stay_id))
     FROM stay_admission_mobility WHERE tenant_id = %(t)s),
  (SELECT md5(string_agg(concat_ws(',', hospital_admission_id, resident_id, admitted_at), ';'
          ORDER BY hospital_admission_id)) FROM hospital_admissions WHERE tenant_id = %(t)s),
  (SELECT max(version) FROM savings_parameter_sets WHERE tenant_id = %(t)s),
  (SELECT max(design_choice_id) FROM savings_designs WHERE tenant_id = %(t)s),
  (SELECT md5(string_agg(st.stay_id::text, ',' ORDER BY st.stay_id)) FROM stays st
     WHERE st.tenant_id = %(t)s AND {EXPOSED_SQL})
))
"""


def data_version(conn: _Conn, tenant_id: str) -> str:
    """A digest that changes whenever an input of the tenant's savings report does."""
    params = {"t": tenant_id, "tenant": tenant_id, "window_h": EXPOSURE_WINDOW_H}
    row = conn.execute(_DATA_VERSION, params).fetchone()
    assert row is not None
    return str(row[0])


def audit_cached_read(conn: _Conn, tenant_id: str, *, actor: str, report: SavingsReport) -> None:
    """The audit row of a report served from the cache: who looked at which report (no
    resident-level row was read for it)."""
    audit.record(
        conn, tenant=tenant_id, actor=actor, action="report.savings", subject_kind="stays",
        subject_id=tenant_id, purpose="evaluation",
        detail={"analysis_at": report.analysis_at.isoformat(), "cached": True,
                "status": report.status, "parameter_version": report.parameter_version,
                "design": report.design, "draft": report.draft},
    )  # fmt: skip


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
