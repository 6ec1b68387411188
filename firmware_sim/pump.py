"""Moving devices' messages onto the broker: connect, publish within each window, replay.

A message leaves a device's buffer only when the broker has acknowledged it; after a dropped
connection, the unacknowledged ones go back to the front of the buffer and are replayed first,
oldest first, as the protocol asks. The log records what the broker acknowledged, which is what
ingest must store exactly once.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from firmware_sim import protocol as p
from firmware_sim.device import Outgoing, SimDevice
from firmware_sim.transport import Fleet

RECONNECT_DELAY_S = 0.5


@dataclass
class DeliveryLog:
    """What the broker acknowledged, per device."""

    messages: set[tuple[str, int, int]] = field(default_factory=set)  # good (device, boot, seq)
    frames: int = 0
    duplicates_sent: int = 0
    reconnects: int = 0
    too_large: list[tuple[str, int, int]] = field(default_factory=list)  # dropped, never sent
    faults: list[tuple[str, str]] = field(default_factory=list)  # (device, expected reason)
    by_kind: Counter[str] = field(default_factory=Counter)
    first_publish_s: float | None = None
    publish_times: dict[tuple[str, int, int], float] = field(default_factory=dict)

    def record(self, device_id: str, item: Outgoing) -> None:
        self.by_kind[item.kind] += 1
        if item.fault is not None:
            self.faults.append((device_id, item.fault))
            return
        key = (device_id, item.boot, item.seq)
        if key not in self.messages:
            self.messages.add(key)
            self.frames += item.n_frames


@dataclass(frozen=True)
class _Duplicate:
    item: Outgoing


class Pump:
    """Publishes the buffered messages of a set of devices through one :class:`Fleet`."""

    def __init__(
        self,
        host: str,
        port: int,
        devices: dict[str, SimDevice],
        passwords: dict[str, str],
        *,
        max_in_flight: int = 50,
    ) -> None:
        self.devices = devices
        self.passwords = passwords
        self.log = DeliveryLog()
        self.fleet: Fleet[Outgoing | _Duplicate] = Fleet(
            host, port, on_delivered=self._delivered, max_in_flight=max_in_flight
        )
        self._reconnecting: dict[str, float] = {}

    def connect(self, device_ids: list[str], true_s: float, *, wait: bool = True) -> None:
        """Connect devices (will registered, own config subscribed) and wait for CONNACK."""
        for device_id in device_ids:
            device = self.devices[device_id]
            self.fleet.connect(
                device_id,
                self.passwords[device_id],
                will=device.will(true_s),
                subscribe=p.topic(device_id, "config"),
            )
        if wait:
            self.fleet.wait_connected(device_ids)

    def offer(self, device_id: str, item: Outgoing) -> None:
        """A device built a message: it waits in the device's buffer until it can go out."""
        self.devices[device_id].keep(item)

    def flush(self) -> int:
        """Publish from every connected device's buffer within its window; return how many."""
        sent = 0
        for device_id, device in self.devices.items():
            while device.buffer and self.fleet.can_publish(device_id):
                item = device.buffer.popleft()
                if not self.fleet.fits(device_id, item.publication):
                    # Final, like a denied publication: it can never be sent (protocol).
                    self.log.too_large.append((device_id, item.boot, item.seq))
                    continue
                try:
                    self.fleet.publish(device_id, item.publication, item)
                except ConnectionError:
                    device.buffer.appendleft(item)  # goes out again after the reconnect
                    break
                now = time.monotonic()
                if self.log.first_publish_s is None:
                    self.log.first_publish_s = now
                if item.fault is None:
                    self.log.publish_times.setdefault((device_id, item.boot, item.seq), now)
                sent += 1
        self.fleet.poll(0)
        self._reconnect_lost()
        return sent

    def _reconnect_lost(self) -> None:
        """A device whose connection broke reconnects (every half second until the broker
        takes it) and replays what was unacknowledged, as the protocol asks of real devices;
        the broker may have had some of it: duplicates."""
        now = time.monotonic()
        for device_id in self.fleet.lost():
            self.drop(device_id)
            self._reconnecting[device_id] = now
        for device_id, since in list(self._reconnecting.items()):
            if now - since < RECONNECT_DELAY_S:
                continue
            try:
                self.connect([device_id], time.time())
            except (OSError, TimeoutError):  # the broker is not back yet
                self.fleet.drop(device_id)
                self._reconnecting[device_id] = now
                continue
            del self._reconnecting[device_id]
            self.log.reconnects += 1

    def backlog(self) -> int:
        """Messages waiting in buffers plus those sent and not yet acknowledged."""
        return sum(len(d.buffer) for d in self.devices.values()) + self.fleet.in_flight()

    def drain(self, timeout_s: float = 60.0) -> None:
        """Publish until every connected device's buffer is empty and acknowledged."""
        deadline = time.monotonic() + timeout_s
        while any(
            self.devices[d].buffer or self.fleet.in_flight()
            for d in self.devices
            if self.fleet.is_connected(d) or d in self._reconnecting or d in self.fleet.lost()
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.backlog()} messages still waiting after {timeout_s} s")
            self.flush()
            self.fleet.poll(0.01)

    def drop(self, device_id: str) -> None:
        """Lose the device's connection; what was unacknowledged is replayed first later."""
        unacknowledged = self.fleet.drop(device_id)
        self.devices[device_id].requeue([u for u in unacknowledged if isinstance(u, Outgoing)])

    def close(self) -> None:
        """Disconnect every device in order."""
        self.fleet.close()

    def _delivered(self, device_id: str, tag: Outgoing | _Duplicate) -> None:
        if isinstance(tag, _Duplicate):
            return
        self.log.record(device_id, tag)
        device = self.devices[device_id]
        if tag.fault is None and device.duplicate() and self.fleet.can_publish(device_id):
            self.fleet.publish(device_id, tag.publication, _Duplicate(tag))
            self.log.duplicates_sent += 1
