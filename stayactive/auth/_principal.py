"""Who is asking: a user logged in with a token, or an integrator's API key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["admin", "care_staff", "finance", "integrator"]
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True)
class Principal:
    """The authenticated actor of a request; the actor of every audit row it causes.

    Attributes
    ----------
    actor
        What the audit log records: the username, or ``apikey:<name>`` for a key.
    user_id
        None for an API key.
    ward_ids
        The wards in the user's scope (care staff see only these; empty for other roles
        unless set).
    session_id, key_id
        The session behind the token, or the key used; exactly one is set.
    """

    actor: str
    tenant_id: str
    time_zone: str
    role: Role
    user_id: int | None
    ward_ids: frozenset[int]
    session_id: uuid.UUID | None = None
    key_id: str | None = None
