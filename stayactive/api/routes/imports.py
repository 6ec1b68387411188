"""``POST /imports/stays``: stays and consents from the care record (CSV or FHIR R4 Bundle)."""

from __future__ import annotations

from typing import Any, Literal

import psycopg
from fastapi import APIRouter, Request
from psycopg.rows import TupleRow
from pydantic import BaseModel

from stayactive.api.deps import Allow, CurrentUser, StateDep, endpoint_of, media_type
from stayactive.api.imports import ImportRefused, Problem, decode_csv, import_all_or_nothing
from stayactive.api.problems import ApiProblem, FieldProblem, problem_responses
from stayactive.records import (
    BundleRefused,
    audit_import,
    bundle_csv,
    bundle_rows,
    csv_national_ids,
)

router = APIRouter(
    prefix="/imports", tags=["imports"], responses=problem_responses(401, 403, 413, 415, 422, 503)
)

_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/fhir+json": {
            "schema": {
                "type": "object",
                "description": "A FHIR R4 Bundle of Patient and Encounter (docs/api.md).",
            }
        },
    },
}


NATIONAL_ID_REFUSED = (
    "looks like a Norwegian national identity number; the file is refused and nothing of it "
    "was stored"
)


class ImportResult(BaseModel):
    """What the import did (all rows were written)."""

    format: Literal["csv", "fhir"]
    rows: int
    created: int
    updated: int
    unchanged: int
    consents_withdrawn: int
    #: Rows erased per table because the import withdrew care consents (as the withdraw
    #: route erases; each withdrawal has its own audit row too).
    erased: dict[str, int] = {}
    notes: list[str]


def _field_problems(problems: list[Problem]) -> list[FieldProblem]:
    out = []
    for p in problems:
        loc: list[str | int]
        if p.entry is not None or p.path is not None:
            loc = ["entry", p.entry if p.entry is not None else "bundle"]
            if p.path:
                loc.append(p.path)
        elif p.line is not None:
            loc = ["line", p.line]
            if p.column:
                loc.append(p.column)
        else:
            loc = ["file"]
        out.append(FieldProblem(loc=loc, msg=p.reason))
    return out


def _refused(problems: list[Problem], what: str) -> ApiProblem:
    fields = _field_problems(problems)
    first = fields[0]
    where = " ".join(str(x) for x in first.loc)
    more = f" (and {len(fields) - 1} more problems)" if len(fields) > 1 else ""
    national = any("national identity number" in p.reason for p in problems)
    return ApiProblem(
        422,
        "national-id-refused" if national else "import-refused",
        f"{what} was not imported, nothing of it was written: {where}: {first.msg}{more}",
        errors=fields,
    )


@router.post(
    "/stays",
    response_model=ImportResult,
    dependencies=[Allow("imports.write")],
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def import_stays(request: Request, principal: CurrentUser, state: StateDep) -> ImportResult:
    """Import stays, residents, wards and consents: ``text/csv`` (the columns of
    docs/operations.md) or ``application/fhir+json`` (a Bundle of Patient + Encounter).
    All or nothing per file; importing the same file again changes nothing. A national
    identity number anywhere refuses the file, and it is never stored."""
    media = media_type(request)
    body = await request.body()
    entry_of_line: dict[int, int] | None = None
    if media in ("text/csv", "application/csv"):
        fmt: Literal["csv", "fhir"] = "csv"
        try:
            text = decode_csv(body)
        except ImportRefused as exc:
            raise _refused(exc.problems, "the file") from exc
        national = [
            Problem(NATIONAL_ID_REFUSED, line=line, column=column)
            for line, column in csv_national_ids(text)
        ]
        if national:
            raise _refused(national, "the file")
    elif media in ("application/fhir+json", "application/json"):
        fmt = "fhir"
        try:
            rows = bundle_rows(body)
        except BundleRefused as exc:
            raise _refused(
                [Problem(p.reason, entry=p.entry, path=p.path) for p in exc.problems], "the Bundle"
            ) from exc
        text, entry_of_line = bundle_csv(rows)
    else:
        raise ApiProblem(
            415,
            "unsupported-media-type",
            f"send text/csv or application/fhir+json, not {media or 'no content type'}",
        )
    endpoint = endpoint_of(request)

    def work(sync: psycopg.Connection[TupleRow]) -> ImportResult:
        report = import_all_or_nothing(
            sync,
            principal.tenant_id,
            text,
            time_zone=principal.time_zone,
            entry_of_line=entry_of_line,
            actor=principal.actor,
            actor_role=principal.role,
        )
        # The file's row and one per resident changed (stay, consent), in the import's
        # transaction: no audit rows, no import.
        audit_import(
            sync,
            report,
            tenant=principal.tenant_id,
            actor=principal.actor,
            actor_role=principal.role,
            endpoint=endpoint,
            fmt=fmt,
        )
        return ImportResult(
            format=fmt,
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            consents_withdrawn=report.consents_withdrawn,
            erased=report.erased,
            notes=report.notes,
        )

    try:
        return await state.in_thread(principal.tenant_id, work)
    except ImportRefused as exc:
        raise _refused(exc.problems, "the file" if fmt == "csv" else "the Bundle") from exc
