"""`stayactive run` on the real services: ingest and analytics as processes, kill -9, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from stayactive.settings import Settings
from stayactive.supervisor import read_state
from tests.fixtures.services import Schema, answers, free_port
from tests.fixtures.streams import wait_until
from tests.supervisor.test_supervisor import alive


def healthy(port: int) -> bool:
    return answers(port, "/health")


def test_run_restarts_a_killed_ingest_and_ctrl_c_stops_everything(
    schema: Schema, settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "STAYACTIVE_DATA_DIR": str(settings.data_dir),
        "STAYACTIVE_DATABASE_NAME": settings.database_name,
        "STAYACTIVE_DATABASE_SCHEMA": schema.name,
        "STAYACTIVE_INGEST_METRICS_PORT": str(port),
    }
    command = [
        sys.executable, "-m", "stayactive", "run", "--log-dir", str(tmp_path),
        "--worker-id", f"test-run-{tag}", "--share-group", f"test{tag}", "--end-session-on-exit",
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: healthy(port), 60, "ingest healthy under the supervisor")
        procs = read_state(tmp_path)["processes"]
        ingest, analytics = int(procs["ingest"]["pid"]), int(procs["analytics"]["pid"])
        os.kill(ingest, signal.SIGKILL)
        wait_until(
            lambda: read_state(tmp_path)["processes"]["ingest"]["pid"] not in (None, ingest),
            20, "ingest restarted",
        )  # fmt: skip
        wait_until(lambda: healthy(port), 60, "the new ingest healthy")
        assert read_state(tmp_path)["processes"]["analytics"]["pid"] == analytics
        restarted = int(read_state(tmp_path)["processes"]["ingest"]["pid"])

        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert time.monotonic() - started < 30
        assert not alive(restarted) and not alive(analytics)
        assert "ingest exited (on SIGKILL)" in err
        log = (tmp_path / "ingest.log").read_text()
        assert "ingest worker stopped" in log  # it was stopped with SIGTERM, not killed
        assert (tmp_path / "supervisor.log").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
