"""``/wards``: the ward list, new wards, alert settings, and the ward overview."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import psycopg
from fastapi import APIRouter, Query, Request, status

from stayactive import registry
from stayactive.api._audit import write_audit_sync
from stayactive.api.alerts import set_ward_alert_settings
from stayactive.api.deps import (
    Allow,
    AuditedRead,
    ConnDep,
    CurrentUser,
    StateDep,
    WardScope,
    endpoint_of,
)
from stayactive.api.models.overview import WardOverviewPublic
from stayactive.api.models.registry import AlertSettingsPublic, WardCreate, WardPublic
from stayactive.api.overview import ward_overview
from stayactive.api.problems import ApiProblem, problem_responses
from stayactive.api.ward_snapshot import AlertSettings, alert_settings
from stayactive.locale_format import Language

router = APIRouter(
    prefix="/wards", tags=["wards"], responses=problem_responses(401, 403, 404, 422, 503)
)

_WARDS = """
SELECT w.ward_id, s.name, w.name, w.go_live_on, a.not_up_by, a.battery_low_pct,
       a.offline_after_min
FROM wards w JOIN sites s ON s.site_id = w.site_id
LEFT JOIN ward_alert_settings a ON a.ward_id = w.ward_id
WHERE w.tenant_id = %(t)s AND (%(all)s OR w.ward_id = ANY(%(w)s))
"""


def _ward_public(row: tuple[Any, ...]) -> WardPublic:
    default = AlertSettings()
    return WardPublic(
        ward_id=int(row[0]),
        site=str(row[1]),
        name=str(row[2]),
        go_live_on=row[3],
        alert_settings=AlertSettingsPublic(
            not_up_by=(row[4] or default.not_up_by).strftime("%H:%M"),
            battery_low_pct=float(row[5]) if row[5] is not None else default.battery_low_pct,
            offline_after_min=int(row[6]) if row[6] is not None else default.offline_after_min,
        ),
    )


@router.get("", response_model=list[WardPublic], dependencies=[Allow("wards.read")])
async def list_wards(principal: CurrentUser, conn: ConnDep) -> list[WardPublic]:
    """The tenant's wards (care staff: their own), by site and name."""
    cur = await conn.execute(
        _WARDS + " ORDER BY s.name, w.name",
        {
            "t": principal.tenant_id,
            "all": principal.role != "care_staff",
            "w": list(principal.ward_ids),
        },
    )
    return [_ward_public(row) for row in await cur.fetchall()]


@router.post(
    "",
    response_model=WardPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Allow("registry.write")],
    responses=problem_responses(409),
)
async def create_ward(
    body: WardCreate, principal: CurrentUser, state: StateDep, request: Request, conn: ConnDep
) -> WardPublic:
    """Create a ward (and its site if new). 409 if the site has a ward of that name."""
    endpoint = endpoint_of(request)

    def work(sync: psycopg.Connection[psycopg.rows.TupleRow]) -> int:
        exists = sync.execute(
            """SELECT w.ward_id FROM wards w JOIN sites s ON s.site_id = w.site_id
               WHERE w.tenant_id = %s AND s.name = %s AND w.name = %s""",
            (principal.tenant_id, body.site, body.name),
        ).fetchone()
        if exists is not None:
            raise ApiProblem(
                409,
                "ward-exists",
                f"{body.site} has a ward {body.name!r} already (ward {exists[0]})",
            )
        ward_id = registry.ensure_ward(
            sync, principal.tenant_id, body.site, body.name, body.go_live_on
        ).ward_id
        write_audit_sync(
            sync,
            principal,
            action="create",
            endpoint=endpoint,
            purpose="administration",
            subject_kind="ward",
            subject_ids=[str(ward_id)],
            detail=body.model_dump(mode="json"),
        )
        return ward_id

    ward_id = await state.in_thread(principal.tenant_id, work)
    cur = await conn.execute(_WARDS, {"t": principal.tenant_id, "all": False, "w": [ward_id]})
    row = await cur.fetchone()
    assert row is not None
    return _ward_public(row)


@router.put(
    "/{ward_id}/alert-settings",
    response_model=AlertSettingsPublic,
    dependencies=[Allow("registry.write")],
)
async def set_alert_settings(
    ward: WardScope, body: AlertSettingsPublic, audited: AuditedRead, conn: ConnDep
) -> AlertSettingsPublic:
    """Set the ward's alert settings: the hour for 'not up', battery and offline limits."""
    await set_ward_alert_settings(
        conn,
        audited.principal.tenant_id,
        ward.ward_id,
        AlertSettings(
            dt.time.fromisoformat(body.not_up_by), body.battery_low_pct, body.offline_after_min
        ),
    )
    await audited.record(
        "ward", [str(ward.ward_id)], action="update", detail=body.model_dump(mode="json")
    )
    return await _settings_public(conn, ward.ward_id)


async def _settings_public(conn: ConnDep, ward_id: int) -> AlertSettingsPublic:
    s = await alert_settings(conn, ward_id)
    return AlertSettingsPublic(
        not_up_by=s.not_up_by.strftime("%H:%M"),
        battery_low_pct=s.battery_low_pct,
        offline_after_min=s.offline_after_min,
    )


@router.get(
    "/{ward_id}/overview",
    response_model=WardOverviewPublic,
    dependencies=[Allow("resident.read")],
)
async def overview(
    ward: WardScope,
    audited: AuditedRead,
    conn: ConnDep,
    date: Annotated[
        dt.date | None, Query(description="Local date (default today in the tenant's zone).")
    ] = None,
    lang: Annotated[Language, Query(description="Language of the text fields.")] = "nb",
) -> WardOverviewPublic:
    """Per resident on the ward: today's steps and walking minutes against their own recent
    level, the 7-day series, gait speed and trend, last activity, data coverage, devices and
    open alerts (most urgent first). Reading it audits every resident shown."""
    p = audited.principal
    today = dt.datetime.now(ZoneInfo(p.time_zone)).date()
    if date is not None and not (dt.date(2000, 1, 1) <= date <= today):
        raise ApiProblem(422, "invalid-date", f"date {date} is out of range (2000-01-01 to today)")
    result = await ward_overview(
        conn,
        tenant_id=p.tenant_id,
        time_zone=p.time_zone,
        ward_id=ward.ward_id,
        ward=ward.name,
        site=ward.site,
        day=date,
        lang=lang,
        show_identity=p.role == "care_staff",
    )
    await audited.record(
        "resident",
        [str(r.resident_id) for r in result.residents],
        detail={"ward_id": ward.ward_id, "date": result.date.isoformat()},
    )
    return result
