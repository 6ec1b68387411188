"""``/audit/flags`` and ``/audit/residents/{id}/access-log``: reviewing the audit trail (admins).

The flags point the reviewer at unusual access (outside the user's usual wards, many residents
in a short time, at night; :func:`stayactive.privacy.unusual_access`); the access log is what a
resident gets when they ask who has read their data (CSV, Norwegian headers by default).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from stayactive import privacy
from stayactive.api.deps import MAX_ID, Allow, AuditedRead, StateDep, check_range, resident_ref
from stayactive.api.problems import problem_responses
from stayactive.api.routes.audit import audit_log_read

router = APIRouter(
    prefix="/audit",
    tags=["audit"],
    dependencies=[Allow("audit.read")],
    responses=problem_responses(401, 403, 404, 422, 503),
)

DateFrom = Annotated[
    dt.date | None, Query(alias="from", ge=dt.date(2000, 1, 1), le=dt.date(2100, 1, 1))
]
DateTo = Annotated[
    dt.date | None, Query(alias="to", ge=dt.date(2000, 1, 1), le=dt.date(2100, 1, 1))
]


class AccessFlagPublic(BaseModel):
    """An unusual pattern of reads, for the reviewer to look at."""

    kind: Literal["outside_usual_wards", "many_residents", "night", "denied"]
    actor: str
    first_at: dt.datetime
    last_at: dt.datetime
    reads: int
    residents: list[str]
    detail: str = Field(description="What is unusual, in bokmål.")
    detail_en: str = Field(description="The same in English.")


def _period(
    start: dt.date | None, end: dt.date | None, time_zone: str, default_days: int
) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    tz = ZoneInfo(time_zone)
    end = end or dt.datetime.now(tz).date()
    start = start or end - dt.timedelta(days=default_days - 1)
    check_range(start, end)
    return (
        start,
        end,
        dt.datetime.combine(start, dt.time(0), tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tz),
    )


@router.get("/flags", response_model=list[AccessFlagPublic])
async def flags(
    audited: AuditedRead,
    state: StateDep,
    start: DateFrom = None,
    end: DateTo = None,
) -> list[AccessFlagPublic]:
    """Unusual access in the period (local dates; default the last 7 days), by kind and user."""
    p = audited.principal
    s, e, t0, t1 = _period(start, end, p.time_zone, 7)
    found = await state.in_thread(
        p.tenant_id, lambda sync: privacy.unusual_access(sync, p.tenant_id, t0, t1)
    )
    # The flags name residents whose data was read: showing them is audited as well.
    await audit_log_read(
        audited,
        [r for f in found for r in f.residents],
        {"from": s.isoformat(), "to": e.isoformat(), "flags": len(found)},
    )
    return [
        AccessFlagPublic(
            kind=f.kind,
            actor=f.actor,
            first_at=f.first_at,
            last_at=f.last_at,
            reads=f.reads,
            residents=list(f.residents),
            detail=f.detail,
            detail_en=f.detail_en,
        )
        for f in found
    ]


@router.get(
    "/residents/{resident_id}/access-log",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def resident_access_log(
    resident_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Resident id.")],
    audited: AuditedRead,
    state: StateDep,
    start: DateFrom = None,
    end: DateTo = None,
    lang: Annotated[Literal["nb", "en"], Query(description="Headers' language.")] = "nb",
) -> Response:
    """Who read or changed the resident's data (local dates; default the last 365 days), as
    CSV for the resident: time, user, role, action, what was used, purpose."""
    p = audited.principal
    resident = await resident_ref(audited.conn, p, resident_id)
    s, e, t0, t1 = _period(start, end, p.time_zone, 365)
    entries = await state.in_thread(
        p.tenant_id,
        lambda sync: privacy.resident_access_log(sync, p.tenant_id, resident.resident_id, t0, t1),
    )
    # Handing a resident their log is itself a use of their data: it is logged too (after the
    # rows above were read, so the export does not list itself).
    await audited.record(
        "resident",
        [str(resident.resident_id)],
        action="access_log.export",
        detail={"from": s.isoformat(), "to": e.isoformat(), "entries": len(entries)},
        purpose="administration",
    )
    body = privacy.access_log_csv(entries, p.time_zone, lang)
    name = f"tilgangslogg-{resident.pseudonym}-{s}-{e}.csv"
    return Response(
        content=body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
