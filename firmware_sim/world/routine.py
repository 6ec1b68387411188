"""Daily routine of a resident on a short-term stay, in local time.

A :class:`DayPlan` covers one local calendar day (23, 24 or 25 hours) and holds

* context activities (night rest, meals, therapy, nap, appointments such as robot
  sessions) when the resident is in bed or seated and the walker is parked, and
* walker uses (:class:`Excursion`): from the moment the walker is touched until it is
  let go. Each is a contiguous list of :class:`Segment` (grab, sit-to-stand, stand, walk,
  pauses, stand-to-sit, release). Between excursions the walker is parked and its
  device sleeps (:meth:`DayPlan.parked_periods`).

Walking bouts are short (median about 33 s, long tail) and their number and total time
rise with the day's gait speed. Sources in ``docs/simulator.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from firmware_sim.world._rng import derive_rng, str_key
from firmware_sim.world._time import local_day_bounds_s, local_wall_time_s
from firmware_sim.world.gait import Turn, turn_duration_s
from firmware_sim.world.residents import Stay

__all__ = [
    "BOUT_DURATION_LOG_SD",
    "BOUT_DURATION_MEDIAN_S",
    "MIN_PAUSE_S",
    "Activity",
    "DayPlan",
    "Excursion",
    "Segment",
    "SegmentKind",
    "draw_bout_durations_s",
    "expected_walking_min",
    "plan_day",
]

SegmentKind = Literal["grab", "sit_to_stand", "stand", "walk", "stand_to_sit", "release", "push"]
ActivityKind = Literal["night_rest", "meal", "therapy", "nap", "appointment"]

BOUT_DURATION_MEDIAN_S = 33.0
"""Median walking-bout duration (Tommasini et al. 2022: 33 s in older inpatients)."""
BOUT_DURATION_LOG_SD = 0.85
"""Log-normal shape of bout durations (assumption: 70 % of bouts < 60 s, long tail)."""
BOUT_DURATION_RANGE_S = (6.0, 900.0)
MIN_PAUSE_S = 4.0
"""Standing pauses within an excursion last at least this long, so they split bouts."""
_GAP_S = 45.0


@dataclass(frozen=True)
class Segment:
    """A contiguous piece of an excursion.

    Attributes
    ----------
    kind : {"grab", "sit_to_stand", "stand", "walk", "stand_to_sit", "release", "push"}
        ``push`` is staff moving the parked walker: motion without steps.
    start_s, end_s : float
        Epoch seconds.
    brake_engaged : bool
    speed_mps : float
        Gait speed of a ``walk`` (or the push speed); 0 otherwise.
    turns : tuple of Turn
    """

    kind: SegmentKind
    start_s: float
    end_s: float
    brake_engaged: bool
    speed_mps: float = 0.0
    turns: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class Excursion:
    """One use of the walker: the device is awake from ``start_s`` to ``end_s``.

    ``seed`` fixes every random detail of the excursion's steps and signals, so it can be
    synthesised on its own, in any order.
    """

    start_s: float
    end_s: float
    purpose: str
    segments: tuple[Segment, ...]
    seed: int

    @property
    def walks(self) -> tuple[Segment, ...]:
        """The walking segments (one truth bout each)."""
        return tuple(s for s in self.segments if s.kind == "walk")


@dataclass(frozen=True)
class Activity:
    """A context activity during which the walker is parked."""

    kind: ActivityKind
    start_s: float
    end_s: float
    label: str = ""


@dataclass(frozen=True)
class DayPlan:
    """A resident's local day.

    Attributes
    ----------
    stay : Stay
    local_date : date
    day_start_s, day_end_s : float
        Local midnight to next local midnight (epoch seconds).
    present_from_s, present_to_s : float
        The part of the day on the ward (admission or discharge may cut it).
    gait_speed_mps : float
        Usual gait speed of the day.
    activities : tuple of Activity
    excursions : tuple of Excursion
        Sorted, non-overlapping, inside the presence window.
    """

    stay: Stay
    local_date: date
    day_start_s: float
    day_end_s: float
    present_from_s: float
    present_to_s: float
    gait_speed_mps: float
    activities: tuple[Activity, ...]
    excursions: tuple[Excursion, ...]

    @property
    def walking_s(self) -> float:
        """Planned walking time (sum of walk segments)."""
        return sum(w.end_s - w.start_s for e in self.excursions for w in e.walks)

    def parked_periods(self) -> list[tuple[float, float]]:
        """Return the periods of the local day when the walker is parked (device asleep).

        The excursions and these periods tile ``[day_start_s, day_end_s)`` exactly.
        """
        out: list[tuple[float, float]] = []
        t = self.day_start_s
        for e in self.excursions:
            if e.start_s > t:
                out.append((t, e.start_s))
            t = max(t, e.end_s)
        if t < self.day_end_s:
            out.append((t, self.day_end_s))
        return out


def expected_walking_min(speed_mps: float) -> float:
    """Expected walking minutes per day at a usual gait speed.

    ``45 * (v / 0.8) ** 1.6``: about 10 min/day at 0.3 m/s (Peel et al. 2016 report a
    median of ~10 min/day at the start of geriatric rehabilitation) rising to ~30 min at
    0.6-0.65 m/s (26-32 min/day by day 28 in the same study). The exponent is our fit.
    """
    return float(45.0 * (max(speed_mps, 0.05) / 0.8) ** 1.6)


def draw_bout_durations_s(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    """Draw ``n`` walking-bout durations (log-normal, clipped to 6-900 s)."""
    lo, hi = BOUT_DURATION_RANGE_S
    d = BOUT_DURATION_MEDIAN_S * np.exp(BOUT_DURATION_LOG_SD * rng.standard_normal(n))
    return np.clip(d, lo, hi)


@dataclass
class _Candidate:
    desired_s: float
    purpose: str
    bouts_s: list[float]
    priority: int
    sit_start: bool = True
    sit_end: bool = True
    in_block_ok: bool = False
    therapy: bool = False
    push: bool = False


def _sts_duration_s(speed_mps: float, rng: np.random.Generator) -> float:
    """Sit-to-stand with a walker: about 2 s when fit, 4 s when frail (assumption)."""
    frailty = min(max((0.8 - speed_mps) / 0.6, 0.0), 1.0)
    return float(np.clip((2.0 + 2.0 * frailty) * math.exp(0.12 * rng.standard_normal()), 1.6, 5.5))


def _bout_speed_mps(day_speed: float, duration_s: float, rng: np.random.Generator) -> float:
    # Short bouts are slower (Del Din et al. 2016: gait speed rises with bout length).
    f = 0.85 + 0.15 * (1.0 - math.exp(-duration_s / 40.0))
    return float(np.clip(day_speed * f * math.exp(0.06 * rng.standard_normal()), 0.12, 1.3))


def _turns(duration_s: float, speed_mps: float, rng: np.random.Generator) -> tuple[Turn, ...]:
    """Turns in a bout: one per ~8 m of corridor, plus a turn-around in half the bouts."""
    n = int(rng.poisson(duration_s * speed_mps / 8.0)) + int(
        duration_s > 15.0 and rng.random() < 0.5
    )
    turns: list[Turn] = []
    t = 1.5
    for _ in range(n):
        u = rng.random()
        angle = math.pi / 2 if u < 0.7 else (math.pi if u < 0.95 else math.pi / 4)
        angle *= 1.0 if rng.random() < 0.5 else -1.0
        dur = turn_duration_s(angle, speed_mps)
        room = duration_s - 1.5 - t - dur
        if room <= 0:
            break
        start = t + room * min(rng.random(), 1.0) / max(n - len(turns), 1)
        turns.append(Turn(offset_s=start, duration_s=dur, angle_rad=angle))
        t = start + dur + 0.5
    return tuple(turns)


def _build(
    cand: _Candidate, start_s: float, speed: float, rng: np.random.Generator, seed: int
) -> Excursion:
    """Lay out the segments of an excursion from its start time."""
    segs: list[Segment] = []
    t = start_s

    def add(
        kind: SegmentKind, dur: float, brake: bool, v: float = 0.0, turns: tuple[Turn, ...] = ()
    ) -> None:
        nonlocal t
        segs.append(Segment(kind, t, t + dur, brake, v, turns))
        t += dur

    if cand.push:
        add("grab", float(rng.uniform(0.5, 1.5)), False)
        dur = float(rng.uniform(4.0, 20.0))
        add("push", dur, False, float(rng.uniform(0.5, 1.0)))
        add("release", float(rng.uniform(0.5, 1.5)), False)
    else:
        add("grab", float(rng.uniform(1.0, 3.0)), True)
        if cand.sit_start:
            add("sit_to_stand", _sts_duration_s(speed, rng), True)
        add("stand", float(rng.uniform(1.5, 5.0)), True)
        for i, dur in enumerate(cand.bouts_s):
            if i > 0:
                add("stand", MIN_PAUSE_S + float(rng.exponential(6.0)), False)
            v = _bout_speed_mps(speed, dur, rng) * (1.05 if cand.therapy else 1.0)
            add("walk", dur, False, v, _turns(dur, v, rng))
        if not cand.bouts_s:  # standing only: at the sink, a transfer
            add("stand", float(rng.uniform(10.0, 90.0)), False)
        add("stand", float(rng.uniform(1.0, 4.0)), True)
        if cand.sit_end:
            add("stand_to_sit", 0.9 * _sts_duration_s(speed, rng), True)
        add("release", float(rng.uniform(0.8, 2.5)), True)
    return Excursion(start_s, t, cand.purpose, tuple(segs), seed)


def plan_day(
    stay: Stay,
    day: date,
    *,
    seed: int,
    appointments: tuple[tuple[float, float, str], ...] = (),
    walking_min: float | None = None,
) -> DayPlan | None:
    """Plan a resident's local day: activities and walker uses.

    1. Wake-up (~07:00) and bedtime (~21:30), Norwegian nursing-home meal times
       (breakfast ~08:15, dinner ~13:30, coffee ~15:30, supper ~18:30), an after-dinner
       nap for half the residents, physiotherapy on weekdays (most rehabilitation stays,
       a third of the others) and the given appointments.
    2. A walking budget: :func:`expected_walking_min` of the day's gait speed times the
       resident's activity propensity and a day-to-day log-normal factor.
    3. Candidate walker uses: to and from every meal/therapy/appointment/nap, the
       morning bathroom visit, toilet visits, bedtime, night toilet visits (nocturia),
       stand-only uses and, rarely, staff moving the walker. Each gets 1-3 bouts drawn
       from the bout-duration distribution. Candidates are kept by priority while the
       walking budget allows (frail residents are taken to meals in a wheelchair), then
       leisure walks fill the remaining budget.
    4. Placement: in time order, at least 45 s apart, moved past meals/therapy/naps and
       appointments, and dropped outside the presence window.

    Parameters
    ----------
    stay : Stay
    day : date
        Local calendar date in the stay's time zone.
    seed : int
        Root seed; the plan depends only on ``(seed, stay_id, day)``.
    appointments : tuple of (start_s, end_s, label), optional
        Times the resident is busy elsewhere (e.g. robot sessions).
    walking_min : float, optional
        Override the day's walking budget (minutes), e.g. for benchmarks.

    Returns
    -------
    DayPlan or None
        None when the resident is not on the ward that day.
    """
    presence = stay.presence_s(day)
    speed = stay.gait_speed_on(day)
    if presence is None or speed is None:
        return None
    tz = ZoneInfo(stay.tz_name)
    rng = derive_rng(seed, str_key(stay.stay_id), day.toordinal())
    day_start, day_end = local_day_bounds_s(day, tz)
    res = stay.resident

    def wall(hours: float) -> float:
        return local_wall_time_s(day, hours, tz)

    # 1. Context activities (fixed number of draws so the stream is stable).
    wake = wall(float(np.clip(rng.normal(7.0, 0.5), 5.5, 9.0)))
    bed = wall(float(np.clip(rng.normal(21.5, 0.6), 19.5, 23.5)))
    meal_jitter = rng.normal(0.0, 0.1, 4)
    coffee = rng.random() < 0.6
    nap = rng.random() < 0.5
    weekday = day.weekday() < 5
    therapy = weekday and rng.random() < (0.9 if stay.stay_type == 19 else 0.35)
    therapy_start = 9.75 + 1.5 * rng.random()
    acts: list[Activity] = [
        Activity("night_rest", day_start, wake),
        Activity(
            "meal", wall(8.25 + meal_jitter[0]), wall(8.25 + meal_jitter[0] + 0.67), "breakfast"
        ),
        Activity("meal", wall(13.5 + meal_jitter[1]), wall(13.5 + meal_jitter[1] + 0.75), "dinner"),
        Activity("meal", wall(18.5 + meal_jitter[3]), wall(18.5 + meal_jitter[3] + 0.58), "supper"),
        Activity("night_rest", bed, day_end),
    ]
    if coffee:
        acts.append(
            Activity("meal", wall(15.5 + meal_jitter[2]), wall(15.9 + meal_jitter[2]), "coffee")
        )
    if nap:
        acts.append(Activity("nap", wall(14.5), wall(15.2)))
    for a_start, a_end, label in appointments:
        acts.append(Activity("appointment", a_start, a_end, label))
    if therapy:
        t0, t1 = wall(therapy_start), wall(therapy_start + 0.67)
        if not any(a.kind == "appointment" and a.start_s < t1 and t0 < a.end_s for a in acts):
            acts.append(Activity("therapy", t0, t1, "physiotherapy"))
    acts.sort(key=lambda a: a.start_s)
    # 2. Walking budget.
    if walking_min is None:
        walking_min = (
            expected_walking_min(speed)
            * res.activity_propensity
            * math.exp(0.3 * rng.standard_normal())
        )
    budget_s = 60.0 * walking_min
    # 3. Candidates.
    pool = iter(draw_bout_durations_s(rng, 4000).tolist())

    def bouts(n_max: int = 3) -> list[float]:
        n = 1 + int(min(rng.geometric(0.65) - 1, n_max - 1))
        return [next(pool) for _ in range(n)]

    cands: list[_Candidate] = [_Candidate(wake + rng.uniform(120, 900), "bathroom", bouts(), 1)]
    for a in acts:
        if a.kind == "night_rest":
            continue
        if a.kind == "therapy":
            long_bout = float(rng.uniform(120.0, 360.0))
            cands.append(
                _Candidate(
                    a.start_s + 300.0, "therapy", [long_bout], 0, in_block_ok=True, therapy=True
                )
            )
        prio = 2 if a.kind in ("meal", "appointment", "therapy") else 3
        to_b, from_b = bouts(2), bouts(2)
        cands.append(
            _Candidate(a.start_s - sum(to_b) - rng.uniform(60, 360), f"to_{a.kind}", to_b, prio)
        )
        cands.append(_Candidate(a.end_s + rng.uniform(30, 300), f"from_{a.kind}", from_b, prio))
    awake = (wake + 1800.0, bed - 1800.0)
    for _ in range(int(rng.poisson(4.5))):
        cands.append(_Candidate(rng.uniform(*awake), "toilet", bouts(1), 3))
    cands.append(_Candidate(bed - rng.uniform(300, 1200), "bedtime", bouts(2), 3))
    nights = [(day_start + 1800.0, wake - 1800.0), (bed + 1800.0, day_end - 600.0)]
    for lo, hi in nights:
        if hi <= lo:
            continue
        share = (hi - lo) / 28800.0
        for _ in range(int(rng.poisson(0.9 * share))):
            cands.append(
                _Candidate(rng.uniform(lo, hi), "night_toilet", bouts(1), 4, in_block_ok=True)
            )
    for _ in range(int(rng.poisson(2.0))):
        cands.append(_Candidate(rng.uniform(*awake), "stand", [], 5))
    if rng.random() < 0.3:
        cands.append(_Candidate(rng.uniform(*awake), "staff_move", [], 5, push=True))
    cands.sort(key=lambda c: (c.priority, c.desired_s))
    kept: list[_Candidate] = []
    used_s = 0.0
    for c in cands:
        if c.bouts_s and c.priority > 0 and used_s + sum(c.bouts_s) > 1.2 * budget_s:
            continue
        kept.append(c)
        used_s += sum(c.bouts_s)
    while used_s < budget_s:
        c = _Candidate(rng.uniform(*awake), "leisure", bouts(3), 6)
        kept.append(c)
        used_s += sum(c.bouts_s)
    # 4. Placement.
    blocks = [
        (a.start_s, a.end_s) for a in acts if a.kind in ("meal", "therapy", "nap", "appointment")
    ]
    kept.sort(key=lambda c: c.desired_s)
    excursions: list[Excursion] = []
    t_free = presence[0]
    for c in kept:
        exc_seed = int(rng.integers(0, 2**62))
        if c.desired_s < presence[0]:
            continue
        start = max(c.desired_s, t_free)
        exc = _build(c, start, speed, rng, exc_seed)
        if not c.in_block_ok:
            for b0, b1 in blocks:
                if exc.start_s < b1 and b0 < exc.end_s:
                    exc = _build(c, max(b1 + 60.0, t_free), speed, rng, exc_seed)
        late_s = exc.start_s - c.desired_s
        if late_s > 3600.0 or exc.end_s > presence[1] or exc.end_s > day_end:
            continue
        excursions.append(exc)
        t_free = exc.end_s + _GAP_S
    return DayPlan(
        stay=stay,
        local_date=day,
        day_start_s=day_start,
        day_end_s=day_end,
        present_from_s=presence[0],
        present_to_s=presence[1],
        gait_speed_mps=speed,
        activities=tuple(acts),
        excursions=tuple(excursions),
    )
