"""Who may do what: the one table of capabilities per role.

Routes name a capability (``Allow("resident.read")``); the dependencies in ``deps.py`` look it
up here. Ward scope narrows care staff further: resident-level data of their own wards only.
Every capability is within the caller's tenant; other tenants' ids are answered with 404.
"""

from __future__ import annotations

from typing import Literal

from stayactive.auth import Role

Capability = Literal[
    "wards.read",  # the ward list (no resident data)
    "registry.write",  # wards, devices, residents, assignments, users, API keys
    "devices.read",  # devices, their status, the fleet view
    "resident.read",  # resident-level data: overview, days, stays, bouts, FHIR
    "alerts.handle",
    "reports.read",  # aggregates only
    "imports.write",
    "audit.read",
]

POLICY: dict[Capability, frozenset[Role]] = {
    "wards.read": frozenset({"admin", "care_staff", "finance"}),
    "registry.write": frozenset({"admin"}),
    "devices.read": frozenset({"admin", "care_staff"}),
    "resident.read": frozenset({"admin", "care_staff"}),
    "alerts.handle": frozenset({"admin", "care_staff"}),
    "reports.read": frozenset({"admin", "finance"}),
    "imports.write": frozenset({"admin", "integrator"}),
    "audit.read": frozenset({"admin"}),
}

#: Roles whose view is narrowed to the wards in their scope.
WARD_SCOPED: frozenset[Role] = frozenset({"care_staff"})


def allows(role: Role, capability: Capability) -> bool:
    """True if ``role`` has ``capability``."""
    return role in POLICY[capability]
