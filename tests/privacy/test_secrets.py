"""Secrets: private files owned by the service's user, none in logs, error messages, URLs, the
OpenAPI document or the repository; the token signing key rotates by ``kid`` and old tokens
keep working until they expire."""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from stayactive import auth, db
from stayactive.errors import ConfigurationError, StayActiveError
from stayactive.paths import ServicePaths
from stayactive.settings import Settings
from tests.privacy.conftest import PASSWORD, World

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _secret_values(settings: Settings) -> list[str]:
    """Every secret the local services hold (passwords, token keys), read from the folder."""
    folder = ServicePaths(settings.data_dir).secrets_dir
    values = []
    for path in folder.iterdir():
        text = path.read_text()
        if path.suffix == ".json":
            values += re.findall(r'"secret": "([^"]+)"', text)
        else:
            values.append(text.strip())
    return [v for v in values if len(v) >= 16]


def test_secret_files_are_private_and_ours(world: World) -> None:
    folder = ServicePaths(world.settings.data_dir).secrets_dir
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    names = {p.name for p in files}
    assert {"db_password", "db_password_api", "db_password_ingest", "db_password_analytics",
            "db_password_reporting", "api_jwt_keys.json"} <= names  # fmt: skip
    for path in files:
        info = path.stat()
        assert stat.S_IMODE(info.st_mode) == 0o600, path
        assert info.st_uid == os.geteuid(), path


def test_an_exposed_secret_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700)
    exposed = folder / "db_password_api"
    exposed.write_text("s3cret-value-that-must-not-show\n")
    exposed.chmod(0o644)
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        settings.dsn(role="api")
    message = str(caught.value)
    assert "0644" in message and str(exposed) in message and "chmod 600" in message
    assert "s3cret" not in message


def test_no_secret_in_logs_error_messages_or_answers(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = world.client("tenant-a-admin")
    key = admin.post("/api-keys", json={"name": "records sync"}).json()["key"]
    integrator = world.client(**{"X-API-Key": key})
    assert integrator.get("/me").status_code == 200
    device = admin.post(
        "/devices", json={"device_id": "W-secret-1", "kind": "walker", "serial": "SN-secret-1"}
    ).json()
    rotated = admin.post("/devices/W-secret-1/credentials").json()
    token = world.fresh_token("tenant-a-care")
    wrong = "hunter2-wrong-password-7a1c"
    with world.client() as anon:
        failed = anon.post("/auth/token", data={"username": "tenant-a-care", "password": wrong})
        forged = anon.get("/me", headers={"Authorization": "Bearer " + token[:-4] + "AAAA"})
        bad_key = anon.get("/me", headers={"X-API-Key": key[:-3] + "xyz"})
    assert failed.status_code == 401 and forged.status_code == 401 and bad_key.status_code == 401
    # A refused database login says who and where, never the password.
    wrong_db = world.settings.model_copy(update={"database_api_password": None})
    os_secret = "db-password-that-is-wrong-93f1"
    from pydantic import SecretStr

    wrong_db = wrong_db.model_copy(update={"database_api_password": SecretStr(os_secret)})
    with pytest.raises(StayActiveError) as refused:
        db.connect(wrong_db, role="api").close()
    secrets = [key, device["password"], rotated["password"], token, wrong, PASSWORD, os_secret]
    secrets += _secret_values(world.settings)
    texts = {
        "logs": caplog.text + "\n".join(str(r.args) for r in caplog.records),
        "error": str(refused.value) + repr(refused.value.__cause__),
        "answers": failed.text + forged.text + bad_key.text,
    }
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:4]}…) in the {where}"
    assert "stayactive_api" in texts["error"]
    # Nor in the database server's log: the roles' passwords went over as SCRAM verifiers.
    server_log = ServicePaths(world.settings.data_dir).pg_log.read_text(errors="replace")
    for secret in _secret_values(world.settings):
        assert secret not in server_log


def test_openapi_and_urls_carry_no_secrets(world: World) -> None:
    r = world.client().get("/openapi.json")
    assert r.status_code == 200
    document = r.text
    spec = r.json()
    for secret in _secret_values(world.settings):
        assert secret not in document
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.", document), "a JWT in the OpenAPI document"
    assert not re.search(r"sa_[0-9a-f]{12}_[A-Za-z0-9_-]{16,}", document), "an API key"
    # Credentials travel in headers or bodies, never in a path or query string.
    suspicious = re.compile(r"token|password|secret|api_?key|credential", re.IGNORECASE)
    for path, item in spec["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "path"):
                    assert not suspicious.search(parameter["name"]), (path, parameter["name"])


def test_the_repository_holds_no_secret() -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    settings = Settings()
    values = (
        _secret_values(settings) if ServicePaths(settings.data_dir).secrets_dir.exists() else []
    )
    pem = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")
    api_key = re.compile(rb"sa_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}")
    checked = 0
    for name in filter(None, files):
        path = REPO / name.decode()
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        data = path.read_bytes()
        checked += 1
        assert not pem.search(data), f"a private key in {name.decode()}"
        assert not api_key.search(data), f"an API key in {name.decode()}"
        for value in values:
            assert value.encode() not in data, f"a live secret in {name.decode()}"
    assert checked > 100
    ignored = (REPO / ".gitignore").read_text()
    assert ".env" in ignored


def test_signing_key_rotation_keeps_old_tokens_until_they_expire(world: World) -> None:
    old_token = world.fresh_token("tenant-a-care")
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    rotation = auth.rotate(world.settings)
    assert rotation.retired_kid == old_kid and rotation.new_kid != old_kid
    client = world.client()
    me = lambda t: client.get("/me", headers={"Authorization": f"Bearer {t}"}).status_code  # noqa: E731
    # The running API picked the new key up: new tokens name it, old ones still work.
    new_token = world.fresh_token("tenant-a-care")
    assert jwt.get_unverified_header(new_token)["kid"] == rotation.new_kid
    assert me(old_token) == 200 and me(new_token) == 200
    # Once every token of the old key has expired, the next rotation drops the key: a token
    # that names it (say, a stolen one) is refused.
    later = (
        datetime.now(UTC)
        + timedelta(seconds=world.settings.api_token_ttl_s)
        + timedelta(minutes=10)
    )
    second = auth.rotate(world.settings, now=later)
    assert old_kid in second.dropped
    assert me(old_token) == 401
    assert me(new_token) == 200
    refused = client.get("/me", headers={"Authorization": f"Bearer {old_token}"}).json()
    assert "not in use" in refused["detail"]
    # The key file stays private through rotations.
    keys = ServicePaths(world.settings.data_dir).secrets_dir / "api_jwt_keys.json"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
