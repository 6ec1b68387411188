"""A command run against a schema that was never migrated says so in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from stayactive.settings import Settings


def test_maintain_on_an_unmigrated_schema_says_to_migrate(settings: Settings) -> None:
    env = {
        **os.environ,
        "STAYACTIVE_DATABASE_NAME": settings.database_name,
        "STAYACTIVE_DATABASE_SCHEMA": "t_never_" + uuid.uuid4().hex[:12],
    }
    done = subprocess.run(
        [sys.executable, "-m", "stayactive", "db", "maintain"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "the database schema is not migrated; run `stayactive db migrate` first" in done.stderr
