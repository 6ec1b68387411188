"""The simulator on the real broker, observed by a plain subscriber: counts, sequence
continuity, duplicates, replay after a forced disconnect, and a thousand devices at once."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from firmware_sim import protocol as p
from firmware_sim.device import DeviceBehaviour, SimDevice
from firmware_sim.pump import Pump
from firmware_sim.scenario import _settled
from firmware_sim.transport import Fleet, Publication
from stayactive import services
from stayactive.settings import Settings
from tests.fixtures.services import DeviceAccount, Subscriber
from tests.fixtures.streams import walker_messages


def _seqs(messages: list[tuple[str, bytes]], device_id: str) -> list[int]:
    return [json.loads(m)["seq"] for t, m in messages if t.split("/")[2] == device_id]


def test_counts_continuity_duplicates_and_replay(
    settings: Settings,
    device_account: Callable[[], DeviceAccount],
    ingest_subscriber: Callable[[str], Subscriber],
) -> None:
    accounts = {a.device_id: a for a in (device_account(), device_account())}
    sub = ingest_subscriber("stayactive/v1/+/telemetry")
    rng = np.random.default_rng(7)
    devices = {
        d: SimDevice(d, "walker", np.random.default_rng(rng.integers(2**32)),
                     DeviceBehaviour(duplicate_rate=0.2))
        for d in accounts
    }  # fmt: skip
    host, port = settings.mqtt_host_port()
    pump = Pump(host, port, devices, {d: a.password for d, a in accounts.items()})
    now_s = datetime.now(UTC).timestamp()
    pump.connect(list(accounts), now_s)
    steady, flaky = list(accounts)
    made = {d: walker_messages(devices[d], walk_s=90, start_s=now_s - 600, seed=i)
            for i, d in enumerate(accounts)}  # fmt: skip
    half = len(made[flaky]) // 2
    for item in made[steady] + made[flaky][:half]:
        pump.offer(item.publication.topic.split("/")[2], item)
    pump.drain()
    pump.drop(flaky)  # network gone: the rest waits in the device's buffer
    for item in made[flaky][half:]:
        pump.offer(flaky, item)
    pump.flush()
    buffered = len(devices[flaky].buffer)
    # An offline device's buffer waits for it: nothing of it can go out now (the demo's
    # checkpoint and readiness waited for the end of such an outage).
    assert buffered > 0 and pump.backlog() == buffered and pump.sendable() == 0
    assert _settled(pump, 0.5)  # the runner may checkpoint: what can go out, went out
    pump.connect([flaky], now_s)  # back: replay, oldest first
    pump.drain()
    pump.close()
    expected = sum(len(v) for v in made.values())
    received = sub.wait_for(expected + pump.log.duplicates_sent, timeout_s=10)
    time.sleep(0.3)
    got = [(m.topic, bytes(m.payload)) for m in sub.messages]
    assert len(got) == len(received) == expected + pump.log.duplicates_sent
    assert buffered == len(made[flaky]) - half
    for device_id in accounts:
        seqs = _seqs(got, device_id)
        assert sorted(set(seqs)) == list(range(1, len(made[device_id]) + 1))  # continuous
    assert pump.log.duplicates_sent > 0
    assert len(got) > len({payload for _t, payload in got})  # duplicates are byte-identical
    replayed = [s for s in _seqs(got, flaky) if s > half]
    assert replayed[:buffered] == sorted(replayed[:buffered])  # oldest first


def test_a_thousand_devices_from_one_process(
    settings: Settings, ingest_subscriber: Callable[[str], Subscriber]
) -> None:
    broker = services.broker_accounts(settings)
    tag = secrets.token_hex(3)
    passwords = {f"K{tag}-{i:04d}": secrets.token_urlsafe(8) for i in range(1000)}
    try:  # the clean-up also removes what a provisioning that failed half-way left behind
        started = time.monotonic()
        broker.create_devices(passwords)
        provisioned_s = time.monotonic() - started
        # Two plugin commands per device, each saving the plugin's file: ~15 s on a quiet machine.
        assert provisioned_s < 120, f"provisioning 1000 device accounts took {provisioned_s:.1f} s"
        sub = ingest_subscriber("stayactive/v1/+/status")
        fleet: Fleet[str] = Fleet(*settings.mqtt_host_port())
        for device_id, password in passwords.items():
            fleet.connect(device_id, password)
        fleet.wait_connected(list(passwords), timeout_s=60)
        now = datetime.now(UTC)
        for i, device_id in enumerate(passwords):
            msg = p.offline_will(device_id, 1, connected_at=now)  # small, valid, not retained
            fleet.publish(
                device_id, Publication(p.topic(device_id, "status"), p.encode(msg)), device_id
            )
            if i % 100 == 0:
                fleet.poll(0)
        deadline = time.monotonic() + 30
        while fleet.in_flight() and time.monotonic() < deadline:
            fleet.poll(0.01)
        assert fleet.in_flight() == 0
        mine = lambda: {m.topic for m in sub.messages if f"K{tag}-" in m.topic}  # noqa: E731
        deadline = time.monotonic() + 30
        while len(mine()) < 1000 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(mine()) == 1000
        fleet.close()
    finally:
        broker.remove(list(passwords))
