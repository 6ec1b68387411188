"""``/reports``: aggregates for finance and open data; never a resident-level row."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Query, Response
from psycopg.rows import TupleRow

from stayactive.api import report_source
from stayactive.api.deps import Allow, CurrentUser, StateDep
from stayactive.api.models.reports import ScenarioRequest
from stayactive.api.problems import ApiProblem, problem_responses
from stayactive.api.report_cache import ReportKey
from stayactive.errors import InvalidParameter
from stayactive.locale_format import Language
from stayactive.reports import SavingsReport, render_csv, render_json, report_to_dict
from stayactive.reports.as_of import check_as_of, end_of_local_day
from stayactive.reports.open_data import COLUMNS, typed_row
from stayactive.reports.savings import PUBLISHED_RESAMPLES

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
    return end_of_local_day(as_of, time_zone)


def _check_as_of(as_of: date | None) -> None:
    if as_of is None:
        return
    try:
        check_as_of(as_of)
    except InvalidParameter as exc:
        raise ApiProblem(422, "invalid-date", f"as_of {exc}") from exc


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as JSON, CSV or PDF.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}

Format = Annotated[Literal["json", "csv", "pdf"], Query(description="Output format.")]
Lang = Annotated[Language, Query(description="Language of the report: bokmål or English.")]


def _respond(report: SavingsReport, format: str, name: str, cache_status: str) -> Response:
    """The report in ``format``; ``Cache-Status`` (RFC 9211) says whether it was computed."""
    headers = {"Cache-Status": f"stayactive-api; {cache_status}"}
    if format == "pdf":
        from stayactive.reports.pdf import render_pdf

        headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return Response(render_pdf(report), media_type="application/pdf", headers=headers)
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(render_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(render_json(report), media_type="application/json", headers=headers)


@router.get("/savings", responses=_FILE_RESPONSES, response_class=Response)
async def savings(
    principal: CurrentUser,
    state: StateDep,
    format: Format = "json",
    as_of: AsOf = None,
    lang: Lang = "nb",
    resamples: Annotated[
        int,
        Query(
            ge=100,
            le=PUBLISHED_RESAMPLES,
            description="Bootstrap resamples; a published report has 10,000 (fewer: a draft).",
        ),
    ] = PUBLISHED_RESAMPLES,
) -> Response:
    """The finance report: headline box, decisive assumptions, design, LOS, destinations,
    readmissions, effect, NOK with 95 % intervals, budget impact, sensitivity, parameters.
    Small cells are suppressed. Computed once per tenant, language, day and data version and
    then served from memory (``Cache-Status: stayactive-api; hit``); the current report is
    computed ahead in the background when its data change (``api_report_precompute_s``), so a
    first request usually finds it ready. ``analysis_at`` says when it was computed."""
    _check_as_of(as_of)
    analysis_at = _analysis_at(as_of, principal.time_zone)
    tenant = principal.tenant_id
    version = await state.in_thread(tenant, lambda c: report_source.data_version(c, tenant))
    key = ReportKey.of(
        tenant, language=lang, as_of=as_of, analysis_at=analysis_at,
        time_zone=principal.time_zone, n_resamples=resamples, data_version=version,
    )  # fmt: skip

    async def compute() -> SavingsReport:
        return await state.in_thread(
            tenant,
            lambda c: report_source.build_savings(
                c,
                tenant,
                actor=principal.actor,
                analysis_at=analysis_at,
                n_resamples=resamples,
                language=lang,
            ),
        )

    report, hit = await state.reports.get_or_compute(key, compute)
    if hit:
        await state.in_thread(
            tenant,
            lambda c: report_source.audit_cached_read(
                c, tenant, actor=principal.actor, report=report
            ),
        )
    name = f"savings-{tenant}-{report.analysis_at.date().isoformat()}"
    return _respond(report, format, name, "hit" if hit else "fwd=miss; stored")


@router.post("/savings/scenario", responses=_FILE_RESPONSES, response_class=Response)
async def savings_scenario(
    body: ScenarioRequest,
    principal: CurrentUser,
    state: StateDep,
    format: Format = "json",
    lang: Lang = "nb",
) -> Response:
    """What if: the report recomputed with other parameter values (``overrides``, names of
    the parameter table) and a share of the measured effect. Nothing is stored; the answer is
    a draft that names the scenario, with fewer resamples than a published report (1,000 by
    default) so that it comes back while the reader waits. Aggregates only."""
    _check_as_of(body.as_of)
    analysis_at = _analysis_at(body.as_of, principal.time_zone)
    tenant = principal.tenant_id

    def work(sync: psycopg.Connection[TupleRow]) -> SavingsReport:
        try:
            return report_source.build_savings(
                sync, tenant, actor=principal.actor, analysis_at=analysis_at,
                n_resamples=body.resamples, language=lang, overrides=body.overrides,
                effect_share=body.effect_share,
            )  # fmt: skip
        except InvalidParameter as exc:
            raise ApiProblem(422, "invalid-parameter", str(exc)) from exc

    report = await state.in_thread(tenant, work)
    name = f"savings-scenario-{tenant}-{report.analysis_at.date().isoformat()}"
    return _respond(report, format, name, "fwd=bypass")


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
    """Monthly aggregates (stays, median LOS, bed-days, readmission rate, steps), suppressed.
    In JSON, numbers are numbers and a suppressed or unavailable cell is null; in CSV, the
    cell is empty."""
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
                    "rows": [typed_row(r) for r in table.rows],
                    "notes": list(table.notes),
                    "stays_without_consent": table.stays_without_consent,
                },
                default=str,
            ),
            media_type="application/json",
        )

    return await state.in_thread(principal.tenant_id, work)
