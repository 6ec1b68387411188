"""Database access: connections, migrations and maintenance."""

from stayactive.db._connect import check_schema_name, connect
from stayactive.db._maintain import MaintenanceReport, apply_policies, maintain, timescaledb_license
from stayactive.db._migrate import Migration, available_migrations, migrate

__all__ = [
    "MaintenanceReport",
    "Migration",
    "apply_policies",
    "available_migrations",
    "check_schema_name",
    "connect",
    "maintain",
    "migrate",
    "timescaledb_license",
]
