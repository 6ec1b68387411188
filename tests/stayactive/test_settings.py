"""A wrong STAYACTIVE_* value stops with one line naming the variable, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stayactive import settings as settings_module
from stayactive.errors import ConfigurationError
from stayactive.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("STAYACTIVE_TIME_ZONE", "Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'"),
        ("STAYACTIVE_MQTT_URL", "mqtt://broker:port", "has no valid port"),
        ("STAYACTIVE_API_TRUSTED_PROXIES", "127.0.0.1,proxy.kommune.no", "'proxy.kommune.no' is"),
        ("STAYACTIVE_API_TRUSTED_PROXIES", "10.0.0.1/8", "with no host bits set"),
    ],
)
def test_a_bad_value_is_one_line_from_the_cli(
    variable: str, value: str, message: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAYACTIVE_")}
    env[variable] = value
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "stayactive", "db", "migrate"],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: invalid setting: {variable}: ")
    assert message in lines[0]
    assert "Traceback" not in done.stderr


def test_load_settings_names_every_bad_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(time_zone="Nowhere/Town", mqtt_url="ws://x", pg_port="fifty")
    text = str(caught.value)
    assert "\n" not in text
    assert "STAYACTIVE_TIME_ZONE: unknown time zone 'Nowhere/Town'" in text
    assert "STAYACTIVE_MQTT_URL: must start with mqtt://" in text
    assert "STAYACTIVE_PG_PORT: Input should be a valid integer" in text


def test_a_good_broker_url_gives_host_and_port() -> None:
    settings = load_settings(mqtt_url="mqtt://broker.example:8883")
    assert settings.mqtt_host_port() == ("broker.example", 8883)
    assert load_settings(mqtt_url="mqtt://broker").mqtt_host_port() == ("broker", 1883)


def test_devices_are_told_the_broker_they_can_reach() -> None:
    """The address in a device's credentials: never the services' plain loopback listener."""
    local = load_settings(mqtt_tls_port=18993)
    assert local.device_broker() == ("127.0.0.1", 18993, True)
    every = load_settings(mqtt_tls_bind="0.0.0.0", mqtt_tls_port=18993)
    assert every.device_broker() == (socket.getfqdn(), 18993, True)
    external = load_settings(mqtt_url="mqtts://broker.example")
    assert external.device_broker() == ("broker.example", 8883, True)
    told = load_settings(
        mqtt_url="mqtt://10.0.0.5:1883", device_broker_url="mqtts://mqtt.kommune.no:8884"
    )
    assert told.device_broker() == ("mqtt.kommune.no", 8884, True)
    with pytest.raises(ConfigurationError, match="STAYACTIVE_DEVICE_BROKER_URL"):
        load_settings(device_broker_url="https://mqtt.kommune.no")


def test_the_machines_name_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``device_broker`` runs in the API's request handlers (POST /devices): the resolver is
    asked once per process, not on every call, where a slow DNS would stall the event loop."""
    asked: list[int] = []

    def getfqdn() -> str:
        asked.append(1)
        return "sykehjem-7.kommune.example"

    monkeypatch.setattr(socket, "getfqdn", getfqdn)
    settings_module._machine_name.cache_clear()
    try:
        every = load_settings(mqtt_tls_bind="0.0.0.0", mqtt_tls_port=18993)
        for _ in range(3):
            assert every.device_broker() == ("sykehjem-7.kommune.example", 18993, True)
        assert len(asked) == 1
    finally:
        settings_module._machine_name.cache_clear()


def test_the_environment_for_a_child_carries_no_secret() -> None:
    """`stayactive run` and the demo hand their settings to every child, the dashboard and
    the simulated devices too: passwords, keys and the database URL are not among them."""
    settings = load_settings(
        api_port="8123",
        database_url="postgresql://owner:s3cret-url@db.example/stayactive",
        database_api_password="s3cret-role",
        api_jwt_key="s3cret-key-" + "x" * 40,
    )
    env = settings.as_environment()
    assert env["STAYACTIVE_API_PORT"] == "8123"
    assert not any("s3cret" in value for value in env.values()), env
    assert "STAYACTIVE_DATABASE_URL" not in env
