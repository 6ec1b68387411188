"""The audit log: the one writer of its rows (who did or read what, about whom, and why).

DESIGN.md asks for an entry for every read of resident-level data and every change of a
tenant's evaluation inputs. The table is append-only (a trigger refuses UPDATE, DELETE and
TRUNCATE); the entry is written on the caller's connection, inside the caller's transaction, so
it is committed exactly when the work it describes is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

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
    """
    conn.execute(
        """INSERT INTO audit_log (tenant_id, actor, actor_role, action, subject_kind, subject_id,
                                  purpose, detail)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (tenant, actor, actor_role, action, subject_kind, subject_id, purpose, Jsonb(dict(detail))),
    )
