"""A simulated municipality's devices over days: what each device sends, and when.

For every walker and robot of a :class:`~firmware_sim.world.World` and each local day, a
generator yields, in the device's own time order, the messages its firmware builds (telemetry
while in use, robot events, a status on each change and every 5 minutes) together with the
events that change its connection: outages (the device buffers, then replays) and reboots (the
boot counter goes up). The runner merges all devices in time order and moves the messages onto
the broker, as fast as it takes them (accelerated history) or at the wall clock (real time).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from firmware_sim import protocol as p
from firmware_sim.device import DeviceBehaviour, Outgoing, SimDevice
from firmware_sim.pump import Pump
from firmware_sim.world import (
    ExerciseBlock,
    RobotSession,
    SitToStandTest,
    World,
    derive_rng,
    local_day_bounds_s,
    str_key,
    write_truth,
)

log = logging.getLogger(__name__)

STATUS_INTERVAL_S = 300.0


@dataclass(frozen=True)
class Control:
    """A change of a device's connection at true time ``true_s``."""

    true_s: float
    action: str  # offline | online | reboot


@dataclass
class Imperfections:
    """How often devices misbehave (per device and day)."""

    outages_per_day: float = 0.3
    outage_min_s: float = 120.0
    outage_max_s: float = 3 * 3600.0
    reboots_per_day: float = 0.05


@dataclass
class RunStats:
    """What a run sent, for progress output and checks."""

    days: int = 0
    messages: int = 0
    frames: int = 0
    faults: int = 0
    reboots: int = 0
    outages: int = 0
    started: float = field(default_factory=time.monotonic)


Item = Outgoing | Control


def _timeline(
    device: SimDevice, day_start_s: float, day_end_s: float, imperfect: Imperfections,
    rng: np.random.Generator,
) -> list[Control]:  # fmt: skip
    events: list[Control] = []
    for _ in range(int(rng.poisson(imperfect.outages_per_day))):
        start = float(rng.uniform(day_start_s, day_end_s))
        length = float(rng.uniform(imperfect.outage_min_s, imperfect.outage_max_s))
        events += [Control(start, "offline"), Control(min(start + length, day_end_s - 1), "online")]
    for _ in range(int(rng.poisson(imperfect.reboots_per_day))):
        events.append(Control(float(rng.uniform(day_start_s, day_end_s)), "reboot"))
    return sorted(events, key=lambda c: c.true_s)


def _with_statuses(
    device: SimDevice, items: Iterator[Outgoing | Control], awake: list[tuple[float, float]],
    day_start_s: float, day_end_s: float,
) -> Iterator[Item]:  # fmt: skip
    """Interleave statuses: on each wake and sleep and every 5 minutes, in time order."""
    marks: list[tuple[float, str]] = []
    t = day_start_s
    while t < day_end_s:
        state = "online" if any(a <= t < b for a, b in awake) else "sleeping"
        marks.append((t, state))
        t += STATUS_INTERVAL_S
    for a, b in awake:
        marks += [(a, "online"), (b, "sleeping")]
    marks.sort()
    pending = iter(marks)
    mark = next(pending, None)
    for item in items:
        while mark is not None and mark[0] <= item.true_s:
            yield device.status(mark[0], mark[1])
            mark = next(pending, None)
        yield item
    while mark is not None:
        yield device.status(mark[0], mark[1])
        mark = next(pending, None)


def _apply_controls(
    device: SimDevice, items: Iterator[Outgoing], controls: list[Control]
) -> Iterator[Item]:
    """Merge connection events into a device's messages; a reboot takes effect at its time."""
    pending = iter(controls)
    control = next(pending, None)
    for item in items:
        while control is not None and control.true_s <= item.true_s:
            if control.action == "reboot":
                device.reboot()
            yield control
            control = next(pending, None)
        yield item
    while control is not None:
        if control.action == "reboot":
            device.reboot()
        yield control
        control = next(pending, None)


def walker_day(
    world: World, device: SimDevice, day: date, imperfect: Imperfections
) -> Iterator[Item]:
    """Everything a walker does on a local day, in time order."""
    wd = world.walker_day(device.device_id, day)
    rng = derive_rng(world.config.seed, 31, str_key(device.device_id), day.toordinal())
    controls = _timeline(device, wd.day_start_s, wd.day_end_s, imperfect, rng)
    awake = [(e.start_s, e.end_s) for e in wd.plan.excursions] if wd.plan is not None else []

    def telemetry() -> Iterator[Outgoing]:
        for excursion in world.iter_walker_signals(device.device_id, day):
            yield from device.telemetry(excursion.signals)

    # Controls are applied while the messages are built, so a reboot changes the boot counter
    # of everything after it; statuses are interleaved the same way.
    built = _apply_controls(device, telemetry(), controls)
    yield from _with_statuses(device, built, awake, wd.day_start_s, wd.day_end_s)


def robot_day(
    world: World, device: SimDevice, day: date, imperfect: Imperfections
) -> Iterator[Item]:
    """A ward robot's sessions of a local day as protocol events, with statuses."""
    sessions = world.robot_sessions_for(device.device_id, day)
    day_start_s, day_end_s = local_day_bounds_s(day, world.tz)
    rng = derive_rng(world.config.seed, 32, str_key(device.device_id), day.toordinal())
    controls = _timeline(device, day_start_s, day_end_s, imperfect, rng)
    awake = [(s.start_s, s.end_s) for s in sessions]
    built = _apply_controls(device, _session_events(device, sessions), controls)
    yield from _with_statuses(device, built, awake, day_start_s, day_end_s)


def _session_events(device: SimDevice, sessions: list[RobotSession]) -> Iterator[Outgoing]:
    """Each session as the protocol's events: start, one per finished exercise block or
    sit-to-stand test (sent when it ends), end."""
    t = device.device_time
    for s in sessions:
        yield device.event(
            s.start_s, p.robot_session_start, at=t(s.start_s), session_id=s.session_id,
            program="activation", mode=s.kind, participants=list(s.participants),
        )  # fmt: skip
        finished: list[tuple[float, ExerciseBlock | SitToStandTest]] = [
            (b.end_s, b) for b in s.blocks
        ]
        finished += [(x.start_s + x.duration_s, x) for x in s.sts_tests if x.duration_s]
        for end_s, what in sorted(finished, key=lambda pair: pair[0]):
            if isinstance(what, ExerciseBlock):
                # A balance hold has no repetitions on the wire (docs/simulator.md).
                reps = [] if what.exercise == "balance" else [t(r.end_s) for r in what.repetitions]
                yield device.event(
                    end_s, p.robot_exercise, at=t(end_s), session_id=s.session_id,
                    participant=what.pseudonym, exercise=what.exercise,
                    started_at=t(what.start_s), ended_at=t(what.end_s), rep_times=reps,
                )  # fmt: skip
            else:
                yield device.event(
                    end_s, p.robot_sit_to_stand_test, at=t(end_s), session_id=s.session_id,
                    participant=what.pseudonym, started_at=t(what.start_s),
                    rep_times=[t(x) for x in what.stand_times_s], total_s=what.duration_s,
                )  # fmt: skip
        yield device.event(
            s.end_s, p.robot_session_end, at=t(s.end_s), session_id=s.session_id,
            ended_reason="completed",
        )  # fmt: skip


def make_devices(world: World, behaviour: DeviceBehaviour) -> dict[str, SimDevice]:
    """The firmware state of every walker and robot of the world."""
    ids = [(d, "walker") for d in world.walkers] + [(r, "robot") for r in world.robots]
    return {
        d: SimDevice(d, kind, derive_rng(world.config.seed, 33, str_key(d)), behaviour)
        for d, kind in ids
    }


def device_ids(world: World) -> dict[str, str]:
    """Every device id of the world with its kind."""
    return {**dict.fromkeys(world.walkers, "walker"), **dict.fromkeys(world.robots, "robot")}


def run(
    world: World,
    pump: Pump,
    *,
    imperfect: Imperfections,
    follow: bool = False,
    truth: Path | None = None,
    max_backlog: int = 5000,
    progress: Callable[[RunStats], None] | None = None,
    stop: Callable[[], bool] = lambda: False,
    since: float | None = None,
    checkpoint: Callable[[float], None] | None = None,
    checkpoint_interval_s: float = 10.0,
    pace: Callable[[], None] | None = None,
) -> RunStats:
    """Send the world's days through ``pump``: the past as fast as the broker takes it (devices
    replaying history), then, with ``follow``, the rest of the period at the wall clock.

    ``since`` (epoch seconds) resumes a run: what the devices did before it is not sent (days
    before it are not even simulated). ``checkpoint`` is called with a true time up to which
    every message the run made has been acknowledged by the broker: at the end of each day, in
    real time at most every ``checkpoint_interval_s`` (when nothing is in flight), and at the
    end. A run resumed from the last checkpoint sends nothing twice. ``pace`` is called every
    500 messages and may wait, to keep the run from going faster than the backend stores."""
    stats = RunStats()
    if truth is not None:
        write_truth(truth, world.stay_truth())
    begin = world.config.start.timestamp() if since is None else since
    pump.connect(list(pump.devices), begin)
    online = dict.fromkeys(pump.devices, True)
    done_to = begin
    next_checkpoint = 0.0
    for day in world.local_dates():
        if stop():
            break
        day_start_s, day_end_s = local_day_bounds_s(day, world.tz)
        if day_end_s <= begin:
            continue
        if day_start_s > time.time() and not follow:
            break
        if truth is not None:
            write_truth(truth, world.day_truth(day), append=True)
        streams = [_stream(world, d, day, imperfect) for d in pump.devices.values()]
        for true_s, device_id, item in heapq.merge(*streams, key=lambda x: x[0]):
            if since is not None and true_s <= since:
                continue  # made before the resumed run: sent by the run before
            if stop() or (true_s > time.time() and not follow):
                break
            # About to wait for the clock (live): a checkpoint if nothing is in flight.
            live = checkpoint is not None and true_s > time.time()
            if live and time.monotonic() >= next_checkpoint and _settled(pump, 2.0):
                assert checkpoint is not None
                # Everything before now is sent: the next message lies in the future.
                done_to = max(done_to, time.time())
                checkpoint(done_to)
                next_checkpoint = time.monotonic() + checkpoint_interval_s
            _sleep_until(true_s, pump, stop)  # returns at once for the past
            if stop():
                break
            done_to = true_s
            if isinstance(item, Control):
                _control(pump, device_id, item, online, stats)
                continue
            pump.offer(device_id, item)
            stats.messages += 1
            stats.frames += item.n_frames
            stats.faults += item.fault is not None
            if pump.backlog() > max_backlog:
                while pump.backlog() > max_backlog // 2:
                    pump.flush()
                    pump.fleet.poll(0.005)
            elif stats.messages % 50 == 0:
                pump.flush()
            if pace is not None and stats.messages % 500 == 0:
                pace()
        pump.flush()
        if checkpoint is not None and not stop():
            pump.drain(timeout_s=600)
            checkpoint(done_to)
        stats.days += 1
        if progress is not None:
            progress(stats)
    for device_id, is_online in online.items():
        if not is_online:
            pump.connect([device_id], time.time())
    pump.drain(timeout_s=600)
    if checkpoint is not None:
        checkpoint(done_to)
    return stats


def _stream(
    world: World, device: SimDevice, day: date, imperfect: Imperfections
) -> Iterator[tuple[float, str, Item]]:
    make = walker_day if device.kind == "walker" else robot_day
    for item in make(world, device, day, imperfect):
        yield item.true_s, device.device_id, item


def _control(
    pump: Pump, device_id: str, control: Control, online: dict[str, bool], stats: RunStats
) -> None:
    if control.action == "offline" and online[device_id]:
        pump.drop(device_id)
        online[device_id] = False
        stats.outages += 1
    elif control.action == "online" and not online[device_id]:
        pump.connect([device_id], control.true_s)
        online[device_id] = True
    elif control.action == "reboot":
        stats.reboots += 1
        if online[device_id]:
            pump.drop(device_id)  # power lost: no DISCONNECT, the broker sends the will
            pump.connect([device_id], control.true_s)


def _settled(pump: Pump, timeout_s: float) -> bool:
    """Publish until nothing that can go out is buffered or in flight; False if that takes
    over ``timeout_s``. A device in an outage (up to 3 hours) keeps its buffer: waiting for it
    held the checkpoint, and a demo's readiness, until the outage ended."""
    deadline = time.monotonic() + timeout_s
    while pump.sendable():
        if time.monotonic() > deadline:
            return False
        pump.flush()
        pump.fleet.poll(0.01)
    return True


def _sleep_until(true_s: float, pump: Pump, stop: Callable[[], bool]) -> None:
    while (wait := true_s - time.time()) > 0 and not stop():
        pump.flush()
        pump.fleet.poll(min(wait, 0.2))
