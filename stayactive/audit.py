"""The audit log: the one writer of its rows (who did or read what, about whom, and why).

DESIGN.md asks for an entry for every read of resident-level data and every change of a
tenant's evaluation inputs. The table is append-only (a trigger refuses UPDATE, DELETE and
TRUNCATE); the entry is written on the caller's connection, inside the caller's transaction, so
it is committed exactly when the work it describes is. If it cannot be written, for whatever
reason, :class:`~stayactive.errors.AuditUnavailable` is raised: no audit row, no work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from stayactive.errors import AuditUnavailable

#: Why personal data was read or changed: the consent purposes, and administration.
Purpose = Literal["care", "evaluation", "open_data", "administration"]


def record(
    conn: psycopg.Connection[TupleRow],
    *,
    tenant: str | None,
    actor: str,
    action: str,
    subject_kind: str,
    subject_id: str,
    purpose: Purpose,
    detail: Mapping[str, Any],
    actor_role: str | None = None,
    endpoint: str | None = None,
) -> None:
    """Append one entry to the audit log.

    Parameters
    ----------
    tenant
        The tenant whose data it is (None for actions outside any tenant).
    actor, actor_role
        Who did it: a user name (from the caller's credentials, never the OS user) and role.
    action
        What was done, dotted, e.g. ``"report.savings"``, ``"savings.design.choose"``.
    subject_kind, subject_id
        What it was about, e.g. ``("stays", "stavanger")``.
    purpose
        Why (one of the consent purposes, or administration).
    detail
        Anything else worth keeping, as JSON.
    endpoint
        The API operation that did it (``GET /api/v1/residents/{resident_id}/days``), if any.
    """
    record_many(
        conn, tenant=tenant, actor=actor, action=action, subject_kind=subject_kind,
        subject_ids=[subject_id], purpose=purpose, detail=detail, actor_role=actor_role,
        endpoint=endpoint,
    )  # fmt: skip


# One row per subject, so that "who looked at this resident" is a plain lookup.
_INSERT_MANY = """
    INSERT INTO audit_log (tenant_id, actor, actor_role, action, subject_kind, subject_id,
                           purpose, endpoint, detail)
    SELECT %(tenant)s, %(actor)s, %(role)s, %(action)s, %(kind)s, s, %(purpose)s, %(endpoint)s,
           %(detail)s
    FROM unnest(%(subjects)s::text[]) AS s
"""


def _params(
    tenant: str | None,
    actor: str,
    action: str,
    subject_kind: str,
    subject_ids: Sequence[str],
    purpose: Purpose,
    detail: Mapping[str, Any],
    actor_role: str | None,
    endpoint: str | None,
) -> dict[str, Any]:
    return {
        "tenant": tenant, "actor": actor, "role": actor_role, "action": action,
        "kind": subject_kind, "purpose": purpose, "endpoint": endpoint,
        "detail": Jsonb(dict(detail)), "subjects": list(subject_ids),
    }  # fmt: skip


def record_many(
    conn: psycopg.Connection[TupleRow],
    *,
    tenant: str | None,
    actor: str,
    action: str,
    subject_kind: str,
    subject_ids: Sequence[str],
    purpose: Purpose,
    detail: Mapping[str, Any],
    actor_role: str | None = None,
    endpoint: str | None = None,
) -> int:
    """:func:`record` for several subjects at once (one row each); return how many rows."""
    if not subject_ids:
        return 0
    try:
        conn.execute(
            _INSERT_MANY,
            _params(tenant, actor, action, subject_kind, subject_ids, purpose, detail,
                    actor_role, endpoint),
        )  # fmt: skip
    except psycopg.Error as exc:
        raise _unavailable(action, exc) from exc
    return len(subject_ids)


async def record_many_async(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    tenant: str | None,
    actor: str,
    action: str,
    subject_kind: str,
    subject_ids: Sequence[str],
    purpose: Purpose,
    detail: Mapping[str, Any],
    actor_role: str | None = None,
    endpoint: str | None = None,
) -> int:
    """The asynchronous twin of :func:`record_many` (the API's reads)."""
    if not subject_ids:
        return 0
    try:
        await conn.execute(
            _INSERT_MANY,
            _params(tenant, actor, action, subject_kind, subject_ids, purpose, detail,
                    actor_role, endpoint),
        )  # fmt: skip
    except psycopg.Error as exc:
        raise _unavailable(action, exc) from exc
    return len(subject_ids)


def _unavailable(action: str, exc: psycopg.Error) -> AuditUnavailable:
    # Whatever the database said (unavailable, a missing table, no privilege), the rule is the
    # same, so the error is not classified further (stayactive.db._errors would pass some of
    # these through as bugs): the caller must not do, or return, what was not audited.
    primary = exc.diag.message_primary if exc.sqlstate else None
    return AuditUnavailable(f"the audit row of {action!r} could not be written: {primary or exc}")
