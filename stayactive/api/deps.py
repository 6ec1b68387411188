"""Dependencies of the routes, as ``Annotated`` aliases: the one place where a request gets its
database connection, its principal, its role check, its ward scope and its audit trail.

* :data:`ConnDep` -- a pooled async connection in one transaction, scoped to the caller's
  tenant (``stayactive.tenant_id``) once the caller is known.
* :data:`CurrentUser` -- the principal from a bearer token (checked against its live session)
  or an integrator's ``X-API-Key``; 401 otherwise.
* :func:`Allow` -- the role check of a capability in :mod:`stayactive.api.policy`; 403.
* :data:`WardScope`, :data:`ResidentScope` -- the ward or resident of the path: 404 if it is not
  in the caller's tenant (whether or not it exists elsewhere), 403 if care staff ask outside
  their wards.
* :data:`AuditedRead` -- writes the audit rows of a resident-level read or change and commits
  them before the route returns its data.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Path, Query, Request, params
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from psycopg.rows import TupleRow
from psycopg_pool import PoolTimeout

from stayactive import audit, auth, db
from stayactive.api import policy
from stayactive.api._audit import write_audit
from stayactive.api.paths import API_PREFIX
from stayactive.api.problems import AccessDenied, ApiProblem, forbidden, not_found
from stayactive.api.state import ApiState, set_tenant
from stayactive.auth import Principal
from stayactive.errors import AuditUnavailable, StorageUnavailable

log = logging.getLogger(__name__)

AConn = psycopg.AsyncConnection[TupleRow]
MAX_ID = 2**63 - 1
#: The longest time range one call may ask for.
MAX_RANGE_DAYS = 366

_UNAUTHENTICATED = {"WWW-Authenticate": "Bearer"}

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", auto_error=False, description="A token from /auth/token."
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An integrator's API key (sa_…)."
)


def api_state(request: Request) -> ApiState:
    """The service's state, opened by the lifespan."""
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(api_state)]


async def _connection(request: Request) -> AsyncIterator[AConn]:
    state = api_state(request)
    try:
        async with db.pooled_async(state.pool) as conn:
            yield conn
    except PoolTimeout as exc:
        raise StorageUnavailable("no database connection became free in time") from exc


ConnDep = Annotated[AConn, Depends(_connection)]


async def _principal(
    request: Request,
    conn: ConnDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    state = api_state(request)
    principal: Principal | None
    if api_key:
        principal = await auth.api_key_principal(conn, api_key)
        if principal is None:
            raise ApiProblem(
                401,
                "invalid-api-key",
                "the API key is not valid or was revoked",
                headers=_UNAUTHENTICATED,
            )
    elif token:
        try:
            claims = auth.decode_token(state.keys, token)
        except auth.InvalidToken as exc:
            raise ApiProblem(
                401,
                "invalid-token",
                f"{exc}; log in again at /api/v1/auth/token",
                headers=_UNAUTHENTICATED,
            ) from exc
        # The token is ours (signature checked), so its tenant names the session's.
        await set_tenant(conn, claims.tenant_id)
        principal = await auth.session_principal(
            conn, claims.session_id, claims.user_id, claims.tenant_id
        )
        if principal is None:
            raise ApiProblem(
                401,
                "session-ended",
                "the session has ended (logged out, expired, or the account was disabled); "
                "log in again",
                headers=_UNAUTHENTICATED,
            )
    else:
        raise ApiProblem(
            401,
            "not-authenticated",
            "send Authorization: Bearer <token> (from POST /api/v1/auth/token) or X-API-Key",
            headers=_UNAUTHENTICATED,
        )
    await set_tenant(conn, principal.tenant_id)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(_principal)]

_WHAT = {
    "wards.read": "list wards",
    "registry.write": "change the registry",
    "devices.read": "read devices",
    "resident.read": "read resident-level data",
    "alerts.handle": "handle alerts",
    "reports.read": "read reports",
    "imports.write": "import care records",
    "audit.read": "read the audit log",
}


def Allow(capability: policy.Capability) -> Any:
    """A dependency that lets only roles with ``capability`` through (403 otherwise)."""

    async def check(principal: CurrentUser) -> Principal:
        if not policy.allows(principal.role, capability):
            raise forbidden(f"the {principal.role} role may not {_WHAT[capability]}")
        return principal

    return Depends(check)


def route_template(request: Request) -> str:
    """The matched route's path template (``/api/v1/residents/{resident_id}/days``), or
    ``unmatched``: never the path itself, which holds ids."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    # Routes of included routers carry their path below the prefix they were mounted at.
    if request.url.path.startswith(API_PREFIX + "/") and not path.startswith(API_PREFIX):
        path = API_PREFIX + path
    return str(path)


def endpoint_of(request: Request) -> str:
    """``METHOD /path/{template}`` of the matched route, for the audit log."""
    return f"{request.method} {route_template(request)}"


def denied(principal: Principal, kind: str, subject_id: int | str, detail: str) -> AccessDenied:
    """403 for a ``kind`` (``ward``, ``resident``, ``device``) outside the caller's scope, the
    attempt audited (:mod:`stayactive.api.denied`): raise it wherever such a refusal is made."""
    return AccessDenied(detail, principal=principal, subject_kind=kind, subject_id=str(subject_id))


@dataclass(frozen=True)
class WardRef:
    """A ward of the caller's tenant that the caller may see."""

    ward_id: int
    name: str
    site: str


async def _ward(
    ward_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Ward id.")],
    principal: CurrentUser,
    conn: ConnDep,
) -> WardRef:
    cur = await conn.execute(
        """SELECT w.ward_id, w.name, s.name FROM wards w JOIN sites s ON s.site_id = w.site_id
           WHERE w.ward_id = %s AND w.tenant_id = %s""",
        (ward_id, principal.tenant_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise not_found(f"ward {ward_id}")
    if principal.role in policy.WARD_SCOPED and ward_id not in principal.ward_ids:
        raise denied(principal, "ward", ward_id, f"ward {ward_id} is not one of your wards")
    return WardRef(int(row[0]), str(row[1]), str(row[2]))


WardScope = Annotated[WardRef, Depends(_ward)]


def ward_scope(principal: Principal) -> list[int] | None:
    """The wards whose stays bound what the caller sees of a resident, for the SQL tests
    ``care_scope_covers(resident, wards, day)`` and ``care_scope_overlaps(resident, wards,
    time)`` (migration 0019); None for roles that are not ward-scoped (all of the tenant).

    The rule (docs/api.md): care staff see a resident's days, bouts, observations and
    assignments only within the resident's stays on their wards, and lists name only those
    stays. A resident who moved to another ward keeps the earlier stay's data visible to the
    first ward's staff, nothing of the new one.
    """
    if principal.role in policy.WARD_SCOPED:
        return sorted(principal.ward_ids)
    return None


async def check_ward_filter(conn: AConn, principal: Principal, ward: int | None) -> None:
    """A list filtered by ``?ward=`` answers as a path naming the ward does: 404 for a ward
    that is not the tenant's, 403 when care staff name a ward outside their scope. An empty
    list would read as "nobody on that ward"."""
    if ward is None:
        return
    cur = await conn.execute(
        "SELECT 1 FROM wards WHERE ward_id = %s AND tenant_id = %s", (ward, principal.tenant_id)
    )
    if await cur.fetchone() is None:
        raise not_found(f"ward {ward}")
    if principal.role in policy.WARD_SCOPED and ward not in principal.ward_ids:
        raise denied(principal, "ward", ward, f"ward {ward} is not one of your wards")


@dataclass(frozen=True)
class ResidentRef:
    """A resident of the caller's tenant whom the caller may see."""

    resident_id: int
    pseudonym: str
    ward_ids: frozenset[int]
    #: :func:`ward_scope` of the caller: what of the resident's time they may see.
    scope_wards: list[int] | None = None


async def resident_ref(conn: AConn, principal: Principal, resident_id: int) -> ResidentRef:
    """The resident if the caller may see them: 404 outside the tenant, 403 outside the wards."""
    cur = await conn.execute(
        """SELECT r.resident_id, r.pseudonym,
                  coalesce((SELECT array_agg(DISTINCT s.ward_id) FROM stays s
                            WHERE s.resident_id = r.resident_id), '{}')
           FROM residents r WHERE r.resident_id = %s AND r.tenant_id = %s""",
        (resident_id, principal.tenant_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise not_found(f"resident {resident_id}")
    wards = frozenset(int(w) for w in row[2])
    if principal.role in policy.WARD_SCOPED and not wards & principal.ward_ids:
        raise denied(
            principal, "resident", resident_id, f"resident {resident_id} has no stay on your wards"
        )
    return ResidentRef(int(row[0]), str(row[1]), wards, ward_scope(principal))


async def _resident(
    resident_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Resident id.")],
    principal: CurrentUser,
    conn: ConnDep,
) -> ResidentRef:
    return await resident_ref(conn, principal, resident_id)


ResidentScope = Annotated[ResidentRef, Depends(_resident)]


@dataclass
class Auditor:
    """Writes a request's audit rows and commits them (with the request's changes) at once."""

    request: Request
    conn: AConn
    principal: Principal
    state: ApiState

    async def record(
        self,
        subject_kind: str,
        subject_ids: list[str],
        *,
        action: str = "read",
        detail: dict[str, Any] | None = None,
        purpose: audit.Purpose | None = None,
    ) -> None:
        """Audit ``action`` on the subjects and commit; 503 (and no data) if that fails."""
        try:
            n = await write_audit(
                self.conn,
                self.principal,
                action=action,
                endpoint=endpoint_of(self.request),
                purpose=purpose,
                subject_kind=subject_kind,
                subject_ids=subject_ids,
                detail=detail or {},
            )
            await self.conn.commit()
        except psycopg.Error as exc:
            # Whatever the database said (unavailable, a missing table, no privilege), the
            # rule is the same: no audit row, no data. The one handler of AuditUnavailable
            # (stayactive.api.problems) logs it and answers 503.
            raise AuditUnavailable(f"audit row could not be committed: {exc}") from exc
        self.state.metrics.audit_rows.inc(n)
        # The commit ended the transaction; name the tenant again for what follows.
        await set_tenant(self.conn, self.principal.tenant_id)


async def _auditor(
    request: Request, conn: ConnDep, principal: CurrentUser, state: StateDep
) -> Auditor:
    return Auditor(request, conn, principal, state)


AuditedRead = Annotated[Auditor, Depends(_auditor)]


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _is_json(media: str) -> bool:
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def media_type(request: Request) -> str:
    """The request's media type, lower case without parameters ("" when none is given)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def body_media_type(request: Request) -> None:
    """415 for a body the route cannot read: a route taking a JSON document (or the login
    form) is sent text/plain, a form, or no content type at all.

    Without this the body reaches validation as a string and comes back 422 "Input should be
    a valid dictionary", which says the fields are wrong when it is the format (RFC 9110
    §15.5.16). Routes that read the raw body (imports, telemetry) check their own types; an
    empty body is left to validation, which names the missing fields.
    """
    body_field = getattr(request.scope.get("route"), "body_field", None)
    if body_field is None:
        return
    media = media_type(request)
    if isinstance(body_field.field_info, params.Form):
        # The form was parsed from the stream (not kept as bytes): judged by its header alone.
        if not media or media in _FORM_TYPES:
            return
        expected = "application/x-www-form-urlencoded"
    elif _is_json(media) or not await request.body():
        return
    else:
        expected = "application/json"
    raise ApiProblem(
        415, "unsupported-media-type", f"send {expected}, not {media or 'no content type'}"
    )


@dataclass(frozen=True)
class PageParams:
    """``limit`` and ``offset`` of a list."""

    limit: int
    offset: int

    async def fetch(
        self, conn: AConn, query: str, args: dict[str, Any], *, total_at: int
    ) -> tuple[list[TupleRow], int]:
        """This page's rows of ``query`` and the number of rows in all pages.

        ``query`` ends in ``LIMIT %(limit)s OFFSET %(offset)s`` and has ``count(*) OVER ()``
        in column ``total_at``. A page past the end has no row to carry that count, so the
        first row is read for it: the total stays the same whatever the offset.
        """
        cur = await conn.execute(query, {**args, "limit": self.limit, "offset": self.offset})
        rows = await cur.fetchall()
        if not rows and self.offset > 0:
            cur = await conn.execute(query, {**args, "limit": 1, "offset": 0})
            first = await cur.fetchone()
            return rows, int(first[total_at]) if first is not None else 0
        return rows, int(rows[0][total_at]) if rows else 0


async def _page(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


PageDep = Annotated[PageParams, Depends(_page)]


def check_range(start: date, end: date, *, what: str = "range") -> None:
    """422 unless ``start <= end`` and the range spans at most :data:`MAX_RANGE_DAYS` days."""
    if end < start:
        raise ApiProblem(
            422, "invalid-range", f"the {what} ends ({end}) before it starts ({start})"
        )
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ApiProblem(
            422,
            "range-too-long",
            f"the {what} spans {(end - start).days + 1} days; at most {MAX_RANGE_DAYS} per call",
        )
