"""A whole simulated world: wards, stays, walkers and robots, and what happens each day.

:class:`World` is the entry point for the device layer. It is deterministic in its
config: every day, device and session can be produced on its own, in any order.

Typical use by the device layer::

    world = World(WorldConfig(start=..., days=28, n_stays=60, seed=1))
    for day in world.local_dates():
        for device_id in world.walkers:
            wd = world.walker_day(device_id, day)
            for exc in world.iter_walker_signals(device_id, day):
                for frame in exc.signals.windows(1.0):
                    ...  # publish; the device sleeps during wd.parked_periods()
        for session in world.robot_sessions_for(robot_id, day): ...
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from firmware_sim.world._rng import derive_rng
from firmware_sim.world._time import DEFAULT_TZ, from_epoch_s, local_day_bounds_s, to_epoch_s
from firmware_sim.world.devices import WalkerHardware, make_walker
from firmware_sim.world.residents import RecoveryModel, Stay, simulate_stays
from firmware_sim.world.robot import RobotCandidate, RobotSession, plan_robot_sessions
from firmware_sim.world.routine import DayPlan, plan_day
from firmware_sim.world.signals import ExcursionSignals, excursion_truth, iter_day_signals
from firmware_sim.world.truth import AssignmentTruth, TruthLog

__all__ = ["WalkerDay", "World", "WorldConfig", "assign_walkers"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorldConfig:
    """Everything that defines a simulated world.

    Attributes
    ----------
    start : datetime
        Timezone-aware start of the period (local midnight is a good choice).
    days : int
        Length of the period in local days.
    n_stays : int
        Admissions over the period (spread over the wards).
    seed : int
    effect : float
        Relative increase of the recovery rate at full device adherence.
    intervention : bool or float
        All stays in the arm, none, or a randomisation probability.
    wards : tuple of str
    walkers_per_ward : int
    tz_name : str
    fs_hz : float
        Walker sampling rate.
    model : RecoveryModel
    """

    start: datetime
    days: int
    n_stays: int
    seed: int = 0
    effect: float = 0.0
    intervention: bool | float = True
    wards: tuple[str, ...] = ("ward-a", "ward-b")
    walkers_per_ward: int = 8
    tz_name: str = DEFAULT_TZ
    fs_hz: float = 50.0
    model: RecoveryModel = field(default_factory=RecoveryModel)


@dataclass(frozen=True)
class WalkerDay:
    """A walker's local day: whose it is, what they do with it, when it sleeps.

    ``plan`` is None when the walker is not assigned to anyone present that day; it is
    then parked all day. Excursions before the assignment's ``valid_from`` are removed
    (the resident did not have the smart walker yet).
    """

    device_id: str
    local_date: date
    day_start_s: float
    day_end_s: float
    plan: DayPlan | None
    assignment: AssignmentTruth | None

    def parked_periods(self) -> list[tuple[float, float]]:
        """Periods with the walker parked and its device asleep (epoch seconds)."""
        if self.plan is None:
            return [(self.day_start_s, self.day_end_s)]
        return self.plan.parked_periods()


def assign_walkers(
    stays: list[Stay], walkers_by_ward: dict[str, list[str]], seed: int
) -> list[AssignmentTruth]:
    """Hand walkers to stays in the intervention arm, ward by ward, first come first served.

    The walker is delivered and registered 1-4 h after admission and returned at
    discharge; it is cleaned and available again from the next day. Stays that find no
    free walker get none (logged).
    """
    rng = derive_rng(seed, 31)
    free_at = {d: float("-inf") for ids in walkers_by_ward.values() for d in ids}
    out: list[AssignmentTruth] = []
    missed = 0
    for stay in sorted(stays, key=lambda s: s.admitted_at):
        delay_s = float(rng.uniform(3600.0, 4 * 3600.0))  # drawn for every stay: stable
        if not stay.intervention:
            continue
        handover = to_epoch_s(stay.admitted_at) + delay_s
        if stay.discharged_at is not None and handover >= to_epoch_s(stay.discharged_at):
            continue
        ready = [d for d in walkers_by_ward.get(stay.ward, []) if free_at[d] <= handover]
        if not ready:
            logger.debug("no free walker on %s for stay %s", stay.ward, stay.stay_id)
            missed += 1
            continue
        device = min(ready, key=lambda d: (free_at[d], d))
        end = None if stay.discharged_at is None else to_epoch_s(stay.discharged_at)
        free_at[device] = float("inf") if end is None else end + 86400.0
        out.append(
            AssignmentTruth(
                device_id=device,
                pseudonym=stay.resident.pseudonym,
                valid_from=from_epoch_s(handover),
                valid_to=stay.discharged_at,
            )
        )
    if missed:
        logger.warning("%d intervention stays got no walker: add walkers per ward", missed)
    return out


class World:
    """A deterministic simulated municipality (see the module docstring for use).

    Attributes
    ----------
    config : WorldConfig
    stays : list of Stay
    walkers : dict of str to WalkerHardware
        Keyed by device id (``walker-<ward>-NN``).
    robots : dict of str to str
        Robot id (``robot-<ward>``) to ward.
    assignments : list of AssignmentTruth
    """

    def __init__(self, config: WorldConfig) -> None:
        for ward in config.wards:
            # Ward names become part of device and session ids (docs/protocol.md patterns).
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,40}", ward):
                raise ValueError(f"ward name {ward!r}: use letters, digits, '_' and '-'")
        self.config = config
        self.tz = ZoneInfo(config.tz_name)
        self.stays = simulate_stays(
            config.n_stays,
            config.start,
            config.days,
            config.effect,
            config.intervention,
            config.seed,
            wards=config.wards,
            tz_name=config.tz_name,
            model=config.model,
        )
        by_ward = {
            w: [f"walker-{w}-{k + 1:02d}" for k in range(config.walkers_per_ward)]
            for w in config.wards
        }
        self.walkers: dict[str, WalkerHardware] = {
            d: make_walker(d, config.seed) for ids in by_ward.values() for d in ids
        }
        self.walker_ward = {d: w for w, ids in by_ward.items() for d in ids}
        self.robots: dict[str, str] = {f"robot-{w}": w for w in config.wards}
        self.assignments = assign_walkers(self.stays, by_ward, config.seed)
        self._stay_by_pseudonym = {s.resident.pseudonym: s for s in self.stays}
        self._sessions: dict[tuple[str, date], list[RobotSession]] = {}

    def local_dates(self) -> list[date]:
        """The local calendar dates of the period."""
        first = self.config.start.astimezone(self.tz).date()
        return [first + timedelta(days=k) for k in range(self.config.days)]

    def stays_on(self, ward: str, day: date) -> list[Stay]:
        """Stays present on a ward during (part of) a local day."""
        return [s for s in self.stays if s.ward == ward and s.presence_s(day) is not None]

    def robot_sessions(self, ward: str, day: date) -> list[RobotSession]:
        """The ward robot's sessions of a day (computed once, then cached)."""
        key = (ward, day)
        if key not in self._sessions:
            cands = []
            for s in self.stays_on(ward, day):
                presence = s.presence_s(day)
                speed = s.gait_speed_on(day)
                if presence is None or speed is None:
                    continue
                cands.append(
                    RobotCandidate(
                        pseudonym=s.resident.pseudonym,
                        gait_speed_mps=speed,
                        age_y=float(day.year - s.resident.birth_year),
                        present_from_s=presence[0],
                        present_to_s=presence[1],
                    )
                )
            robot_id = f"robot-{ward}"
            self._sessions[key] = plan_robot_sessions(
                robot_id, ward, day, cands, seed=self.config.seed, tz_name=self.config.tz_name
            )
        return self._sessions[key]

    def robot_sessions_for(self, robot_id: str, day: date) -> list[RobotSession]:
        """Sessions of a robot (by id) on a local day."""
        return self.robot_sessions(self.robots[robot_id], day)

    def day_plan(self, stay: Stay, day: date) -> DayPlan | None:
        """A resident's day, with the robot sessions they attend as appointments."""
        who = stay.resident.pseudonym
        appointments = tuple(
            (s.start_s, s.end_s, s.session_id)
            for s in self.robot_sessions(stay.ward, day)
            if who in s.participants
        )
        return plan_day(stay, day, seed=self.config.seed, appointments=appointments)

    def _assignment_on(
        self, device_id: str, day_start_s: float, day_end_s: float
    ) -> AssignmentTruth | None:
        for a in self.assignments:
            if a.device_id != device_id:
                continue
            lo = to_epoch_s(a.valid_from)
            hi = float("inf") if a.valid_to is None else to_epoch_s(a.valid_to)
            if lo < day_end_s and day_start_s < hi:
                return a
        return None

    def walker_day(self, device_id: str, day: date) -> WalkerDay:
        """The walker's day: its assignment, the resident's plan, and sleep periods."""
        start_s, end_s = local_day_bounds_s(day, self.tz)
        a = self._assignment_on(device_id, start_s, end_s)
        plan = None
        if a is not None:
            plan = self.day_plan(self._stay_by_pseudonym[a.pseudonym], day)
            if plan is not None:
                valid_from = to_epoch_s(a.valid_from)
                plan = replace(
                    plan, excursions=tuple(e for e in plan.excursions if e.start_s >= valid_from)
                )
        return WalkerDay(device_id, day, start_s, end_s, plan, a)

    def iter_walker_signals(self, device_id: str, day: date) -> Iterator[ExcursionSignals]:
        """Yield the walker's awake periods of a day with samples and truth, in order."""
        wd = self.walker_day(device_id, day)
        if wd.plan is not None:
            yield from iter_day_signals(self.walkers[device_id], wd.plan, self.config.fs_hz)

    def day_truth(self, day: date) -> TruthLog:
        """The truth of a local day (walker uses, bouts, steps, transitions, robot sessions).

        Computed without rendering sensors; identical to the truth attached to the
        signals from :meth:`iter_walker_signals`.
        """
        log = TruthLog()
        for device_id in self.walkers:
            wd = self.walker_day(device_id, day)
            if wd.plan is None:
                continue
            for exc in wd.plan.excursions:
                log.add_excursion(
                    device_id, excursion_truth(exc, wd.plan.stay.resident, self.config.fs_hz)
                )
        for ward in self.config.wards:
            for session in self.robot_sessions(ward, day):
                log.add_robot_session(session)
        return log

    def stay_truth(self) -> TruthLog:
        """Stays (with outcomes) and device assignments."""
        log = TruthLog()
        log.add_stays(self.stays)
        log.add_assignments(self.assignments)
        return log
