"""``stayactive demo --reset``: the demo's schema, its devices' broker accounts and its folder go.

Nothing outside the demo is touched: its data lives in a schema of its own (the audit log is
append-only by design, so a tenant's rows could not be deleted from a shared schema, nor should
they be), its devices have accounts of their own on the broker.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable

from psycopg import sql

import ingest
from stayactive import db
from stayactive.errors import ConfigurationError, ServiceError
from stayactive.settings import Settings
from stayactive.tools.demo._state import DemoFiles, ingest_worker_id, load_scenario

log = logging.getLogger(__name__)


def reset(settings: Settings, files: DemoFiles, say: Callable[[str], None]) -> None:
    """Drop the demo's schema, remove its devices' broker accounts, empty its folder (the
    caller holds the demo's lock)."""
    schema = settings.database_schema
    device_ids = set(load_scenario(files).passwords) if files.scenario.exists() else set()
    with db.connect(settings, schema="public", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists:
            rows = conn.execute(
                sql.SQL("SELECT device_id FROM {}.devices").format(sql.Identifier(schema))
            ).fetchall()
            device_ids |= {str(r[0]) for r in rows}
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    if device_ids:
        ingest.remove(settings, sorted(device_ids))
    try:
        # What the broker still holds for the old demo's ingest worker would arrive in the new
        # demo, whose devices have the same ids.
        ingest.end_session(settings, ingest_worker_id(settings))
    except ConfigurationError:
        pass  # the worker has no broker account: it never ran, it has no session
    except ServiceError as exc:
        say(f"the demo's ingest session on the broker was not ended: {exc}")
    for child in files.root.iterdir() if files.root.exists() else ():
        if child.name == "demo.lock":
            continue  # held by this run
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    say(
        f"reset: dropped schema {schema!r}, removed {len(device_ids)} device accounts from the "
        f"broker, emptied {files.root}"
    )
