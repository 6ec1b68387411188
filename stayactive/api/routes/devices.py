"""``/devices`` and ``/fleet``: registry, credentials, status of walkers and robots."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Path, Query, Request, status
from psycopg.rows import TupleRow

from stayactive import auth
from stayactive.api import fleet_traffic, policy
from stayactive.api._audit import write_audit_sync
from stayactive.api.deps import (
    MAX_ID,
    Allow,
    AuditedRead,
    ConnDep,
    CurrentUser,
    PageDep,
    StateDep,
    check_ward_filter,
    denied,
    endpoint_of,
)
from stayactive.api.models.common import Page, page_of
from stayactive.api.models.registry import (
    AssignmentBrief,
    BrokerAddress,
    DeviceCreate,
    DeviceCredentials,
    DevicePublic,
    DeviceStatus,
    FleetDevice,
    FleetTraffic,
)
from stayactive.api.problems import ApiProblem, not_found, problem_responses
from stayactive.api.ward_snapshot import AlertSettings
from stayactive.auth import Principal
from stayactive.registry import NewDevice

router = APIRouter(tags=["devices"], responses=problem_responses(401, 403, 404, 422, 503))

DeviceIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]

_DEVICE = "d.device_id, d.kind, d.serial, d.ward_id, d.firmware, d.active, d.created_at"


def _device_public(row: tuple[Any, ...]) -> DevicePublic:
    return DevicePublic(
        device_id=row[0],
        kind=row[1],
        serial=row[2],
        ward_id=row[3],
        firmware=row[4],
        active=row[5],
        created_at=row[6],
    )


def _scoped(principal: Principal) -> bool:
    return principal.role in policy.WARD_SCOPED


@router.get("/devices", response_model=Page[DevicePublic], dependencies=[Allow("devices.read")])
async def list_devices(
    principal: CurrentUser,
    conn: ConnDep,
    page: PageDep,
    ward: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[DevicePublic]:
    """The tenant's devices (care staff: of their wards), by id."""
    await check_ward_filter(conn, principal, ward)
    rows, total = await page.fetch(
        conn,
        f"""SELECT {_DEVICE}, count(*) OVER () FROM devices d
            WHERE d.tenant_id = %(t)s AND (NOT %(scoped)s OR d.ward_id = ANY(%(w)s))
              AND (%(ward)s::bigint IS NULL OR d.ward_id = %(ward)s)
            ORDER BY d.device_id LIMIT %(limit)s OFFSET %(offset)s""",
        {
            "t": principal.tenant_id,
            "scoped": _scoped(principal),
            "w": list(principal.ward_ids),
            "ward": ward,
        },
        total_at=7,
    )
    return page_of([_device_public(r) for r in rows], total, page.limit, page.offset)


def _credentials(state: StateDep, secret: auth.DeviceSecret) -> DeviceCredentials:
    host, port, tls = state.settings.device_broker()
    return DeviceCredentials(
        device_id=secret.device_id,
        username=secret.device_id,
        password=secret.password,
        broker=BrokerAddress(host=host, port=port, tls=tls),
    )


@router.post(
    "/devices",
    response_model=DeviceCredentials,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Allow("registry.write")],
    responses=problem_responses(409),
)
async def create_device(
    body: DeviceCreate, principal: CurrentUser, state: StateDep, request: Request
) -> DeviceCredentials:
    """Register a device and create its broker account. The password is in this answer only."""
    endpoint = endpoint_of(request)

    def work(sync: psycopg.Connection[TupleRow]) -> auth.DeviceSecret:
        device = NewDevice(body.device_id, body.kind, body.serial, body.ward_id)
        try:
            secret = auth.add_device(state.settings, sync, principal.tenant_id, device)
        except auth.DeviceIdTaken as exc:
            raise ApiProblem(409, "device-exists", str(exc)) from exc
        except auth.UnknownWard as exc:
            raise not_found(f"ward {body.ward_id}") from exc
        write_audit_sync(
            sync,
            principal,
            action="create",
            endpoint=endpoint,
            purpose="administration",
            subject_kind="device",
            subject_ids=[body.device_id],
            detail=body.model_dump(mode="json"),
        )
        return secret

    return _credentials(state, await state.in_thread(principal.tenant_id, work))


@router.post(
    "/devices/{device_id}/credentials",
    response_model=DeviceCredentials,
    dependencies=[Allow("registry.write")],
)
async def rotate_credentials(
    device_id: DeviceIdPath, principal: CurrentUser, state: StateDep, request: Request
) -> DeviceCredentials:
    """A new password for the device; the broker refuses the old one within seconds."""
    endpoint = endpoint_of(request)

    def work(sync: psycopg.Connection[TupleRow]) -> auth.DeviceSecret:
        try:
            secret = auth.rotate_device(state.settings, sync, principal.tenant_id, device_id)
        except auth.UnknownDevice as exc:
            raise not_found(f"device {device_id}") from exc
        write_audit_sync(
            sync,
            principal,
            action="rotate-credentials",
            endpoint=endpoint,
            purpose="administration",
            subject_kind="device",
            subject_ids=[device_id],
            detail={},
        )
        return secret

    return _credentials(state, await state.in_thread(principal.tenant_id, work))


@router.post(
    "/devices/{device_id}/deactivate",
    response_model=DevicePublic,
    dependencies=[Allow("registry.write")],
)
async def deactivate(
    device_id: DeviceIdPath, principal: CurrentUser, state: StateDep, request: Request
) -> DevicePublic:
    """Stop accepting the device: ingest refuses its data, the broker its login."""
    endpoint = endpoint_of(request)

    def work(sync: psycopg.Connection[TupleRow]) -> DevicePublic:
        try:
            auth.deactivate_device(state.settings, sync, principal.tenant_id, device_id)
        except auth.UnknownDevice as exc:
            raise not_found(f"device {device_id}") from exc
        write_audit_sync(
            sync,
            principal,
            action="deactivate",
            endpoint=endpoint,
            purpose="administration",
            subject_kind="device",
            subject_ids=[device_id],
            detail={},
        )
        row = sync.execute(
            f"SELECT {_DEVICE} FROM devices d WHERE d.device_id = %s", (device_id,)
        ).fetchone()
        assert row is not None
        return _device_public(row)

    return await state.in_thread(principal.tenant_id, work)


_ASSIGNED_NOW = """
LEFT JOIN LATERAL (
    SELECT a.assignment_id, a.resident_id, r.pseudonym, lower(a.valid) AS vf, upper(a.valid) AS vt
    FROM device_assignments a JOIN residents r ON r.resident_id = a.resident_id
    WHERE a.device_id = d.device_id AND a.valid @> now()
) x ON true
"""


def _assignment(row: tuple[Any, ...], at: int) -> AssignmentBrief | None:
    if row[at] is None:
        return None
    return AssignmentBrief(
        assignment_id=row[at],
        resident_id=row[at + 1],
        pseudonym=row[at + 2],
        valid_from=row[at + 3],
        valid_to=row[at + 4],
    )


@router.get(
    "/devices/{device_id}/status",
    response_model=DeviceStatus,
    dependencies=[Allow("devices.read")],
)
async def device_status(
    device_id: DeviceIdPath, audited: AuditedRead, conn: ConnDep
) -> DeviceStatus:
    """The device's latest status, the last day's frames and rejects, and its assignment."""
    p = audited.principal
    cur = await conn.execute(
        f"""SELECT {_DEVICE}, l.state, l.last_seen_at, l.status_time, l.battery_pct, l.charging,
                   l.firmware, l.rssi_dbm, l.buffered_n, l.clock_suspect,
                   (SELECT count(*) FROM walker_frames f WHERE f.device_id = d.device_id
                      AND f.time > now() - interval '24 hours'),
                   (SELECT count(*) FROM ingest_rejects j WHERE j.device_id = d.device_id
                      AND j.received_at > now() - interval '24 hours'),
                   x.assignment_id, x.resident_id, x.pseudonym, x.vf, x.vt
            FROM devices d LEFT JOIN device_latest_status l ON l.device_id = d.device_id
            {_ASSIGNED_NOW}
            WHERE d.device_id = %s AND d.tenant_id = %s""",
        (device_id, p.tenant_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise not_found(f"device {device_id}")
    if _scoped(p) and row[3] not in p.ward_ids:
        detail = f"device {device_id} is not on one of your wards"
        # Audited as a probe of the ward it is on (or of the device, on none).
        if row[3] is None:
            raise denied(p, "device", device_id, detail)
        raise denied(p, "ward", row[3], detail)
    result = DeviceStatus(
        device=_device_public(row),
        state=row[7],
        last_seen_at=row[8],
        status_at=row[9],
        battery_pct=row[10],
        charging=row[11],
        firmware=row[12],
        rssi_dbm=row[13],
        buffered_n=row[14],
        clock_suspect=row[15],
        frames_24h=int(row[16]),
        rejects_24h=int(row[17]),
        assignment=_assignment(row, 18),
    )
    if result.assignment is not None:
        await audited.record(
            "resident", [str(result.assignment.resident_id)], detail={"device_id": device_id}
        )
    return result


def _traffic(t: fleet_traffic.Traffic) -> FleetTraffic:
    return FleetTraffic(
        messages_1h=t.messages_1h,
        messages_24h=t.messages_24h,
        rejects_1h=t.rejects_1h,
        rejects_24h=t.rejects_24h,
        reject_share_24h=t.reject_share_24h,
    )


@router.get("/fleet", response_model=list[FleetDevice], dependencies=[Allow("devices.read")])
async def fleet(
    audited: AuditedRead,
    conn: ConnDep,
    ward: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this ward.")] = None,
    problems_only: Annotated[bool, Query(description="Only devices with a problem.")] = False,
) -> list[FleetDevice]:
    """Devices by ward with status, battery, firmware, last seen, messages and rejects in the
    last hour and 24 hours, and the assignment in force; ``problems_only`` keeps those offline,
    low on battery, with a suspect clock or never seen."""
    p = audited.principal
    await check_ward_filter(conn, p, ward)
    cur = await conn.execute(
        f"""SELECT d.device_id, d.kind, d.ward_id, d.active, l.state, l.battery_pct, l.charging,
                   l.firmware, l.last_seen_at, l.clock_suspect,
                   x.assignment_id, x.resident_id, x.pseudonym, x.vf, x.vt,
                   coalesce(s.battery_low_pct, %(bat)s), coalesce(s.offline_after_min, %(off)s),
                   now()
            FROM devices d LEFT JOIN device_latest_status l ON l.device_id = d.device_id
            LEFT JOIN ward_alert_settings s ON s.ward_id = d.ward_id
            {_ASSIGNED_NOW}
            WHERE d.tenant_id = %(t)s AND (NOT %(scoped)s OR d.ward_id = ANY(%(w)s))
              AND (%(ward)s::bigint IS NULL OR d.ward_id = %(ward)s)
            ORDER BY d.ward_id NULLS LAST, d.device_id""",
        {
            "t": p.tenant_id,
            "scoped": _scoped(p),
            "w": list(p.ward_ids),
            "ward": ward,
            "bat": AlertSettings().battery_low_pct,
            "off": AlertSettings().offline_after_min,
        },
    )
    rows = await cur.fetchall()
    # Counted up to the database's now(), the same instant the problems are judged at.
    counts = (
        await fleet_traffic.traffic(conn, [str(r[0]) for r in rows], rows[0][17]) if rows else {}
    )
    out = []
    for r in rows:
        problems = []
        if r[8] is None:
            problems.append("never_seen")
        elif r[4] == "offline" or (r[17] - r[8]).total_seconds() > 60 * r[16]:
            problems.append("offline")
        if r[5] is not None and r[5] < r[15] and not r[6]:
            problems.append("battery_low")
        if r[9]:
            problems.append("clock_suspect")
        if problems_only and not problems:
            continue
        out.append(
            FleetDevice(
                device_id=r[0],
                kind=r[1],
                ward_id=r[2],
                active=r[3],
                state=r[4],
                battery_pct=r[5],
                charging=r[6],
                firmware=r[7],
                last_seen_at=r[8],
                clock_suspect=r[9],
                problems=problems,
                assignment=_assignment(r, 10),
                traffic=_traffic(counts[r[0]]),
            )
        )
    residents = sorted({str(d.assignment.resident_id) for d in out if d.assignment})
    await audited.record("resident", residents, detail={"fleet_ward": ward})
    return out
