"""Database access: connections, pools, the one classification of database errors, migrations
and maintenance."""

from stayactive.db._connect import check_schema_name, connect, connection_options
from stayactive.db._errors import is_transient, translate, translated
from stayactive.db._maintain import (
    LOGIN_FAILURE_WINDOW,
    LOGIN_KNOWN_CLIENT,
    PURGE_LOGIN_THROTTLE,
    MaintenanceReport,
    apply_policies,
    maintain,
    timescaledb_license,
)
from stayactive.db._migrate import Migration, available_migrations, migrate
from stayactive.db._pool import (
    AsyncPool,
    Pool,
    open_async_pool,
    open_pool,
    pooled,
    pooled_async,
)

__all__ = [
    "LOGIN_FAILURE_WINDOW",
    "LOGIN_KNOWN_CLIENT",
    "PURGE_LOGIN_THROTTLE",
    "AsyncPool",
    "MaintenanceReport",
    "Migration",
    "Pool",
    "apply_policies",
    "available_migrations",
    "check_schema_name",
    "connect",
    "connection_options",
    "is_transient",
    "maintain",
    "migrate",
    "open_async_pool",
    "open_pool",
    "pooled",
    "pooled_async",
    "timescaledb_license",
    "translate",
    "translated",
]
