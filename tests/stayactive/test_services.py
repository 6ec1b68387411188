"""`stayactive services`: idempotent `up`, honest `status`, external servers left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from stayactive import services
from stayactive.mqtt import new_client
from stayactive.settings import Settings
from tests.fixtures.services import DeviceAccount
from tests.fixtures.streams import wait_until

CLI = [sys.executable, "-m", "stayactive"]


def _processes_with(fragment: str, program: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if program in cmdline.split(" ", 1)[0] and fragment in cmdline:
            found.append(cmdline)
    return found


def test_up_twice_leaves_one_cluster_and_one_broker(settings: Settings) -> None:
    for _ in range(2):
        done = subprocess.run([*CLI, "services", "up"], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    paths = services.paths_for(settings)
    postmasters = _processes_with(str(paths.pg_data), "postgres")
    brokers = _processes_with(str(paths.mqtt_conf), "mosquitto")
    assert len(postmasters) == 1, postmasters
    assert len(brokers) == 1, brokers


def test_status_reports_versions_and_licence(settings: Settings) -> None:
    done = subprocess.run([*CLI, "services", "status"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    db_line, broker_line = done.stdout.splitlines()[:2]
    assert "healthy" in db_line and "TimescaleDB 2." in db_line
    assert "licence: apache" in db_line or "licence: timescale" in db_line
    assert "healthy" in broker_line and "Mosquitto 2." in broker_line


def _external(settings: Settings, svc: DeviceAccount, tmp_path: Path) -> Settings:
    """The test's own servers, given as external ones, with ``svc`` as the ingest account."""
    host, port = settings.mqtt_host_port()
    return Settings(
        database_url=settings.dsn(),
        mqtt_url=f"mqtt://{host}:{port}",
        mqtt_ingest_username=svc.device_id,
        mqtt_ingest_password=svc.password,
        data_dir=tmp_path / "unused",
    )


def test_external_servers_skip_the_local_ones(
    settings: Settings, tmp_path: Path, service_account: Callable[[], DeviceAccount]
) -> None:
    external = _external(settings, service_account(), tmp_path)
    services.up(external)
    state = services.status(external)
    assert state.healthy
    assert not state.database_local and not state.broker_local
    assert not (tmp_path / "unused" / "postgres").exists()
    assert not (tmp_path / "unused" / "mosquitto").exists()


def test_external_broker_status_leaves_the_worker_connected(
    settings: Settings, tmp_path: Path, service_account: Callable[[], DeviceAccount]
) -> None:
    """Checking an external broker must not log in under the worker's client id: that login
    would take over the worker's connection and end its session."""
    host, port = settings.mqtt_host_port()
    svc = service_account()
    external = _external(settings, svc, tmp_path)
    dropped = threading.Event()
    worker = new_client(svc.device_id, svc.device_id, svc.password)
    worker.on_disconnect = lambda *args: dropped.set()
    worker.connect(host, port, clean_start=True)
    worker.loop_start()
    try:
        wait_until(worker.is_connected, 5, "the worker's connection")
        state = services.status(external)
        assert state.broker.running, state.broker.error
        assert "refused" in (state.broker.note or "")  # bound to the worker's id
        assert not dropped.wait(1), "the status check took over the worker's connection"
        assert worker.is_connected()
    finally:
        worker.disconnect()
        worker.loop_stop()


def test_status_exits_non_zero_when_a_service_is_unreachable(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        STAYACTIVE_DATABASE_URL="postgresql://nobody@127.0.0.1:1/x",
        STAYACTIVE_MQTT_URL="mqtt://127.0.0.1:1",
        STAYACTIVE_MQTT_INGEST_PASSWORD="x",
    )
    done = subprocess.run(
        [*CLI, "services", "status"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 1
    assert done.stdout.count("DOWN") == 2


def test_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Atlantis'"):
        Settings(time_zone="Europe/Atlantis")


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAYACTIVE_MQTT_URL", "mqtt://broker.example:1884")
    monkeypatch.setenv("STAYACTIVE_TIME_ZONE", "Europe/Berlin")
    s = Settings()
    assert s.mqtt_host_port() == ("broker.example", 1884)
    assert s.time_zone == "Europe/Berlin"
    assert not s.uses_local_broker and s.uses_local_database
