"""Audit rows of the API: who (from the token), which role, which endpoint, whose data, why.

One row per resident read or changed, so that a resident's own access log is a plain lookup.
Written in the request's transaction and committed before the response is built: if the
audit row cannot be written, the request fails and returns no data.

NOTE: the one writer of audit rows is to be ``stayactive/audit.py`` (issue 9); this module
keeps the API's call in one place until then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from stayactive.auth import Principal

_INSERT = """
    INSERT INTO audit_log (tenant_id, actor, actor_role, action, subject_kind, subject_id,
                           purpose, endpoint, detail)
    SELECT %(tenant)s, %(actor)s, %(role)s, %(action)s, %(kind)s, s, %(purpose)s, %(endpoint)s,
           %(detail)s
    FROM unnest(%(subjects)s::text[]) AS s
"""


async def write_audit(
    conn: psycopg.AsyncConnection[TupleRow],
    principal: Principal,
    *,
    action: str,
    endpoint: str,
    purpose: str,
    subject_kind: str,
    subject_ids: Sequence[str],
    detail: Mapping[str, Any],
) -> int:
    """Append one audit row per subject; return how many."""
    if not subject_ids:
        return 0
    await conn.execute(
        _INSERT,
        {
            "tenant": principal.tenant_id,
            "actor": principal.actor,
            "role": principal.role,
            "action": action,
            "kind": subject_kind,
            "purpose": purpose,
            "endpoint": endpoint,
            "detail": Jsonb(dict(detail)),
            "subjects": list(subject_ids),
        },
    )
    return len(subject_ids)


def write_audit_sync(
    conn: psycopg.Connection[TupleRow],
    principal: Principal,
    *,
    action: str,
    endpoint: str,
    purpose: str,
    subject_kind: str,
    subject_ids: Sequence[str],
    detail: Mapping[str, Any],
) -> int:
    """:func:`write_audit` on a sync connection (the API's calls into shared sync code)."""
    if not subject_ids:
        return 0
    conn.execute(
        _INSERT,
        {
            "tenant": principal.tenant_id,
            "actor": principal.actor,
            "role": principal.role,
            "action": action,
            "kind": subject_kind,
            "purpose": purpose,
            "endpoint": endpoint,
            "detail": Jsonb(dict(detail)),
            "subjects": list(subject_ids),
        },
    )
    return len(subject_ids)
