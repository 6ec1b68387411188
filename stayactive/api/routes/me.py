"""``GET /me``: who the caller is, in which tenant, with which wards."""

from __future__ import annotations

from fastapi import APIRouter

from stayactive.api.deps import ConnDep, CurrentUser
from stayactive.api.models.auth import MePublic, WardBrief
from stayactive.api.problems import problem_responses

router = APIRouter(tags=["auth"], responses=problem_responses(401, 503))


@router.get("/me", response_model=MePublic)
async def me(principal: CurrentUser, conn: ConnDep) -> MePublic:
    """The caller's user (or API key), role, tenant and the wards in their scope (care staff
    see only these; admins see every ward of the tenant)."""
    cur = await conn.execute(
        """SELECT w.ward_id, w.name, s.name FROM wards w JOIN sites s ON s.site_id = w.site_id
           WHERE w.tenant_id = %(t)s AND (%(all)s OR w.ward_id = ANY(%(w)s))
           ORDER BY s.name, w.name""",
        {"t": principal.tenant_id, "all": principal.role == "admin", "w": list(principal.ward_ids)},
    )
    wards = [
        WardBrief(ward_id=int(r[0]), name=str(r[1]), site=str(r[2])) for r in await cur.fetchall()
    ]
    cur = await conn.execute(
        "SELECT name FROM tenants WHERE tenant_id = %s", (principal.tenant_id,)
    )
    row = await cur.fetchone()
    expires = None
    if principal.session_id is not None:
        cur = await conn.execute(
            "SELECT expires_at FROM api_sessions WHERE session_id = %s", (principal.session_id,)
        )
        srow = await cur.fetchone()
        expires = srow[0] if srow else None
    return MePublic(
        username=principal.actor,
        role=principal.role,
        tenant_id=principal.tenant_id,
        tenant_name=str(row[0]) if row else principal.tenant_id,
        time_zone=principal.time_zone,
        wards=wards,
        session_expires_at=expires,
    )
