"""A simulated device's firmware: boot and sequence counters, clock, battery, offline buffer.

Everything the protocol asks of a device, with the imperfections real devices have: the clock
drifts and is corrected at each time sync, reboots raise the boot counter and restart ``seq``,
messages made while offline wait in a bounded buffer and are replayed oldest first, a lost
PUBACK makes a message go out twice, and opt-in faults replace a good message with a bad one.
The transport (:mod:`firmware_sim.transport`) and the scenario driver decide *when*.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from firmware_sim import faults
from firmware_sim import protocol as p
from firmware_sim.transport import Publication
from firmware_sim.world.signals import SignalChunk

FIRMWARE = {"walker": "walker-fw 2.4.1", "robot": "robot-fw 1.9.0"}
#: Messages a device keeps while offline; when full, the oldest telemetry goes first (protocol).
BUFFER_LIMIT = 20_000
#: What a full buffer gives up first (docs/protocol.md, "Buffer and replay"): telemetry, then a
#: status (the next one supersedes it), then anything but robot events, which go last.
_DROP_FIRST = ("telemetry", "status", "fault")
CLOCK_SYNC_INTERVAL_S = 6 * 3600.0


@dataclass(frozen=True)
class Outgoing:
    """A message the device has built, with the true time it was built (for ordering)."""

    true_s: float
    publication: Publication
    kind: str  # telemetry | events | status | fault
    boot: int
    seq: int
    n_frames: int = 0
    fault: str | None = None


@dataclass
class DeviceBehaviour:
    """How imperfect the device is. All rates are per message unless named otherwise."""

    encoding: p.Encoding = "json"
    duplicate_rate: float = 0.0  # a PUBACK lost: the same bytes go out again
    fault_rate: float = 0.0  # a good message replaced by one of firmware_sim.faults
    fault_kinds: tuple[str, ...] = tuple(faults.FAULTS)
    clock_drift_ppm: float = 40.0  # spread of crystal drift (standard deviation)


@dataclass
class SimDevice:
    """The firmware state of one walker or robot."""

    device_id: str
    kind: str
    rng: np.random.Generator
    behaviour: DeviceBehaviour = field(default_factory=DeviceBehaviour)
    boot: int = 1
    seq: int = 0
    config: p.DeviceConfig = p.DEFAULT_CONFIG
    battery_pct: float = 100.0
    buffer: deque[Outgoing] = field(default_factory=deque)
    #: Acknowledged by the broker, not yet covered by the backend's ack: (boot, seq) → (message,
    #: monotonic time of the PUBACK). Replayed when it stays uncovered too long.
    unconfirmed: dict[tuple[int, int], tuple[Outgoing, float]] = field(default_factory=dict)
    #: The backend's latest ack watermark (boot, seq): every message up to it is committed.
    ack_mark: tuple[int, int] | None = None
    dropped_from_buffer: int = 0
    _offset_s: float = 0.0
    _drift: float = 0.0
    _synced_at_s: float | None = None
    _battery_state: tuple[float | None, str] = (None, "sleeping")
    #: A stream of its own for the imperfections (lost PUBACKs, faults), spawned from ``rng``
    #: without drawing from it: asking whether a PUBACK was lost, which the transport does at
    #: its own pace, must not move the clock's sync residuals, so a run with imperfections
    #: sends the same samples at the same times as one without.
    _mishaps: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._mishaps = self.rng.spawn(1)[0]
        self._drift = float(self.rng.normal(0.0, self.behaviour.clock_drift_ppm)) * 1e-6
        self._offset_s = float(self.rng.normal(0.0, 0.5))  # before the first sync

    # --- clock -----------------------------------------------------------------------------

    def clock_offset_s(self, true_s: float, *, sync: bool = True) -> float:
        """Device clock minus true time at ``true_s``; a sync every 6 h brings it near zero.

        ``sync=False`` reads the clock without letting a due sync happen: for a timestamp that
        is not part of the device's own timeline (the last will of a reconnection made at the
        wall clock while the device replays history), so it cannot change the later ones."""
        synced = self._synced_at_s
        if synced is None or (sync and true_s - synced >= CLOCK_SYNC_INTERVAL_S):
            synced = self._synced_at_s = true_s
            self._offset_s = float(self.rng.normal(0.0, 0.02))  # SNTP residual, ~20 ms
        return self._offset_s + self._drift * (true_s - synced)

    def device_time(self, true_s: float, *, sync: bool = True) -> datetime:
        """The device clock's reading at true time ``true_s`` (epoch seconds)."""
        return datetime.fromtimestamp(true_s + self.clock_offset_s(true_s, sync=sync), UTC)

    # --- counters --------------------------------------------------------------------------

    def reboot(self) -> None:
        """Restart: the boot counter goes up and ``seq`` starts again at 1."""
        self.boot += 1
        self.seq = 0

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _out(self, true_s: float, msg: dict[str, Any], kind: str, n_frames: int = 0) -> Outgoing:
        channel = p.channel_of(msg)
        retain = channel == "status"
        if self.behaviour.fault_rate and self._mishaps.random() < self.behaviour.fault_rate:
            fault = self._fault(true_s, msg)
            if fault is not None:
                return fault
        payload = p.encode(msg, self.behaviour.encoding)
        publication = Publication(p.topic(self.device_id, channel), payload, 1, retain)
        return Outgoing(true_s, publication, kind, msg["boot"], msg["seq"], n_frames)

    def _fault(self, true_s: float, msg: dict[str, Any]) -> Outgoing | None:
        """The message turned into one of the faults that apply to it (None if none does)."""
        kinds = list(self.behaviour.fault_kinds)
        self._mishaps.shuffle(kinds)
        for name in kinds:
            try:
                case = faults.FAULTS[name](msg, self.behaviour.encoding)
            except ValueError:  # e.g. unequal arrays need a telemetry message
                continue
            publication = Publication(case.topic, case.payload, 1, False)
            return Outgoing(
                true_s, publication, "fault", msg["boot"], msg["seq"], fault=case.expected_reason
            )
        return None

    # --- messages --------------------------------------------------------------------------

    def telemetry(self, chunk: SignalChunk) -> Iterator[Outgoing]:
        """Frames of ``chunk`` grouped into uploads; each is built when its last sample is in."""
        cfg = self.config
        frames: list[p.WalkerFrame] = []
        for window in chunk.windows(cfg.frame_s):
            frames.append(self._frame(window))
            if len(frames) == cfg.frames_per_upload:
                yield self._upload(frames, float(window.t_s[-1]) + 1.0 / chunk.fs_hz)
                frames = []
        if frames:
            yield self._upload(frames, float(chunk.t_s[-1]) + 1.0 / chunk.fs_hz)

    def _frame(self, window: SignalChunk) -> p.WalkerFrame:
        # The firmware saturates at the protocol's limits, as the sensors' full scale would.
        lim = p.SAMPLE_LIMITS
        odo = np.column_stack([window.wheel_left_m, window.wheel_right_m])
        force = np.column_stack([window.force_left_n, window.force_right_n])
        return p.WalkerFrame(
            t0=self.device_time(float(window.t_s[0])),
            rate_hz=window.fs_hz,
            acc_m_s2=np.clip(window.acc_mps2, *lim["acc"]),
            gyro_rad_s=np.clip(window.gyro_radps, *lim["gyro"]),
            odo_m=np.clip(odo, *lim["odo"]),
            force_n=np.clip(force, *lim["force"]),
            brake=window.brake_engaged,
        )

    def _upload(self, frames: list[p.WalkerFrame], true_s: float) -> Outgoing:
        seq = self._next_seq()
        msg = p.walker_telemetry(self.device_id, self.boot, seq, self.device_time(true_s), frames)
        return self._out(true_s, msg, "telemetry", len(frames))

    def _update_battery(self, true_s: float, state: str) -> bool:
        """Battery since the last status, at the rate of the state the device was in; True
        while charging. Assumed, not measured: about 4 %/h in use, 0.3 %/h asleep, +25 %/h on
        the charger, where a sleeping walker goes at night (22-06 h local, approximated as
        UTC+1) or when it is low."""
        last_s, last_state = self._battery_state
        hours = max(0.0, true_s - last_s) / 3600.0 if last_s is not None else 0.0
        night = last_s is not None and not 5 <= (last_s / 3600.0 + 1.0) % 24.0 < 21
        charging = last_state == "sleeping" and (night or self.battery_pct < 20.0)
        rate = 25.0 if charging else (-4.0 if last_state == "online" else -0.3)
        self.battery_pct = float(np.clip(self.battery_pct + rate * hours, 1.0, 100.0))
        self._battery_state = (true_s, state)
        return charging and self.battery_pct < 100.0

    def status(self, true_s: float, state: str, *, rssi_dbm: float = -65.0) -> Outgoing:
        """A full status message (retained), acknowledging the config the device runs."""
        charging = self._update_battery(true_s, state)
        seq = self._next_seq()
        msg = p.device_status(
            self.device_id, self.boot, seq, self.device_time(true_s),
            at=self.device_time(true_s), state=state,  # type: ignore[arg-type]
            battery_pct=self.battery_pct, charging=charging,
            firmware=FIRMWARE[self.kind], rssi_dbm=rssi_dbm, buffered_n=len(self.buffer),
            clock_offset_ms=1000 * self.clock_offset_s(true_s), config_id=self.config.config_id,
        )  # fmt: skip
        return self._out(true_s, msg, "status")

    def event(self, true_s: float, builder: Any, **fields: Any) -> Outgoing:
        """A robot event made with one of firmware_sim.protocol's ``robot_*`` builders."""
        seq = self._next_seq()
        now = self.device_time(true_s)
        msg = builder(self.device_id, self.boot, seq, now, **fields)
        return self._out(true_s, msg, "events")

    def will(self, connected_true_s: float) -> Publication:
        """The last will to register when connecting."""
        msg = p.offline_will(
            self.device_id, self.boot, connected_at=self.device_time(connected_true_s, sync=False)
        )
        return Publication(
            p.topic(self.device_id, "status"), p.encode(msg, self.behaviour.encoding), 1, True
        )

    # --- offline buffer --------------------------------------------------------------------

    def keep(self, item: Outgoing) -> None:
        """Buffer a message while offline; when full, the oldest message of the first kind in
        :data:`_DROP_FIRST` goes (robot events last)."""
        if len(self.buffer) >= BUFFER_LIMIT:
            for kind in _DROP_FIRST:
                i = next((i for i, old in enumerate(self.buffer) if old.kind == kind), None)
                if i is not None:
                    del self.buffer[i]
                    break
            else:
                self.buffer.popleft()
            self.dropped_from_buffer += 1
        self.buffer.append(item)

    def covered(self, item: Outgoing) -> bool:
        """Whether the backend's ack watermark covers ``item``."""
        return self.ack_mark is not None and (item.boot, item.seq) <= self.ack_mark

    def acknowledged_to(self, boot: int, seq: int) -> list[tuple[int, int]]:
        """The backend committed everything up to (boot, seq): forget what that covers and
        return those keys."""
        if self.ack_mark is None or (boot, seq) > self.ack_mark:
            self.ack_mark = (boot, seq)
        done = [key for key in self.unconfirmed if key <= self.ack_mark]
        for key in done:
            del self.unconfirmed[key]
        return done

    def overdue(self, older_than: float) -> list[Outgoing]:
        """Take back the uncovered messages whose PUBACK came before ``older_than``, oldest
        first, for replay."""
        late = sorted(k for k, (_item, at) in self.unconfirmed.items() if at < older_than)
        return [self.unconfirmed.pop(k)[0] for k in late]

    def requeue(self, unacknowledged: list[Outgoing]) -> None:
        """Put messages whose PUBACK never came back at the front, oldest first."""
        self.buffer.extendleft(reversed(unacknowledged))

    def duplicate(self) -> bool:
        """Whether the message just delivered goes out once more (its PUBACK was lost)."""
        return (
            bool(self.behaviour.duplicate_rate)
            and self._mishaps.random() < self.behaviour.duplicate_rate
        )
