"""``/auth``: log in (OAuth2 password form), refresh, log out."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from stayactive import auth
from stayactive.api._audit import write_audit
from stayactive.api.deps import ConnDep, CurrentUser, StateDep, endpoint_of
from stayactive.api.models.auth import TokenPublic
from stayactive.api.problems import ApiProblem, problem_responses
from stayactive.auth import Principal

log = logging.getLogger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"], responses=problem_responses(401, 422, 429, 503))


@router.post("/token", response_model=TokenPublic)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    conn: ConnDep,
    state: StateDep,
    request: Request,
) -> TokenPublic:
    """Log in with username and password (``application/x-www-form-urlencoded``).

    After repeated failures the account name is locked for a while from the client's address,
    and after many the address or the name is locked for all (429 with Retry-After); the
    answer is the same whether or not the account exists.
    """
    client = request.client.host if request.client else None
    try:
        logged_in = await auth.log_in(
            conn, form.username, form.password, state.login_policy, client
        )
    except auth.AccountLocked as exc:
        state.metrics.logins.labels("locked").inc()
        retry = max(1, math.ceil(exc.retry_after_s))
        if exc.scope == "client":
            slug, what = "client-locked", "from your address"
        else:
            slug, what = "account-locked", "for this account"
        raise ApiProblem(
            429,
            slug,
            f"too many failed logins {what}; try again in {retry} s",
            headers={"Retry-After": str(retry)},
        ) from exc
    except auth.LoginFailed as exc:
        state.metrics.logins.labels("failed").inc()
        # The failure count must stay even though the request fails.
        await conn.commit()
        raise ApiProblem(
            401,
            "login-failed",
            "wrong username or password, or the account is disabled",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
    access, _ = auth.issue_token(
        state.keys.current(),
        user_id=logged_in.user_id,
        tenant_id=logged_in.tenant_id,
        session_id=logged_in.session_id,
        ttl_s=state.settings.api_token_ttl_s,
    )
    await conn.commit()
    state.metrics.logins.labels("ok").inc()
    return TokenPublic(access_token=access, expires_in=state.settings.api_token_ttl_s)


@router.post("/refresh", response_model=TokenPublic)
async def refresh(principal: CurrentUser, conn: ConnDep, state: StateDep) -> TokenPublic:
    """A new token for the same session (until the session itself ends)."""
    if principal.session_id is None or principal.user_id is None:
        raise ApiProblem(422, "not-a-session", "an API key has no session to refresh")
    expires = await auth.session_expiry(conn, principal.session_id)
    if expires is None:
        raise ApiProblem(401, "session-ended", "the session has ended; log in again")
    left_s = int((expires - datetime.now(UTC)).total_seconds())
    ttl = max(1, min(state.settings.api_token_ttl_s, left_s))
    access, _ = auth.issue_token(
        state.keys.current(),
        user_id=principal.user_id,
        tenant_id=principal.tenant_id,
        session_id=principal.session_id,
        ttl_s=ttl,
    )
    await conn.commit()
    return TokenPublic(access_token=access, expires_in=ttl)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(422),
)
async def logout(principal: CurrentUser, conn: ConnDep, request: Request) -> None:
    """End the session: its tokens stop working at once. An API key has no session: 422,
    saying how to revoke it (a 204 would read as if the key had stopped working)."""
    if principal.session_id is None:
        raise ApiProblem(
            422,
            "no-session",
            "an API key has no session to end; an admin revokes the key (DELETE /api-keys/{id})",
        )
    await auth.revoke_session(conn, principal.session_id, "logout")
    await _audit_self(conn, principal, request, "logout")
    await conn.commit()


async def _audit_self(conn: ConnDep, principal: Principal, request: Request, action: str) -> None:
    await write_audit(
        conn,
        principal,
        action=action,
        endpoint=endpoint_of(request),
        purpose="administration",
        subject_kind="user",
        subject_ids=[principal.actor],
        detail={},
    )
