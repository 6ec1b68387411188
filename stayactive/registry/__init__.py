"""The registry: the one writer of tenants, sites, wards, devices, residents and assignments.

Small named functions that take a connection and leave the transaction to the caller; the
schema's constraints do the last checking (overlapping assignments, links across tenants), and
callers that want our errors for them wrap the call in :func:`stayactive.db.translated`
(:class:`~stayactive.errors.ConstraintViolation`). The id patterns live here too.
"""

from stayactive.registry._devices import (
    DeviceKind,
    NewDevice,
    ensure_device,
    set_device_active,
    upsert_devices,
)
from stayactive.registry._ids import (
    DEVICE_ID_PATTERN,
    NAME_CONTROL_CHARACTER,
    PSEUDONYM_PATTERN,
    TENANT_ID_PATTERN,
    check_tenant_id,
    is_device_id,
    is_plain_name,
    is_pseudonym,
    is_tenant_id,
)
from stayactive.registry._residents import (
    Outcome,
    assign_device,
    create_resident,
    delete_assignment,
    ensure_resident,
    find_resident,
    upsert_assignment,
)
from stayactive.registry._tenants import (
    DEFAULT_TIME_ZONE,
    EnsuredWard,
    check_go_live,
    ensure_tenant,
    ensure_ward,
    require_tenant,
    tenant_name,
    tenant_time_zone,
)

__all__ = [
    "DEFAULT_TIME_ZONE",
    "DEVICE_ID_PATTERN",
    "NAME_CONTROL_CHARACTER",
    "PSEUDONYM_PATTERN",
    "TENANT_ID_PATTERN",
    "DeviceKind",
    "EnsuredWard",
    "NewDevice",
    "Outcome",
    "assign_device",
    "check_go_live",
    "check_tenant_id",
    "create_resident",
    "delete_assignment",
    "ensure_device",
    "ensure_resident",
    "ensure_tenant",
    "ensure_ward",
    "find_resident",
    "is_device_id",
    "is_plain_name",
    "is_pseudonym",
    "is_tenant_id",
    "require_tenant",
    "set_device_active",
    "tenant_name",
    "tenant_time_zone",
    "upsert_assignment",
    "upsert_devices",
]
