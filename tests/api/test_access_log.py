"""No secret from a query string reaches the access log: `stayactive api` as IT runs it (its
own process, its logging), a request with a key in the URL, and the log it wrote."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from stayactive.api.access_log import REDACTED, redact_target
from tests.fixtures.services import Schema

KEY = "sa_kJ7xQ2-secretpart-9fL0"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_key_in_the_query_string_is_not_logged(schema: Schema, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "STAYACTIVE_DATABASE_NAME": schema.settings.database_name,
        "STAYACTIVE_DATABASE_SCHEMA": schema.name,
    }
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        api = subprocess.Popen(
            [sys.executable, "-m", "stayactive", "api", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert api.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            me = httpx.get(f"{base}/api/v1/me", params={"api_key": KEY})
            assert me.status_code == 401
            other = httpx.get(
                f"{base}/api/v1/audit", params={"from": "2026-01-01", "access_token": TOKEN}
            )
            assert other.status_code == 401
            anywhere = httpx.get(f"{base}/api/v1/fleet", params={"q": KEY})
            assert anywhere.status_code == 401
        finally:
            api.terminate()
            api.wait(15)
    text = log.read_text()
    # The access log is on, and its lines name the path and the harmless parameters.
    assert f'"GET /api/v1/me?api_key={REDACTED} HTTP/1.1" 401' in text, text
    assert f"/api/v1/audit?from=2026-01-01&access_token={REDACTED}" in text
    assert f"/api/v1/fleet?q={REDACTED}" in text
    assert KEY not in text and "secretpart" not in text and TOKEN not in text


def test_redact_target() -> None:
    assert redact_target("/a") == "/a"
    assert redact_target("/a?from=2026-01-01&to=2026-02-01") == "/a?from=2026-01-01&to=2026-02-01"
    assert redact_target("/a?Password=hunter2&x=1") == f"/a?Password={REDACTED}&x=1"
    assert redact_target("/a?X-Api-Key=abc") == f"/a?X-Api-Key={REDACTED}"
    assert redact_target("/a?note=01033810004") == f"/a?note={REDACTED}"
