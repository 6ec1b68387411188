"""``/assignments``: which device is with which resident when (overlaps refused, 409)."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Path, Query, Request, Response, status
from psycopg.rows import TupleRow

from stayactive import registry
from stayactive.api._audit import write_audit_sync
from stayactive.api.deps import (
    MAX_ID,
    Allow,
    AuditedRead,
    ConnDep,
    CurrentUser,
    PageDep,
    StateDep,
    endpoint_of,
    resident_ref,
    ward_scope,
)
from stayactive.api.models.common import Page, page_of
from stayactive.api.models.registry import AssignmentCreate, AssignmentPublic
from stayactive.api.problems import ApiProblem, not_found, problem_responses
from stayactive.errors import ConstraintViolation

router = APIRouter(
    prefix="/assignments",
    tags=["assignments"],
    responses=problem_responses(401, 403, 404, 422, 503),
)

_COLUMNS = (
    "a.assignment_id, a.device_id, a.resident_id, r.pseudonym, lower(a.valid), upper(a.valid)"
)


def _public(row: tuple[Any, ...]) -> AssignmentPublic:
    return AssignmentPublic(
        assignment_id=row[0],
        device_id=row[1],
        resident_id=row[2],
        pseudonym=row[3],
        valid_from=row[4],
        valid_to=row[5],
    )


@router.get("", response_model=Page[AssignmentPublic], dependencies=[Allow("resident.read")])
async def list_assignments(
    audited: AuditedRead,
    conn: ConnDep,
    page: PageDep,
    device: Annotated[str | None, Query(max_length=64, description="Only this device.")] = None,
    resident: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this resident.")
    ] = None,
) -> Page[AssignmentPublic]:
    """Assignments, newest first (care staff: those overlapping a stay of the resident on their
    wards)."""
    p = audited.principal
    if resident is not None:
        await resident_ref(conn, p, resident)
    rows, total = await page.fetch(
        conn,
        f"""SELECT {_COLUMNS}, count(*) OVER () FROM device_assignments a
            JOIN residents r ON r.resident_id = a.resident_id
            WHERE a.tenant_id = %(t)s
              AND (%(d)s::text IS NULL OR a.device_id = %(d)s)
              AND (%(r)s::bigint IS NULL OR a.resident_id = %(r)s)
              AND care_scope_overlaps(a.resident_id, %(w)s, a.valid)
            ORDER BY lower(a.valid) DESC, a.assignment_id DESC
            LIMIT %(limit)s OFFSET %(offset)s""",
        {
            "t": p.tenant_id,
            "d": device,
            "r": resident,
            "w": ward_scope(p),
        },
        total_at=6,
    )
    items = [_public(r) for r in rows]
    # The resident asked about is read even when none of their assignments is on this page
    # ("none" is an answer about them too).
    asked = {str(resident)} if resident is not None else set()
    await audited.record(
        "resident",
        sorted({str(i.resident_id) for i in items} | asked),
        detail={"assignments": len(items)},
    )
    return page_of(items, total, page.limit, page.offset)


@router.post(
    "",
    response_model=AssignmentPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Allow("registry.write")],
    responses=problem_responses(409),
)
async def create_assignment(
    body: AssignmentCreate,
    principal: CurrentUser,
    conn: ConnDep,
    state: StateDep,
    request: Request,
) -> AssignmentPublic:
    """Assign a device to a resident for [valid_from, valid_to). A device is with one resident
    at a time: an overlap is refused with 409 naming the assignment in the way."""
    p = principal
    if body.valid_to is not None and body.valid_to <= body.valid_from:
        raise ApiProblem(422, "invalid-range", "valid_to must be after valid_from")
    cur = await conn.execute(
        "SELECT 1 FROM devices WHERE device_id = %s AND tenant_id = %s",
        (body.device_id, p.tenant_id),
    )
    if await cur.fetchone() is None:
        raise not_found(f"device {body.device_id}")
    await resident_ref(conn, p, body.resident_id)
    endpoint = endpoint_of(request)

    def work(sync: psycopg.Connection[TupleRow]) -> int:
        assignment_id = registry.assign_device(
            sync, p.tenant_id, body.device_id, body.resident_id, body.valid_from, body.valid_to
        )
        write_audit_sync(
            sync,
            p,
            action="create",
            endpoint=endpoint,
            subject_kind="resident",
            subject_ids=[str(body.resident_id)],
            detail={"assignment_id": assignment_id, "device_id": body.device_id},
        )
        return assignment_id

    try:
        assignment_id = await state.in_thread(p.tenant_id, work)
    except ConstraintViolation as exc:
        if exc.kind != "exclusion":
            raise
        raise await _conflict(conn, p.tenant_id, body) from exc
    cur = await conn.execute(
        f"""SELECT {_COLUMNS} FROM device_assignments a
            JOIN residents r ON r.resident_id = a.resident_id WHERE a.assignment_id = %s""",
        (assignment_id,),
    )
    created = await cur.fetchone()
    assert created is not None
    return _public(created)


async def _conflict(conn: ConnDep, tenant_id: str, body: AssignmentCreate) -> ApiProblem:
    cur = await conn.execute(
        f"""SELECT {_COLUMNS} FROM device_assignments a
            JOIN residents r ON r.resident_id = a.resident_id
            WHERE a.device_id = %s AND a.tenant_id = %s AND a.valid && tstzrange(%s, %s)
            ORDER BY lower(a.valid) LIMIT 1""",
        (body.device_id, tenant_id, body.valid_from, body.valid_to),
    )
    row = await cur.fetchone()
    if row is None:
        return ApiProblem(409, "assignment-overlap", "the device is assigned at that time")
    other = _public(row)
    until = other.valid_to.isoformat() if other.valid_to else "open end"
    return ApiProblem(
        409,
        "assignment-overlap",
        f"device {body.device_id} is assigned to resident {other.resident_id} "
        f"(assignment {other.assignment_id}, {other.valid_from.isoformat()} to {until})",
        extra={"conflicting_assignment": other.model_dump(mode="json")},
    )


@router.delete(
    "/{assignment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[Allow("registry.write")],
)
async def delete_assignment(
    assignment_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    principal: CurrentUser,
    state: StateDep,
    request: Request,
) -> None:
    """Delete a wrong assignment; the days it touched are recomputed by analytics."""
    endpoint = endpoint_of(request)

    def work(sync: psycopg.Connection[TupleRow]) -> None:
        deleted = registry.delete_assignment(sync, principal.tenant_id, assignment_id)
        if deleted is None:
            raise not_found(f"assignment {assignment_id}")
        resident_id, device_id = deleted
        write_audit_sync(
            sync,
            principal,
            action="delete",
            endpoint=endpoint,
            subject_kind="resident",
            subject_ids=[str(resident_id)],
            detail={"assignment_id": assignment_id, "device_id": device_id},
        )

    await state.in_thread(principal.tenant_id, work)
