"""Devices through the API: the broker takes new credentials at once and refuses old ones;
HTTP telemetry goes through ingest's own path with its own rejects."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from ingest.messages import Received, Reject
from ingest.registry import DeviceRegistry
from ingest.validate import validate
from tests.api.broker import accepts
from tests.api.conftest import World
from tests.fixtures.messages import example
from tests.fixtures.streams import wait_until


def test_credentials_rotation_is_seen_by_the_broker(api_world: World) -> None:
    admin = api_world.client("tenant-a-admin")
    created = admin.post(
        "/devices",
        json={"device_id": "W-rot-1", "kind": "walker", "serial": "SN-rot-1",
              "ward_id": api_world.a.ward_ids[0]},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    # The device is told the broker's TLS listener, not the services' plain loopback port.
    broker = created.json()["broker"]
    assert broker == {"host": "127.0.0.1", "port": api_world.settings.mqtt_tls_port, "tls": True}
    old = created.json()["password"]
    wait_until(lambda: accepts(api_world.settings, "W-rot-1", old))
    started = time.monotonic()
    rotated = admin.post("/devices/W-rot-1/credentials")
    assert rotated.status_code == 200
    new = rotated.json()["password"]
    assert new != old
    wait_until(lambda: accepts(api_world.settings, "W-rot-1", new))
    wait_until(lambda: not accepts(api_world.settings, "W-rot-1", old))
    assert time.monotonic() - started < 10
    # Deactivated: the broker refuses it, the registry says inactive.
    off = admin.post("/devices/W-rot-1/deactivate")
    assert off.status_code == 200 and off.json()["active"] is False
    wait_until(lambda: not accepts(api_world.settings, "W-rot-1", new))
    # Tenant B cannot rotate tenant A's device: 404, and the password still works after.
    again = admin.post("/devices/W-rot-1/credentials").json()["password"]
    other = api_world.client("tenant-b-admin").post("/devices/W-rot-1/credentials")
    assert other.status_code == 404
    wait_until(lambda: accepts(api_world.settings, "W-rot-1", again))
    taken = api_world.client("tenant-b-admin").post(
        "/devices", json={"device_id": "W-rot-1", "kind": "walker", "serial": "SN-x"}
    )
    assert taken.status_code == 409


@pytest.fixture
def http_device(api_world: World) -> tuple[str, str]:
    admin = api_world.client("tenant-a-admin")
    r = admin.post(
        "/devices", json={"device_id": "W-http-1", "kind": "walker", "serial": "SN-http-1"}
    )
    assert r.status_code == 201
    return "W-http-1", str(r.json()["password"])


def test_http_telemetry_is_stored_like_mqtt(api_world: World, http_device: tuple[str, str]) -> None:
    device_id, password = http_device
    client = api_world.client()
    now = datetime.now(UTC)
    message = example("walker-telemetry.json", device_id, seq=1, now=now)
    r = client.post(
        "/telemetry", json=message, auth=(device_id, password), params={"channel": "telemetry"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": True, "type": "walker.telemetry"}
    again = client.post("/telemetry", json=message, auth=(device_id, password))
    assert again.status_code == 200  # a duplicate is normal, stored once
    with api_world.connect() as conn:
        frames = conn.execute(
            "SELECT count(*) FROM walker_frames WHERE device_id = %s", (device_id,)
        ).fetchone()
    assert frames is not None and frames[0] == len(message["frames"])  # type: ignore[arg-type]
    status = example("status.json", device_id, seq=2, now=now)
    assert client.post("/telemetry", json=status, auth=(device_id, password),
                       params={"channel": "status"}).status_code == 200  # fmt: skip


def test_http_rejects_are_ingests_rejects(api_world: World, http_device: tuple[str, str]) -> None:
    device_id, password = http_device
    client = api_world.client()
    now = datetime.now(UTC)
    bad = example("walker-telemetry.json", device_id, seq=3, now=now)
    bad["frames"][0]["acc_x"] = bad["frames"][0]["acc_x"][:-1]  # type: ignore[index]
    payload = json.dumps(bad).encode()
    r = client.post(
        "/telemetry", content=payload, auth=(device_id, password),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 422
    with api_world.connect() as conn:
        expected = validate(
            Received(f"stayactive/v1/{device_id}/telemetry", payload, now, "application/json"),
            DeviceRegistry(lambda: conn).lookup,
            retention=timedelta(days=400),
        )
        stored = conn.execute(
            "SELECT reason FROM ingest_rejects WHERE device_id = %s", (device_id,)
        ).fetchall()
    assert isinstance(expected, Reject)
    assert r.json()["reason"] == expected.reason == "array_length_mismatch"
    assert [s[0] for s in stored] == [expected.reason]
    wrong = client.post("/telemetry", json=bad, auth=(device_id, "not the password"))
    assert wrong.status_code == 401
    anonymous = client.post("/telemetry", json=bad)
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["www-authenticate"]
    other_device = client.post(
        "/telemetry", json=example("walker-telemetry.json", "W-someone-else", seq=1, now=now),
        auth=(device_id, password),
    )  # fmt: skip
    assert other_device.status_code == 422  # the topic is the caller's; the id must match it


def test_fleet_and_status(api_world: World) -> None:
    care = api_world.client("tenant-a-care")
    ward = api_world.a.ward_ids[0]
    fleet = care.get("/fleet", params={"ward": ward}).json()
    assert {d["device_id"] for d in fleet} == {
        d for d, r in zip(api_world.a.device_ids, api_world.a.resident_ids, strict=True)
        if r in api_world.a.residents_by_ward[ward]
    }  # fmt: skip
    assert all(d["assignment"] is not None for d in fleet)
    status = care.get(f"/devices/{fleet[0]['device_id']}/status").json()
    assert status["state"] == "online" and status["frames_24h"] >= 0
    assert care.get("/fleet", params={"ward": api_world.a.ward_ids[1]}).status_code == 403
