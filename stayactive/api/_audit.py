"""The API's audit rows: the principal (from the token) as the actor, the route as the
endpoint, one row per subject; written by :mod:`stayactive.audit`, the one writer.

One row per resident read or changed, so that a resident's own access log is a plain lookup.
Written in the request's transaction and committed before the response is built: if the
audit row cannot be written, the request fails and returns no data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from stayactive import audit
from stayactive.auth import Principal, Role

#: The purpose recorded with a read or change, by the caller's role.
PURPOSE_OF_ROLE: dict[Role, audit.Purpose] = {
    "admin": "administration",
    "care_staff": "care",
    "finance": "evaluation",
    "integrator": "administration",
}


async def write_audit(
    conn: psycopg.AsyncConnection[TupleRow],
    principal: Principal,
    *,
    action: str,
    endpoint: str,
    subject_kind: str,
    subject_ids: Sequence[str],
    detail: Mapping[str, Any],
    purpose: audit.Purpose | None = None,
) -> int:
    """Append one audit row per subject; return how many."""
    return await audit.record_many_async(
        conn,
        tenant=principal.tenant_id,
        actor=principal.actor,
        actor_role=principal.role,
        action=action,
        endpoint=endpoint,
        purpose=purpose or PURPOSE_OF_ROLE[principal.role],
        subject_kind=subject_kind,
        subject_ids=subject_ids,
        detail=detail,
    )


def write_audit_sync(
    conn: psycopg.Connection[TupleRow],
    principal: Principal,
    *,
    action: str,
    endpoint: str,
    subject_kind: str,
    subject_ids: Sequence[str],
    detail: Mapping[str, Any],
    purpose: audit.Purpose | None = None,
) -> int:
    """:func:`write_audit` on a sync connection (the API's calls into shared sync code)."""
    return audit.record_many(
        conn,
        tenant=principal.tenant_id,
        actor=principal.actor,
        actor_role=principal.role,
        action=action,
        endpoint=endpoint,
        purpose=purpose or PURPOSE_OF_ROLE[principal.role],
        subject_kind=subject_kind,
        subject_ids=subject_ids,
        detail=detail,
    )
