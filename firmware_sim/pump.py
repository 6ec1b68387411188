"""Moving devices' messages onto the broker: connect, publish within each window, replay.

A message waits in a device's buffer until the broker has acknowledged it; after a dropped
connection, the unacknowledged ones go back to the front of the buffer and are replayed first,
oldest first, as the protocol asks. With the end-to-end acknowledgement (protocol v1,
"Delivery") a message the broker acknowledged is still kept until the backend's ack watermark
on ``stayactive/v1/<id>/ack`` covers it; one that stays uncovered for ``ack_timeout_s`` is
replayed. The log records what the broker acknowledged, which is what ingest must store exactly
once, and what the backend confirmed.
"""

from __future__ import annotations

import json
import ssl
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware_sim import protocol as p
from firmware_sim.device import Outgoing, SimDevice
from firmware_sim.transport import DevicesRefused, Fleet

RECONNECT_DELAY_S = 0.5
#: How long a device waits for the backend's ack to cover a message before replaying it.
ACK_TIMEOUT_S = 30.0


@dataclass
class DeliveryLog:
    """What the broker acknowledged, per device."""

    messages: set[tuple[str, int, int]] = field(default_factory=set)  # good (device, boot, seq)
    acknowledged: int = 0  # good messages acknowledged (replays included when keys are not kept)
    keep_keys: bool = True  # False: counts only, for runs too long to remember every key
    frames: int = 0
    duplicates_sent: int = 0
    reconnects: int = 0
    too_large: list[tuple[str, int, int]] = field(default_factory=list)  # dropped, never sent
    faults: list[tuple[str, str]] = field(default_factory=list)  # (device, expected reason)
    by_kind: Counter[str] = field(default_factory=Counter)
    confirmed: set[tuple[str, int, int]] = field(default_factory=set)  # covered by the ack
    replays: int = 0  # uncovered messages sent again
    first_publish_s: float | None = None
    publish_times: dict[tuple[str, int, int], float] = field(default_factory=dict)

    def record(self, device_id: str, item: Outgoing) -> None:
        self.by_kind[item.kind] += 1
        if item.fault is not None:
            self.faults.append((device_id, item.fault))
            return
        if not self.keep_keys:
            self.acknowledged += 1
            self.frames += item.n_frames
            return
        key = (device_id, item.boot, item.seq)
        if key not in self.messages:
            self.messages.add(key)
            self.acknowledged += 1
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
        ack_timeout_s: float | None = ACK_TIMEOUT_S,
        tls: ssl.SSLContext | None = None,
        on_refused: Callable[[dict[str, str]], dict[str, str]] | None = None,
        keep_keys: bool = True,
    ) -> None:
        self.devices = devices
        self.passwords = passwords
        #: Given the devices the broker refused ({device: reason}), returns new passwords for
        #: those it re-provisioned (their accounts were replaced elsewhere, say).
        self.on_refused = on_refused
        self.log = DeliveryLog(keep_keys=keep_keys)
        self.fleet: Fleet[Outgoing | _Duplicate] = Fleet(
            host, port, on_delivered=self._delivered, on_message=self._on_message,
            max_in_flight=max_in_flight, tls=tls,
        )  # fmt: skip
        #: None: the broker's PUBACK is final (a backend without end-to-end acks).
        self.ack_timeout_s = ack_timeout_s
        self._reconnecting: dict[str, float] = {}
        self._next_replay_check = 0.0

    def connect(self, device_ids: list[str], true_s: float, *, wait: bool = True) -> None:
        """Connect devices (will registered, own config subscribed) and wait for CONNACK.

        A device the broker refuses gets one more try with the password ``on_refused`` gives
        it; :class:`~firmware_sim.transport.DevicesRefused` names those still refused."""
        self._open(device_ids, true_s)
        if not wait:
            return
        renewed: set[str] = set()
        while True:
            try:
                self.fleet.wait_connected(device_ids)
                return
            except DevicesRefused as refused:
                if self.on_refused is None or renewed & refused.refused.keys():
                    raise
                for device_id in refused.refused:
                    self.fleet.drop(device_id)
                passwords = self.on_refused(refused.refused)
                if set(passwords) != set(refused.refused):
                    raise
                self.passwords.update(passwords)
                renewed |= passwords.keys()
                self._open(list(passwords), true_s)

    def _open(self, device_ids: list[str], true_s: float) -> None:
        for device_id in device_ids:
            device = self.devices[device_id]
            self.fleet.connect(
                device_id,
                self.passwords[device_id],
                will=device.will(true_s),
                subscribe=(p.topic(device_id, "config"), p.topic(device_id, "ack")),
            )

    def offer(self, device_id: str, item: Outgoing) -> None:
        """A device built a message: it waits in the device's buffer until it can go out."""
        self.devices[device_id].keep(item)

    def flush(self) -> int:
        """Publish from every connected device's buffer within its window; return how many."""
        sent = 0
        self._replay_overdue()
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
                if item.fault is None and self.log.keep_keys:
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

    def _replay_overdue(self) -> None:
        if self.ack_timeout_s is None:
            return
        now = time.monotonic()
        if now < self._next_replay_check:
            return
        self._next_replay_check = now + 0.2
        for device in self.devices.values():
            late = device.overdue(now - self.ack_timeout_s)
            if late:
                self.log.replays += len(late)
                device.requeue(late)

    def unconfirmed(self) -> int:
        """Messages the broker acknowledged that the backend's ack does not cover yet."""
        return sum(len(d.unconfirmed) for d in self.devices.values())

    def settle(self, timeout_s: float = 60.0) -> None:
        """Publish (and replay) until the backend's ack covers every message sent."""
        deadline = time.monotonic() + timeout_s
        self.drain(timeout_s)
        while self.unconfirmed() or any(d.buffer for d in self.devices.values()):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.unconfirmed()} messages not covered by the backend's ack after "
                    f"{timeout_s} s"
                )
            self.flush()
            self.fleet.poll(0.01)

    def _on_message(self, device_id: str, topic: str, payload: bytes) -> None:
        if not topic.endswith("/ack") or not payload:
            return  # config downlinks are the scenario's business
        try:
            doc = json.loads(payload)
            boot, seq = int(doc["boot"]), int(doc["seq"])
        except (ValueError, KeyError, TypeError):
            return  # not an ack this firmware understands: keep everything (protocol)
        if doc.get("device_id") != device_id:
            return
        for key_boot, key_seq in self.devices[device_id].acknowledged_to(boot, seq):
            self.log.confirmed.add((device_id, key_boot, key_seq))

    def backlog(self) -> int:
        """Messages waiting in buffers plus those sent and not yet acknowledged."""
        return sum(len(d.buffer) for d in self.devices.values()) + self.fleet.in_flight()

    def sendable(self) -> int:
        """Messages that can go out now: buffered by devices that are connected (or coming
        back) plus those in flight. An offline device keeps its buffer until it is back."""
        reachable = (
            d
            for d in self.devices
            if self.fleet.is_connected(d) or d in self._reconnecting or d in self.fleet.lost()
        )
        return sum(len(self.devices[d].buffer) for d in reachable) + self.fleet.in_flight()

    def drain(self, timeout_s: float = 60.0) -> None:
        """Publish until every connected device's buffer is empty and acknowledged."""
        deadline = time.monotonic() + timeout_s
        while self.sendable():
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
        if self.ack_timeout_s is not None and tag.fault is None:
            if device.covered(tag):  # a replay the backend had meanwhile
                self.log.confirmed.add((device_id, tag.boot, tag.seq))
            else:
                device.unconfirmed[(tag.boot, tag.seq)] = (tag, time.monotonic())
        if tag.fault is None and device.duplicate() and self.fleet.can_publish(device_id):
            self.fleet.publish(device_id, tag.publication, _Duplicate(tag))
            self.log.duplicates_sent += 1
