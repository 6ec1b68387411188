"""``/reports``: aggregates for finance and open data; never a resident-level row."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import psycopg
from fastapi import APIRouter, Query, Response
from psycopg.rows import TupleRow

from stayactive.api import report_source
from stayactive.api.deps import Allow, CurrentUser, StateDep
from stayactive.api.problems import ApiProblem, problem_responses
from stayactive.reports import render_csv, render_json, report_to_dict
from stayactive.reports.open_data import COLUMNS

router = APIRouter(
    prefix="/reports",
    tags=["reports"],
    dependencies=[Allow("reports.read")],
    responses=problem_responses(401, 403, 422, 503),
)

AsOf = Annotated[
    date | None,
    Query(alias="as_of", description="Data as of the end of this local day (default now)."),
]


def _analysis_at(as_of: date | None, time_zone: str) -> datetime:
    if as_of is None:
        return datetime.now(UTC)
    tz = ZoneInfo(time_zone)
    return datetime.combine(as_of + timedelta(days=1), time(0), tz).astimezone(UTC)


def _check_as_of(as_of: date | None) -> None:
    if as_of is not None and not date(2000, 1, 1) <= as_of <= date.today() + timedelta(days=1):
        raise ApiProblem(
            422, "invalid-date", f"as_of {as_of} is out of range (2000-01-01 to today)"
        )


@router.get(
    "/savings",
    responses={
        200: {
            "description": "The report as JSON, CSV or PDF.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
    response_class=Response,
)
async def savings(
    principal: CurrentUser,
    state: StateDep,
    format: Annotated[Literal["json", "csv", "pdf"], Query(description="Output format.")] = "json",
    as_of: AsOf = None,
    resamples: Annotated[int, Query(ge=100, le=5000, description="Bootstrap resamples.")] = 500,
) -> Response:
    """The finance report: design, LOS, destinations, readmissions, effect, NOK with 95 %
    intervals, sensitivity, parameters and assumptions. Small cells are suppressed."""
    _check_as_of(as_of)
    analysis_at = _analysis_at(as_of, principal.time_zone)

    def work(sync: psycopg.Connection[TupleRow]) -> Response:
        report = report_source.build_savings(
            sync,
            principal.tenant_id,
            actor=principal.actor,
            analysis_at=analysis_at,
            n_resamples=resamples,
        )
        name = f"savings-{principal.tenant_id}-{analysis_at.date().isoformat()}"
        if format == "pdf":
            from stayactive.reports.pdf import render_pdf

            return Response(
                render_pdf(report),
                media_type="application/pdf",
                headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
            )
        if format == "csv":
            return Response(
                render_csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        return Response(render_json(report), media_type="application/json")

    return await state.in_thread(principal.tenant_id, work)


@router.get("/curves", response_model=dict[str, Any])
async def curves(principal: CurrentUser, state: StateDep, as_of: AsOf = None) -> dict[str, Any]:
    """Kaplan-Meier curves of length of stay per group (share still in the stay, day 0-60,
    95 % band); a point needs at least 5 stays at risk, a group at least 5 stays."""
    _check_as_of(as_of)
    analysis_at = _analysis_at(as_of, principal.time_zone)

    def work(sync: psycopg.Connection[TupleRow]) -> dict[str, Any]:
        return report_source.build_curves(
            sync, principal.tenant_id, actor=principal.actor, analysis_at=analysis_at
        )

    return await state.in_thread(principal.tenant_id, work)


@router.get("/stays", response_model=dict[str, Any])
async def stays(principal: CurrentUser, state: StateDep, as_of: AsOf = None) -> dict[str, Any]:
    """The stays part of the finance report without money: flow of stays, length of stay,
    destinations and readmissions per group (suppressed aggregates)."""
    _check_as_of(as_of)
    analysis_at = _analysis_at(as_of, principal.time_zone)

    def work(sync: psycopg.Connection[TupleRow]) -> dict[str, Any]:
        report = report_source.build_savings(
            sync,
            principal.tenant_id,
            actor=principal.actor,
            analysis_at=analysis_at,
            n_resamples=100,
        )
        whole = report_to_dict(report)
        keep = {"flow", "groups", "destinations", "readmission"}
        tables = {k: v for k, v in whole.get("tables", {}).items() if k in keep}
        return {
            "tenant": whole.get("tenant"),
            "analysis_at": whole.get("analysis_at"),
            "status": whole.get("status"),
            "messages": whole.get("messages"),
            "tables": tables,
        }

    return await state.in_thread(principal.tenant_id, work)


@router.get(
    "/open-data",
    responses={
        200: {
            "description": "Monthly aggregates (JSON rows or CSV).",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
    response_class=Response,
)
async def open_data(
    principal: CurrentUser,
    state: StateDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    as_of: AsOf = None,
) -> Response:
    """Monthly aggregates (stays, median LOS, bed-days, readmission rate, steps), suppressed."""
    _check_as_of(as_of)
    analysis_at = _analysis_at(as_of, principal.time_zone)

    def work(sync: psycopg.Connection[TupleRow]) -> Response:
        table = report_source.build_open_data(
            sync, principal.tenant_id, actor=principal.actor, analysis_at=analysis_at
        )
        if format == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
            writer.writeheader()
            writer.writerows(table.rows)
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
        return Response(
            json.dumps(
                {
                    "tenant": table.tenant,
                    "columns": list(COLUMNS),
                    "rows": table.rows,
                    "notes": list(table.notes),
                },
                default=str,
            ),
            media_type="application/json",
        )

    return await state.in_thread(principal.tenant_id, work)
