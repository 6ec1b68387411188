"""``/users`` and ``/api-keys``: the tenant's accounts (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field, StringConstraints

from stayactive import auth, db
from stayactive.api.deps import MAX_ID, Allow, AuditedRead, ConnDep
from stayactive.api.models.common import NoNationalId
from stayactive.api.models.registry import BodyId
from stayactive.api.problems import ApiProblem, not_found, problem_responses
from stayactive.errors import ConstraintViolation

router = APIRouter(
    tags=["users"],
    dependencies=[Allow("registry.write")],
    responses=problem_responses(401, 403, 404, 422, 503),
)

Username = Annotated[str, StringConstraints(pattern=auth.USERNAME_PATTERN), NoNationalId]


class UserCreate(BaseModel):
    username: Username
    role: Literal["admin", "care_staff", "finance", "integrator"]
    password: str = Field(min_length=auth.MIN_PASSWORD_LENGTH, max_length=256)
    ward_ids: list[BodyId] = Field(default_factory=list, max_length=200)


class UserPublic(BaseModel):
    user_id: int
    username: str
    role: str
    active: bool
    ward_ids: list[int]


class WardsUpdate(BaseModel):
    ward_ids: list[BodyId] = Field(max_length=200)


class RoleUpdate(BaseModel):
    role: Literal["admin", "care_staff", "finance", "integrator"]


class ApiKeyCreate(BaseModel):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNationalId
    ]


class ApiKeyPublic(BaseModel):
    key_id: str
    name: str
    role: str
    created_by: str
    revoked: bool


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="Send as the X-API-Key header. Shown only in this answer.")


UserIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


async def _check_wards(conn: ConnDep, tenant_id: str, ward_ids: list[int]) -> None:
    cur = await conn.execute(
        "SELECT count(*) FROM wards WHERE tenant_id = %s AND ward_id = ANY(%s)",
        (tenant_id, list(set(ward_ids))),
    )
    row = await cur.fetchone()
    if row is None or int(row[0]) != len(set(ward_ids)):
        raise not_found("one of the wards")


async def _user(conn: ConnDep, tenant_id: str, user_id: int) -> UserPublic:
    rows = [u for u in await auth.list_users(conn, tenant_id) if u.user_id == user_id]
    if not rows:
        raise not_found(f"user {user_id}")
    u = rows[0]
    return UserPublic(
        user_id=u.user_id,
        username=u.username,
        role=u.role,
        active=u.active,
        ward_ids=list(u.ward_ids),
    )


@router.get("/users", response_model=list[UserPublic])
async def list_users(audited: AuditedRead, conn: ConnDep) -> list[UserPublic]:
    """The tenant's users with role, wards and state."""
    users = await auth.list_users(conn, audited.principal.tenant_id)
    return [
        UserPublic(
            user_id=u.user_id,
            username=u.username,
            role=u.role,
            active=u.active,
            ward_ids=list(u.ward_ids),
        )
        for u in users
    ]


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409),
)
async def create_user(body: UserCreate, audited: AuditedRead, conn: ConnDep) -> UserPublic:
    """Create a user of the tenant (care staff need at least one ward)."""
    p = audited.principal
    await _check_wards(conn, p.tenant_id, body.ward_ids)
    password_hash = await anyio.to_thread.run_sync(auth.hash_password, body.password)
    try:
        with db.translated():
            async with conn.transaction():
                user_id = await auth.add_user(
                    conn, p.tenant_id, body.username, body.role, password_hash, body.ward_ids
                )
    except ConstraintViolation as exc:
        raise ApiProblem(409, "username-taken", f"username {body.username!r} is taken") from exc
    await audited.record(
        "user",
        [body.username],
        action="create",
        detail={"role": body.role, "ward_ids": body.ward_ids},
    )
    return await _user(conn, p.tenant_id, user_id)


async def _set_active(
    audited: AuditedRead, conn: ConnDep, user_id: int, active: bool
) -> UserPublic:
    user = await _user(conn, audited.principal.tenant_id, user_id)
    if not active and user.user_id == audited.principal.user_id:
        raise ApiProblem(422, "cannot-disable-self", "an admin cannot disable their own account")
    await auth.set_active(conn, user_id, active)
    await audited.record("user", [user.username], action="enable" if active else "disable")
    return await _user(conn, audited.principal.tenant_id, user_id)


@router.post("/users/{user_id}/disable", response_model=UserPublic)
async def disable_user(user_id: UserIdPath, audited: AuditedRead, conn: ConnDep) -> UserPublic:
    """Disable the user: every session ends at once, logins are refused."""
    return await _set_active(audited, conn, user_id, False)


@router.post("/users/{user_id}/enable", response_model=UserPublic)
async def enable_user(user_id: UserIdPath, audited: AuditedRead, conn: ConnDep) -> UserPublic:
    """Enable a disabled user."""
    return await _set_active(audited, conn, user_id, True)


@router.put("/users/{user_id}/wards", response_model=UserPublic)
async def set_user_wards(
    user_id: UserIdPath, body: WardsUpdate, audited: AuditedRead, conn: ConnDep
) -> UserPublic:
    """Replace the wards in the user's scope."""
    p = audited.principal
    user = await _user(conn, p.tenant_id, user_id)
    await _check_wards(conn, p.tenant_id, body.ward_ids)
    await auth.set_wards(conn, p.tenant_id, user_id, body.ward_ids)
    await audited.record(
        "user", [user.username], action="set-wards", detail={"ward_ids": body.ward_ids}
    )
    return await _user(conn, p.tenant_id, user_id)


@router.put("/users/{user_id}/role", response_model=UserPublic)
async def set_user_role(
    user_id: UserIdPath, body: RoleUpdate, audited: AuditedRead, conn: ConnDep
) -> UserPublic:
    """Change the user's role (audited with the previous one); effective on the next request."""
    p = audited.principal
    user = await _user(conn, p.tenant_id, user_id)
    if user.user_id == p.user_id and body.role != "admin":
        raise ApiProblem(422, "cannot-demote-self", "an admin cannot take their own admin role")
    previous = await auth.set_role(conn, user_id, body.role)
    await audited.record(
        "user",
        [user.username],
        action="set-role",
        detail={"role": body.role, "previous": previous},
        purpose="administration",
    )
    return await _user(conn, p.tenant_id, user_id)


@router.get("/api-keys", response_model=list[ApiKeyPublic])
async def list_keys(audited: AuditedRead, conn: ConnDep) -> list[ApiKeyPublic]:
    """The tenant's integrator keys (never the secrets)."""
    keys = await auth.list_api_keys(conn, audited.principal.tenant_id)
    return [
        ApiKeyPublic(
            key_id=k.key_id,
            name=k.name,
            role=k.role,
            created_by=k.created_by,
            revoked=k.revoked_at is not None,
        )
        for k in keys
    ]


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409),
)
async def create_key(body: ApiKeyCreate, audited: AuditedRead, conn: ConnDep) -> ApiKeyCreated:
    """A new integrator key (imports only). The key is in this answer only."""
    p = audited.principal
    try:
        with db.translated():
            async with conn.transaction():
                key_id, key = await auth.create_api_key(conn, p.tenant_id, body.name, p.actor)
    except ConstraintViolation as exc:
        raise ApiProblem(409, "key-exists", f"a key named {body.name!r} exists already") from exc
    await audited.record("api_key", [key_id], action="create", detail={"name": body.name})
    return ApiKeyCreated(
        key_id=key_id, name=body.name, role="integrator", created_by=p.actor, revoked=False, key=key
    )


@router.delete(
    "/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def revoke_key(
    key_id: Annotated[str, Path(pattern=r"^[a-f0-9]{12}$")], audited: AuditedRead, conn: ConnDep
) -> None:
    """Revoke a key at once."""
    if not await auth.revoke_api_key(conn, audited.principal.tenant_id, key_id):
        raise not_found(f"API key {key_id}")
    await audited.record("api_key", [key_id], action="revoke")
