"""``GET /audit``: who read or changed what (admins of the tenant).

Reading who looked at a resident is itself a use of that resident's data, so the read is
audited too (:func:`audit_log_read`): one ``access_log.read`` row per resident the answer is
about, written after the query (the answer does not list itself) and before it is returned.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel

from stayactive.api.deps import MAX_ID, Allow, AuditedRead, Auditor, PageDep, check_range
from stayactive.api.models.common import Page, page_of
from stayactive.api.problems import problem_responses

router = APIRouter(
    prefix="/audit",
    tags=["audit"],
    dependencies=[Allow("audit.read")],
    responses=problem_responses(401, 403, 422, 503),
)


class AuditEntry(BaseModel):
    audit_id: int
    at: dt.datetime
    actor: str
    actor_role: str | None
    action: str
    subject_kind: str | None
    subject_id: str | None
    purpose: str | None
    endpoint: str | None
    detail: dict[str, Any]


async def audit_log_read(audited: Auditor, residents: list[str], detail: dict[str, Any]) -> None:
    """Audit a read of the audit log: one ``access_log.read`` row per resident it showed, or
    one row about the tenant's audit log when it showed none (every review stays traceable).
    Unlike a data read (``read``) it does not count towards the unusual-access flags, so a
    reviewer's own looking does not flag itself."""
    kind, ids = (
        ("resident", sorted(set(residents)))
        if residents
        else ("audit_log", [audited.principal.tenant_id])
    )
    await audited.record(
        kind, ids, action="access_log.read", detail=detail, purpose="administration"
    )


@router.get("", response_model=Page[AuditEntry])
async def audit_log(
    audited: AuditedRead,
    page: PageDep,
    resident: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Reads of this resident.")
    ] = None,
    user: Annotated[str | None, Query(max_length=128, description="Actions of this user.")] = None,
    start: Annotated[
        dt.date | None, Query(alias="from", ge=dt.date(2000, 1, 1), le=dt.date(2100, 1, 1))
    ] = None,
    end: Annotated[
        dt.date | None, Query(alias="to", ge=dt.date(2000, 1, 1), le=dt.date(2100, 1, 1))
    ] = None,
) -> Page[AuditEntry]:
    """The tenant's audit log, newest first, by resident, user and local dates (at most a year
    per call; default the last 30 days)."""
    principal, conn = audited.principal, audited.conn
    # The tenant's today: the dates are its local dates (in UTC, the hour after a Norwegian
    # midnight still fell on the day before, and the newest rows were left out).
    today = dt.datetime.now(ZoneInfo(principal.time_zone)).date()
    end = end or today
    start = start or end - dt.timedelta(days=29)
    check_range(start, end)
    rows, total = await page.fetch(
        conn,
        """SELECT audit_id, at, actor, actor_role, action, subject_kind, subject_id, purpose,
                  endpoint, detail, count(*) OVER ()
           FROM audit_log
           WHERE tenant_id = %(t)s
             AND at >= (%(start)s::date)::timestamp AT TIME ZONE %(tz)s
             AND at < ((%(end)s::date + 1)::timestamp) AT TIME ZONE %(tz)s
             AND (%(r)s::text IS NULL OR (subject_kind = 'resident' AND subject_id = %(r)s))
             AND (%(u)s::text IS NULL OR actor = %(u)s)
           ORDER BY at DESC, audit_id DESC LIMIT %(limit)s OFFSET %(offset)s""",
        {
            "t": principal.tenant_id,
            "start": start,
            "end": end,
            "tz": principal.time_zone,
            "r": None if resident is None else str(resident),
            "u": user,
        },
        total_at=10,
    )
    items = [
        AuditEntry(
            audit_id=r[0],
            at=r[1],
            actor=r[2],
            actor_role=r[3],
            action=r[4],
            subject_kind=r[5],
            subject_id=r[6],
            purpose=r[7],
            endpoint=r[8],
            detail=r[9] or {},
        )
        for r in rows
    ]
    shown = {e.subject_id for e in items if e.subject_kind == "resident" and e.subject_id}
    if resident is not None:
        shown.add(str(resident))  # asked about, even if nobody had looked
    await audit_log_read(
        audited,
        list(shown),
        {"resident": resident, "user": user, "from": start.isoformat(), "to": end.isoformat(),
         "entries": len(items)},
    )  # fmt: skip
    return page_of(items, total, page.limit, page.offset)
