"""``/residents/{id}/alerts``: a resident's alerts, open and handled, with who handled them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from stayactive.api import alerts, policy
from stayactive.api.deps import Allow, AuditedRead, ConnDep, ResidentScope
from stayactive.api.models.overview import AlertPublic
from stayactive.api.problems import problem_responses
from stayactive.locale_format import Language

router = APIRouter(
    prefix="/residents", tags=["alerts"], responses=problem_responses(401, 403, 404, 422, 503)
)


class ResidentAlerts(BaseModel):
    resident_id: int
    days: int
    alerts: list[AlertPublic]


@router.get(
    "/{resident_id}/alerts",
    response_model=ResidentAlerts,
    dependencies=[Allow("resident.read")],
)
async def resident_alerts(
    resident: ResidentScope,
    audited: AuditedRead,
    conn: ConnDep,
    days: Annotated[int, Query(ge=1, le=366, description="Alerts opened in the last N days.")] = 30,
    lang: Annotated[Language, Query()] = "nb",
) -> ResidentAlerts:
    """The resident's alerts opened in the last ``days`` days or still open, newest first,
    handled ones with who, when and the note. Care staff see the alerts raised on their wards."""
    p = audited.principal
    wards = list(p.ward_ids) if p.role in policy.WARD_SCOPED else None
    since = datetime.now(UTC) - timedelta(days=days)
    found = await alerts.resident_alerts(
        conn, p.tenant_id, resident.resident_id, wards, p.time_zone, lang, since
    )
    await audited.record("resident", [str(resident.resident_id)], detail={"alerts": len(found)})
    return ResidentAlerts(resident_id=resident.resident_id, days=days, alerts=found)
