"""``/alerts/{id}/handled``: record who handled an alert, when, with a note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from stayactive.api import alerts, policy
from stayactive.api.deps import MAX_ID, Allow, AuditedRead, ConnDep, denied
from stayactive.api.models.common import FreeText
from stayactive.api.models.overview import AlertPublic
from stayactive.api.problems import not_found, problem_responses
from stayactive.locale_format import Language

router = APIRouter(
    prefix="/alerts", tags=["alerts"], responses=problem_responses(401, 403, 404, 422, 503)
)


class HandledCreate(BaseModel):
    note: FreeText = Field(
        default="",
        max_length=2000,
        description="What was done. Never a national identity number (refused with 422).",
    )


@router.post(
    "/{alert_id}/handled", response_model=AlertPublic, dependencies=[Allow("alerts.handle")]
)
async def mark_handled(
    alert_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: HandledCreate,
    audited: AuditedRead,
    conn: ConnDep,
    lang: Annotated[Language, Query()] = "nb",
) -> AlertPublic:
    """Mark the alert handled by the caller, now, with a note. It stays open until its
    condition clears; handling it again replaces who, when and the note."""
    p = audited.principal
    found = await alerts.alert_by_id(conn, p.tenant_id, alert_id)
    if found is None:
        raise not_found(f"alert {alert_id}")
    ward_id, resident_id = found
    if p.role in policy.WARD_SCOPED and ward_id not in p.ward_ids:
        raise denied(p, "ward", ward_id, f"alert {alert_id} is on a ward that is not yours")
    result = await alerts.mark_handled(
        conn, p.tenant_id, alert_id, p.actor, body.note.strip(), p.time_zone, lang
    )
    assert result is not None
    await audited.record(
        "resident",
        [str(resident_id)],
        action="handle-alert",
        detail={"alert_id": alert_id, "kind": result.kind},
    )
    return result
