"""A simulated device's imperfections leave its data alone: a lost PUBACK or a fault changes
what goes on the wire, never the clock or the samples of the other messages."""

from __future__ import annotations

import pytest

from firmware_sim import device as device_module
from firmware_sim.device import DeviceBehaviour, Outgoing, SimDevice
from firmware_sim.transport import Publication
from firmware_sim.world import derive_rng

#: A status every half hour for two days: the clock syncs (every 6 h) draw their residuals.
TIMES_S = [1.7e9 + 1800.0 * i for i in range(96)]


def statuses(behaviour: DeviceBehaviour, *, ask_duplicates: bool) -> list[Outgoing]:
    """The device's statuses over two days; with ``ask_duplicates`` the transport asks after
    each whether its PUBACK was lost, as the pump does at its own pace."""
    device = SimDevice("walker-dev-1", "walker", derive_rng(7, 33, 1), behaviour)
    out = []
    for t in TIMES_S:
        out.append(device.status(t, "online"))
        if ask_duplicates:
            for _ in range(3):
                device.duplicate()
    return out


def test_lost_pubacks_do_not_move_the_device_clock() -> None:
    clean = statuses(DeviceBehaviour(), ask_duplicates=False)
    lossy = statuses(DeviceBehaviour(duplicate_rate=0.3), ask_duplicates=True)
    assert [m.publication.payload for m in lossy] == [m.publication.payload for m in clean]


def test_faults_replace_their_own_messages_only() -> None:
    clean = statuses(DeviceBehaviour(), ask_duplicates=False)
    faulty = statuses(DeviceBehaviour(fault_rate=0.3), ask_duplicates=False)
    kept = [(c, f) for c, f in zip(clean, faulty, strict=True) if f.fault is None]
    assert 0 < len(kept) < len(clean)
    assert all(f.publication.payload == c.publication.payload for c, f in kept)


def test_a_full_buffer_gives_up_telemetry_then_status_and_robot_events_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/protocol.md, "Buffer and replay": the oldest telemetry first, then the oldest
    status (a newer one supersedes it), robot events last."""
    monkeypatch.setattr(device_module, "BUFFER_LIMIT", 3)
    device = SimDevice("robot-dev-1", "robot", derive_rng(7, 33, 2))

    def message(kind: str, seq: int) -> Outgoing:
        return Outgoing(float(seq), Publication("t", b""), kind, 1, seq)

    for seq, kind in enumerate(["events", "status", "telemetry"], start=1):
        device.keep(message(kind, seq))
    device.keep(message("events", 4))  # full: the telemetry goes
    assert [m.seq for m in device.buffer] == [1, 2, 4]
    device.keep(message("events", 5))  # then the status
    assert [m.seq for m in device.buffer] == [1, 4, 5]
    device.keep(message("status", 6))  # only events left: the oldest of them
    assert [m.seq for m in device.buffer] == [4, 5, 6]
    assert device.dropped_from_buffer == 3
