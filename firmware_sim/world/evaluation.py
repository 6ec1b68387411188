"""Evaluation worlds: wards, periods and stays with known truth, for validating the savings
estimator where its assumptions do *not* all hold.

:func:`simulate_evaluation` lays the stay model of :mod:`._recovery` on a ward timeline: device
wards and comparison wards, a before and an after period of ``period_days`` around the device
wards' go-live (day 0), admissions spread uniformly. Every stay is run twice on the same random
draws, out of the programme and in it (exposure = its adherence), so its counterfactual is
known; a stay on a device ward after go-live is observed in the programme, every other stay out
of it. An :class:`EvaluationScenario` departs from the textbook world in one way at a time:

* ``confounding``: device wards admit residents who recover faster, selected on their
  admission gait speed (measured, with error ``mobility_error_sd`` and missing more often for
  the frail, ``mobility_missing_frail``) and on their recovery rate (never measured);
* ``trend_per_year`` and ``seasonal_amplitude``: the recovery rate drifts with calendar time
  (shorter stays year on year) and with the season, on every ward alike;
* ``long_stay_share``: a share of slow recoverers (rate x 0.25) with stays up to 150 days,
  and with ``effect_in_long_stays_only`` the programme helps only them;
* ``ward_sd``: each ward has its own recovery-rate multiplier exp(N(0, ward_sd));
* ``new_comparison_ward_days``: the only comparison ward opened this many days before the
  analysis instant, so its stays are few and mostly still going on.

:func:`evaluation_truth` gives the estimand: bed-days avoided per programme stay within the
horizon, E[min(T0, h) - min(T1, h)] over stays admitted to device wards after go-live, from
paired counterfactuals of a large population drawn the same way (ward multipliers drawn anew
for every stay: the truth is the average over wards).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from firmware_sim.world._recovery import (
    HOME,
    Population,
    RecoveryModel,
    draw_population,
    run_course,
)
from firmware_sim.world._rng import derive_rng

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_DESTINATIONS: Final = ("home", "long_term_care", "hospital", "death")
_SLOW_RATE: Final = 0.25
_LONG_MAX_STAY_DAYS: Final = 150


@dataclass(frozen=True)
class EvaluationScenario:
    """One evaluation world (module docstring). Defaults: the textbook world."""

    name: str
    description: str
    device_wards: int = 2
    comparison_wards: int = 1
    stays_per_group: int = 800
    period_days: int = 182
    confounding: float = 0.0
    mobility_error_sd: float = 0.0
    mobility_missing_frail: float = 0.0
    trend_per_year: float = 0.0
    seasonal_amplitude: float = 0.0
    long_stay_share: float = 0.0
    effect_in_long_stays_only: bool = False
    ward_sd: float = 0.0
    new_comparison_ward_days: int | None = None
    new_comparison_ward_stays: int = 30

    def model(self) -> RecoveryModel:
        """The stay model: longer maximum stays when the scenario has long stays."""
        if self.long_stay_share > 0:
            return RecoveryModel(max_stay_days=_LONG_MAX_STAY_DAYS)
        return RecoveryModel()


@dataclass(frozen=True, eq=False)
class SimulatedEvaluation:
    """Stays of one evaluation world, one row per stay (uncensored: the harness censors).

    ``admission_day`` is days after go-live (negative before); the analysis instant is day
    ``period_days``. ``los_days``, ``destination``, ``readmitted`` are the observed course
    (in the programme for device-ward stays after go-live); ``gait_speed_measured_mps`` is
    NaN where not measured.
    """

    scenario: EvaluationScenario
    ward: npt.NDArray[np.str_]
    arm: npt.NDArray[np.str_]
    admission_day: FloatArray
    los_days: FloatArray
    destination: npt.NDArray[np.str_]
    readmitted: BoolArray
    age_y: FloatArray
    stay_type: IntArray
    gait_speed_measured_mps: FloatArray

    @property
    def period_days(self) -> int:
        """Length of each period; the analysis instant is at the end of the after period."""
        return self.scenario.period_days


def _modulated(pop: Population, multiplier: FloatArray) -> Population:
    return dataclasses.replace(pop, rate_per_day=pop.rate_per_day * multiplier)


def _calendar(scenario: EvaluationScenario, day: FloatArray) -> FloatArray:
    years = day / 365.25
    season = 1.0 + scenario.seasonal_amplitude * np.sin(2 * math.pi * years)
    multiplier: FloatArray = np.exp(scenario.trend_per_year * years) * season
    return multiplier


def _draw(
    scenario: EvaluationScenario,
    rng: np.random.Generator,
    n: int,
    device: bool,
    model: RecoveryModel,
) -> Population:
    """Draw ``n`` stays of one ward group, selected on (v0, rate) for device wards."""
    pool = 3 * n if device and scenario.confounding > 0 else n
    pop = draw_population(rng, pool, model)
    slow = rng.random(pool) < scenario.long_stay_share
    pop = _modulated(pop, np.where(slow, _SLOW_RATE, 1.0))
    if pool != n:
        z_v = (pop.v0_mps - pop.v0_mps.mean()) / pop.v0_mps.std()
        log_rate = np.log(pop.rate_per_day)
        z_k = (log_rate - log_rate.mean()) / log_rate.std()
        weight = np.exp(scenario.confounding * (z_v + z_k))
        keep = np.sort(rng.choice(pool, n, replace=False, p=weight / weight.sum()))
        pop = Population(**{f.name: getattr(pop, f.name)[keep] for f in dataclasses.fields(pop)})
        slow = slow[keep]
    return dataclasses.replace(
        pop, adherence=pop.adherence * (slow if scenario.effect_in_long_stays_only else 1.0)
    )


def _run(
    scenario: EvaluationScenario,
    pop: Population,
    multiplier: FloatArray,
    effect: float,
    treated: BoolArray,
    model: RecoveryModel,
) -> tuple[FloatArray, IntArray, BoolArray, FloatArray, FloatArray]:
    """Observed LOS, destination, readmission, and the LOS out of and in the programme."""
    moved = _modulated(pop, multiplier)
    control = run_course(moved, np.zeros(len(pop.age_y)), effect, model)
    programme = run_course(moved, pop.adherence, effect, model)
    los0 = control.los_days(pop.admission_hour)
    los1 = programme.los_days(pop.admission_hour)
    los = np.where(treated, los1, los0)
    dest = np.where(treated, programme.destination, control.destination)
    readm = np.where(treated, programme.readmitted, control.readmitted)
    return np.maximum(los, 1.0 / 24.0), dest, readm, los0, los1


def simulate_evaluation(
    scenario: EvaluationScenario, seed: int, *, effect: float
) -> SimulatedEvaluation:
    """The stays of one seed of ``scenario`` (module docstring)."""
    model = scenario.model()
    p = scenario.period_days
    wards: list[str] = []
    arms: list[str] = []
    days: list[FloatArray] = []
    parts: list[tuple[FloatArray, IntArray, BoolArray]] = []
    covs: list[tuple[FloatArray, IntArray, FloatArray]] = []
    ward_rng = derive_rng(seed, 900)
    groups: list[tuple[str, str, int, float, float]] = []
    per_device = 2 * scenario.stays_per_group // scenario.device_wards
    for w in range(scenario.device_wards):
        groups.append((f"device-{w + 1}", "intervention", per_device, -p, p))
    if scenario.new_comparison_ward_days is not None:
        opened = p - scenario.new_comparison_ward_days
        groups.append(("new-ward", "comparison", scenario.new_comparison_ward_stays, opened, p))
    else:
        per_comparison = 2 * scenario.stays_per_group // max(scenario.comparison_wards, 1)
        for w in range(scenario.comparison_wards):
            groups.append((f"comparison-{w + 1}", "comparison", per_comparison, -p, p))
    for k, (ward, arm, n, start, end) in enumerate(groups):
        rng = derive_rng(seed, 901, k)
        pop = _draw(scenario, rng, n, arm == "intervention", model)
        day = np.sort(rng.uniform(start, end, n))
        ward_mult = math.exp(scenario.ward_sd * float(ward_rng.standard_normal()))
        multiplier = _calendar(scenario, day) * ward_mult
        treated = np.full(n, arm == "intervention") & (day >= 0)
        los, dest, readm, _, _ = _run(scenario, pop, multiplier, effect, treated, model)
        measured = pop.v0_mps + scenario.mobility_error_sd * rng.standard_normal(n)
        frailty = np.clip((0.8 - pop.v0_mps) / 0.6, 0.0, 1.0)
        missing = rng.random(n) < scenario.mobility_missing_frail * frailty
        measured = np.where(missing, np.nan, np.clip(measured, 0.05, 2.0))
        wards += [ward] * n
        arms += [arm] * n
        days.append(day)
        parts.append((los, dest, readm))
        covs.append((pop.age_y, pop.stay_type, measured))
    return SimulatedEvaluation(
        scenario=scenario,
        ward=np.asarray(wards, dtype=np.str_),
        arm=np.asarray(arms, dtype=np.str_),
        admission_day=np.concatenate(days),
        los_days=np.concatenate([x[0] for x in parts]),
        destination=np.asarray(_DESTINATIONS, dtype=np.str_)[np.concatenate([x[1] for x in parts])],
        readmitted=np.concatenate([x[2] for x in parts]),
        age_y=np.concatenate([c[0] for c in covs]),
        stay_type=np.concatenate([c[1] for c in covs]),
        gait_speed_measured_mps=np.concatenate([c[2] for c in covs]),
    )


@dataclass(frozen=True)
class EvaluationTruth:
    """The estimand of a scenario, from paired counterfactuals (Monte Carlo SEs)."""

    bed_days_avoided_per_stay: float
    bed_days_se: float
    readmissions_avoided_per_stay: float
    readmissions_se: float
    control_rmst_days: float
    n_pairs: int


def evaluation_truth(
    scenario: EvaluationScenario,
    *,
    effect: float,
    horizon_days: float = 60.0,
    n_pairs: int = 100_000,
    seed: int = 20_261_201,
    batch: int = 20_000,
) -> EvaluationTruth:
    """Bed-days (within the horizon) and readmissions avoided per programme stay."""
    model = scenario.model()
    d_bed: list[FloatArray] = []
    d_readm: list[FloatArray] = []
    control: list[FloatArray] = []
    done, k = 0, 0
    while done < n_pairs:
        size = min(batch, n_pairs - done)
        rng = derive_rng(seed, 950, k)
        pop = _draw(scenario, rng, size, True, model)
        day = rng.uniform(0.0, scenario.period_days, size)
        ward_mult = np.exp(scenario.ward_sd * rng.standard_normal(size))
        multiplier = _calendar(scenario, day) * ward_mult
        moved = _modulated(pop, multiplier)
        c = run_course(moved, np.zeros(size), effect, model)
        t = run_course(moved, pop.adherence, effect, model)
        los0 = np.minimum(c.los_days(pop.admission_hour), horizon_days)
        los1 = np.minimum(t.los_days(pop.admission_hour), horizon_days)
        d_bed.append(los0 - los1)
        d_readm.append(
            ((c.destination == HOME) & c.readmitted).astype(float)
            - ((t.destination == HOME) & t.readmitted).astype(float)
        )
        control.append(los0)
        done += size
        k += 1
    bed, readm = np.concatenate(d_bed), np.concatenate(d_readm)
    return EvaluationTruth(
        bed_days_avoided_per_stay=float(bed.mean()),
        bed_days_se=float(bed.std() / math.sqrt(bed.size)),
        readmissions_avoided_per_stay=float(readm.mean()),
        readmissions_se=float(readm.std() / math.sqrt(readm.size)),
        control_rmst_days=float(np.concatenate(control).mean()),
        n_pairs=n_pairs,
    )
