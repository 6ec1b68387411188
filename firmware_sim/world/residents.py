"""Residents, their recovery over a short-term stay, and stay outcomes.

The stay-level model is fully vectorised (one row per stay, one column per day of stay,
in :mod:`firmware_sim.world._recovery`) so that thousands of stays simulate in
milliseconds; signals are not needed for it.

Pairing. Every random number is drawn in the same order and amount whatever the arm
and the effect size: the intervention only changes the recovery rate of a stay
deterministically. So ``effect=0`` gives bit-identical stays with and without the
intervention, and for ``effect>0`` each stay has an exact counterfactual twin, which is
how :func:`expected_effect` computes the true effect.

See ``docs/simulator.md`` for every parameter and its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from firmware_sim.world._recovery import (
    EffectSummary,
    Population,
    RecoveryModel,
    draw_population,
    expected_effect,
    run_course,
)
from firmware_sim.world._rng import derive_rng
from firmware_sim.world._time import (
    DEFAULT_TZ,
    from_epoch_s,
    local_date_of,
    local_day_bounds_s,
    local_wall_time_s,
    to_epoch_s,
)

__all__ = [
    "DESTINATIONS",
    "STAY_TYPES",
    "Destination",
    "EffectSummary",
    "GaitTraits",
    "RecoveryModel",
    "Resident",
    "Sex",
    "Stay",
    "expected_effect",
    "simulate_stays",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Destination = Literal["home", "long_term_care", "hospital", "death"]
Sex = Literal["F", "M"]

DESTINATIONS: tuple[Destination, ...] = ("home", "long_term_care", "hospital", "death")
"""Destination codes in the order used internally (index 0..3)."""

STAY_TYPES: dict[int, str] = {
    18: "tidsbegrenset opphold - utredning/behandling (assessment/treatment)",
    19: "tidsbegrenset opphold - habilitering/rehabilitering (rehabilitation)",
    20: "tidsbegrenset opphold - annet (other)",
}
"""KPR (Kommunalt pasient- og brukerregister) service codes of time-limited institution stays."""


@dataclass(frozen=True)
class GaitTraits:
    """Person-level gait and walker-handling traits used by the routine and signal models.

    Attributes
    ----------
    walk_ratio_m_per_spm : float
        Step length divided by cadence (m per step/min); fixes cadence at a given speed.
    stride_time_cv : float
        Coefficient of variation of step/stride time (0.03-0.08 in frail elders).
    irregular_step_prob : float
        Probability that a step is a short shuffle or a hesitation.
    device_load_fraction : float
        Share of body weight carried by the walker handles while walking at 0.2 m/s;
        it falls towards 45 % of this value at 0.8 m/s.
    handle_asymmetry : float
        Mean ``(left - right) / (left + right)`` handle load.
    heel_strike_gain : float
        Multiplier of the heel-strike transient transmitted to the walker frame.
    push_surge_depth : float
        Relative modulation of walker speed within a step (pushing in surges).
    """

    walk_ratio_m_per_spm: float
    stride_time_cv: float
    irregular_step_prob: float
    device_load_fraction: float
    handle_asymmetry: float
    heel_strike_gain: float
    push_surge_depth: float


@dataclass(frozen=True)
class Resident:
    """A resident known only by a pseudonym.

    Attributes
    ----------
    pseudonym : str
        ``"R-"`` followed by 8 lower-case hex digits drawn from the seeded generator.
    birth_year : int
        Year of birth (age 67-100 at admission, mostly in the 80s).
    sex : {"F", "M"}
    body_mass_kg, height_m : float
    activity_propensity : float
        Multiplier (median 1) of the walking time expected at a given gait speed.
    gait : GaitTraits
    """

    pseudonym: str
    birth_year: int
    sex: Sex
    body_mass_kg: float
    height_m: float
    activity_propensity: float
    gait: GaitTraits


@dataclass(frozen=True)
class Stay:
    """One short-term stay and its outcome, as the care record and the truth would hold it.

    Attributes
    ----------
    stay_id : str
    resident : Resident
    ward : str
    stay_type : int
        KPR service code 18, 19 or 20 (see :data:`STAY_TYPES`).
    intervention : bool
        Whether the stay was in the activation (device) arm.
    adherence : float
        Share of the intended device use actually achieved (only matters in the arm).
    tz_name : str
        Time zone of the ward; days of stay are local calendar days.
    admitted_at : datetime
        Timezone-aware UTC.
    discharged_at : datetime or None
        None when the stay is still ongoing at the end of the simulated period (censored).
    destination : {"home", "long_term_care", "hospital", "death"} or None
        None when censored.
    readmitted_within_30d : bool or None
        Readmission (hospital or new short-term stay) within 30 days of a discharge home;
        None when the destination is not home or the stay is censored. The truth is given
        even when the 30 days run past the period end; ``readmitted_at`` allows censoring.
    readmitted_at : datetime or None
    daily_gait_speed_mps : ndarray of float64
        Usual gait speed on each local day of the stay, index 0 = day of admission,
        up to and including the day of discharge (or the last day of the period).
    """

    stay_id: str
    resident: Resident
    ward: str
    stay_type: int
    intervention: bool
    adherence: float
    tz_name: str
    admitted_at: datetime
    discharged_at: datetime | None
    destination: Destination | None
    readmitted_within_30d: bool | None
    readmitted_at: datetime | None
    daily_gait_speed_mps: FloatArray = field(compare=False, repr=False)

    @property
    def censored(self) -> bool:
        """True when the stay had not ended by the end of the simulated period."""
        return self.discharged_at is None

    @property
    def los_days(self) -> float | None:
        """Length of stay in days (elapsed time), None if censored."""
        if self.discharged_at is None:
            return None
        return (self.discharged_at - self.admitted_at).total_seconds() / 86400.0

    @property
    def admission_date(self) -> date:
        """Local calendar date of admission."""
        return local_date_of(to_epoch_s(self.admitted_at), ZoneInfo(self.tz_name))

    def day_index(self, day: date) -> int:
        """Return the day-of-stay index of a local date (0 = admission day)."""
        return (day - self.admission_date).days

    def gait_speed_on(self, day: date) -> float | None:
        """Return the usual gait speed (m/s) on a local date, or None if not present."""
        i = self.day_index(day)
        if 0 <= i < len(self.daily_gait_speed_mps):
            return float(self.daily_gait_speed_mps[i])
        return None

    def presence_s(self, day: date) -> tuple[float, float] | None:
        """Return the part of a local day spent on the ward, as epoch seconds, or None."""
        tz = ZoneInfo(self.tz_name)
        start_s, end_s = local_day_bounds_s(day, tz)
        lo = max(start_s, to_epoch_s(self.admitted_at))
        hi = end_s if self.discharged_at is None else min(end_s, to_epoch_s(self.discharged_at))
        if self.gait_speed_on(day) is None or hi <= lo:
            return None
        return lo, hi


def _draw_residents(
    rng: np.random.Generator, pop: Population, admission_years: IntArray
) -> list[Resident]:
    """Draw identities and traits (a separate stream: never shifts the course draws)."""
    n = len(pop.age_y)
    codes = rng.integers(0, 2**32, size=n, dtype=np.uint64)
    # Redraw collisions (birthday problem at ~65k stays) so pseudonyms stay unique.
    while True:
        _, first = np.unique(codes, return_index=True)
        dup = np.setdiff1d(np.arange(n), first)
        if dup.size == 0:
            break
        codes[dup] = rng.integers(0, 2**32, size=dup.size, dtype=np.uint64)
    female = rng.random(n) < 0.62
    mass = np.where(female, 66.0, 78.0) + np.where(female, 12.0, 13.0) * rng.standard_normal(n)
    mass = np.clip(mass, 40.0, 130.0)
    height = np.where(female, 1.62, 1.75) + np.where(female, 0.06, 0.07) * rng.standard_normal(n)
    propensity = np.exp(0.35 * rng.standard_normal(n))
    frailty = np.clip((0.8 - pop.v0_mps) / 0.6, 0.0, 1.0)
    walk_ratio = np.clip(0.0045 + 0.0006 * rng.standard_normal(n), 0.003, 0.0065)
    stride_cv = np.clip(0.03 * np.exp(0.3 * rng.standard_normal(n)) + 0.03 * frailty, 0.02, 0.10)
    irregular = np.clip(0.01 + 0.05 * frailty * rng.random(n), 0.0, 0.08)
    load = 0.12 + 0.18 * rng.random(n)
    asym = np.clip(0.08 * rng.standard_normal(n), -0.25, 0.25)
    heel = np.exp(0.3 * rng.standard_normal(n))
    surge = 0.15 + 0.15 * frailty + 0.10 * rng.random(n)
    birth_year = admission_years - np.floor(pop.age_y).astype(np.int64) - (rng.random(n) < 0.5)
    residents = []
    for i in range(n):
        residents.append(
            Resident(
                pseudonym=f"R-{int(codes[i]):08x}",
                birth_year=int(birth_year[i]),
                sex="F" if female[i] else "M",
                body_mass_kg=float(mass[i]),
                height_m=float(height[i]),
                activity_propensity=float(propensity[i]),
                gait=GaitTraits(
                    walk_ratio_m_per_spm=float(walk_ratio[i]),
                    stride_time_cv=float(stride_cv[i]),
                    irregular_step_prob=float(irregular[i]),
                    device_load_fraction=float(load[i]),
                    handle_asymmetry=float(asym[i]),
                    heel_strike_gain=float(heel[i]),
                    push_surge_depth=float(surge[i]),
                ),
            )
        )
    return residents


def _arm_fraction(intervention: bool | float) -> float:
    if isinstance(intervention, bool):
        return 1.0 if intervention else 0.0
    frac = float(intervention)
    if not 0.0 <= frac <= 1.0:
        raise ValueError(f"intervention fraction must be in [0, 1], got {frac}")
    return frac


def simulate_stays(
    n: int,
    start: datetime,
    days: int,
    effect: float,
    intervention: bool | float,
    seed: int,
    *,
    wards: tuple[str, ...] = ("ward-a", "ward-b", "ward-c"),
    tz_name: str = DEFAULT_TZ,
    model: RecoveryModel | None = None,
) -> list[Stay]:
    """Simulate ``n`` short-term stays admitted over a period, without signals.

    Parameters
    ----------
    n : int
        Number of stays (admissions) in the period.
    start : datetime
        Timezone-aware start of the period.
    days : int
        Length of the period in local calendar days; stays still ongoing at its end are
        censored (``discharged_at`` None).
    effect : float
        Relative increase of the recovery rate at full adherence (``>= 0``).
    intervention : bool or float
        ``True``/``False`` puts every stay in/out of the arm; a float in [0, 1] is the
        probability of each stay being in it (individual randomisation).
    seed : int
        Root seed; the same seed gives the same residents and random draws in both arms.
    wards : tuple of str, optional
        Ward names; stays are spread uniformly over them.
    tz_name : str, optional
        IANA time zone of the wards (default Europe/Oslo).
    model : RecoveryModel, optional

    Returns
    -------
    list of Stay
        Sorted by admission time.
    """
    if effect < 0:
        raise ValueError(f"effect must be >= 0, got {effect}")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    model = model or RecoveryModel()
    tz = ZoneInfo(tz_name)
    frac = _arm_fraction(intervention)
    # 1. Course draws, arm assignment and calendar come from separate streams.
    pop = draw_population(derive_rng(seed, 1), n, model)
    calendar = derive_rng(seed, 2)
    day_offset = np.sort(calendar.integers(0, max(days, 1), size=n))
    ward_index = calendar.integers(0, len(wards), size=n)
    u_arm = derive_rng(seed, 3).random(n)
    in_arm = u_arm < frac
    exposure = np.where(in_arm, pop.adherence, 0.0)
    # 2. Run the course.
    course = run_course(pop, exposure, effect, model)
    # 3. Put it on the calendar.
    start_local = start.astimezone(tz)
    start_s = to_epoch_s(start)
    end_local = datetime.combine(
        start_local.date() + timedelta(days=days), start_local.timetz()
    ).replace(tzinfo=tz)
    end_s = to_epoch_s(end_local)
    years = np.array(
        [(start_local.date() + timedelta(days=int(k))).year for k in day_offset], dtype=np.int64
    )
    residents = _draw_residents(derive_rng(seed, 4), pop, years)
    stay_codes = derive_rng(seed, 5).integers(0, 2**32, size=n, dtype=np.uint64)
    stays: list[Stay] = []
    for i in range(n):
        adm_date = start_local.date() + timedelta(days=int(day_offset[i]))
        adm_s = max(local_wall_time_s(adm_date, float(pop.admission_hour[i]), tz), start_s)
        final = int(course.final_day[i])
        dis_s = local_wall_time_s(adm_date + timedelta(days=final), float(course.event_hour[i]), tz)
        dis_s = max(dis_s, adm_s + 3600.0)
        if dis_s <= end_s:
            dest: Destination | None = DESTINATIONS[int(course.destination[i])]
            discharged: datetime | None = from_epoch_s(dis_s)
            readmitted: bool | None = bool(course.readmitted[i]) if dest == "home" else None
            readmitted_at = (
                from_epoch_s(dis_s + 86400.0 * float(course.readmit_delay_days[i]))
                if readmitted
                else None
            )
            n_days = final + 1
        else:
            dest, discharged, readmitted, readmitted_at = None, None, None, None
            n_days = 0
            while (
                n_days <= final
                and local_day_bounds_s(adm_date + timedelta(days=n_days), tz)[0] < end_s
            ):
                n_days += 1
        stays.append(
            Stay(
                stay_id=f"S-{int(stay_codes[i]):08x}",
                resident=residents[i],
                ward=wards[int(ward_index[i])],
                stay_type=int(pop.stay_type[i]),
                intervention=bool(in_arm[i]),
                adherence=float(pop.adherence[i]),
                tz_name=tz_name,
                admitted_at=from_epoch_s(adm_s),
                discharged_at=discharged,
                destination=dest,
                readmitted_within_30d=readmitted,
                readmitted_at=readmitted_at,
                daily_gait_speed_mps=course.speed_mps[i, :n_days].copy(),
            )
        )
    return stays
