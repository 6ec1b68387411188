"""``GET /fhir/Observation``: daily steps of a resident as FHIR R4 Observations."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from stayactive.api.deps import Allow, AuditedRead, ConnDep, check_range, resident_ref
from stayactive.api.fhir_out import FHIR_JSON, STEPS_LOINC, searchset, steps_observation
from stayactive.api.paths import FHIR_PREFIX
from stayactive.api.problems import ApiProblem, outcome_responses

# Errors here are OperationOutcomes (stayactive.api.fhir_errors), not problem documents.
router = APIRouter(
    prefix=FHIR_PREFIX, tags=["fhir"], responses=outcome_responses(401, 403, 404, 422, 503)
)

_PATIENT = re.compile(r"^(?:Patient/)?([1-9][0-9]{0,17})$")
_DATE = re.compile(r"^(ge|le|eq|gt|lt)?(\d{4}-\d{2}-\d{2})$")


def _dates(values: list[str], today: dt.date) -> tuple[dt.date, dt.date]:
    start, end = today - dt.timedelta(days=29), today
    for value in values:
        match = _DATE.match(value)
        if match is None:
            raise ApiProblem(422, "invalid-date", f"date={value!r}: use e.g. ge2026-01-01")
        prefix = match.group(1) or "eq"
        try:
            # The pattern passes 2026-02-30 and gt9999-12-31: not a day, or none after it.
            day = dt.date.fromisoformat(match.group(2))
            if prefix in ("ge", "gt"):
                start = day + dt.timedelta(days=1 if prefix == "gt" else 0)
            elif prefix in ("le", "lt"):
                end = day - dt.timedelta(days=1 if prefix == "lt" else 0)
            else:
                start = end = day
        except (ValueError, OverflowError):
            raise ApiProblem(
                422, "invalid-date", f"date={value!r} is not a calendar day: use e.g. ge2026-01-01"
            ) from None
    return start, end


@router.get(
    "/Observation",
    dependencies=[Allow("resident.read")],
    response_class=JSONResponse,
    responses={
        200: {
            "content": {FHIR_JSON: {"schema": {"type": "object"}}},
            "description": "A searchset Bundle.",
        }
    },
)
async def observations(
    request: Request,
    audited: AuditedRead,
    conn: ConnDep,
    patient: Annotated[str, Query(description="Patient/<resident id> or the resident id.")],
    code: Annotated[
        str, Query(description=f"LOINC code; only {STEPS_LOINC} (daily steps).")
    ] = STEPS_LOINC,
    date: Annotated[
        list[str] | None, Query(description="ge/le/eq + YYYY-MM-DD; default the last 30 days.")
    ] = None,
) -> JSONResponse:
    """The resident's daily steps (days with walker data) as R4 Observations, LOINC 41950-7,
    unit ``/d``, in a searchset Bundle (at most 366 days). The days are those of
    ``/residents/{id}/days``: covered by care consent and, for care staff, within the
    resident's stays on their wards."""
    match = _PATIENT.match(patient)
    if match is None:
        raise ApiProblem(422, "invalid-patient", "patient must be Patient/<id> or a resident id")
    token = code.split("|")[-1]
    if token != STEPS_LOINC:
        raise ApiProblem(
            422, "unsupported-code", f"only code {STEPS_LOINC} (daily steps) is served"
        )
    p = audited.principal
    resident = await resident_ref(conn, p, int(match.group(1)))
    today = dt.datetime.now(ZoneInfo(p.time_zone)).date()
    start, end = _dates(date or [], today)
    check_range(start, end, what="date range")
    cur = await conn.execute(
        """SELECT day, steps_n, device_id FROM resident_days
           WHERE tenant_id = %s AND resident_id = %s AND day BETWEEN %s AND %s
             AND walker_data AND steps_n IS NOT NULL
             AND care_consent_covers(resident_id, day)
             AND care_scope_covers(resident_id, %s, day)
           ORDER BY day""",
        (p.tenant_id, resident.resident_id, start, end, resident.scope_wards),
    )
    obs = [
        steps_observation(resident.resident_id, resident.pseudonym, d, int(s), p.time_zone, dev)
        for d, s, dev in await cur.fetchall()
    ]
    bundle = searchset(obs, str(request.url))
    await audited.record(
        "resident",
        [str(resident.resident_id)],
        detail={"fhir": "Observation", "from": start.isoformat(), "to": end.isoformat()},
    )
    return JSONResponse(bundle, media_type=FHIR_JSON)
