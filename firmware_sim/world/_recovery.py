"""Recovery over a stay and stay outcomes: the vectorised core and the true effect.

One row per stay, one column per day of stay. Every random number is drawn in the same
order and amount whatever the arm and the effect size; the intervention only changes the
recovery rate deterministically. :func:`expected_effect` runs each stay in both arms on
the same draws. Parameters and sources: ``docs/simulator.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_sim.world._rng import derive_rng

__all__ = ["EffectSummary", "RecoveryModel", "expected_effect"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HOME, LTC, HOSPITAL, DEATH = 0, 1, 2, 3
"""Destination codes (index into ``residents.DESTINATIONS``)."""


@dataclass(frozen=True)
class RecoveryModel:
    """Parameters of the recovery trajectory and of the discharge and outcome rules.

    Values are documented with their sources in ``docs/simulator.md``; ``*_by_type``
    tuples are indexed by KPR code 18, 19, 20.
    """

    stay_type_probs: tuple[float, float, float] = (0.50, 0.30, 0.20)
    admission_speed_range_mps: tuple[float, float] = (0.2, 0.8)
    admission_speed_beta: tuple[float, float] = (2.0, 3.5)
    admission_speed_per_year_mps: float = -0.004
    decline_prob_by_type: tuple[float, float, float] = (0.12, 0.06, 0.25)
    gain_gamma_shape: float = 4.0
    gain_gamma_scale_mps: float = 0.075
    gain_mult_by_type: tuple[float, float, float] = (1.0, 1.25, 0.7)
    max_speed_mps: float = 1.2
    recovery_rate_median_per_day: float = 0.08
    recovery_rate_log_sd: float = 0.4
    noise_sd_mps: float = 0.04
    noise_ar1: float = 0.5
    home_threshold_mps: float = 0.6
    min_stay_days_by_type: tuple[int, int, int] = (5, 10, 7)
    max_stay_days: int = 42
    discharge_delay_probs: tuple[float, ...] = (0.3, 0.4, 0.2, 0.1)
    death_hazard_per_day: float = 0.0016
    hospital_hazard_per_day: float = 0.004
    death_hazard_mult_by_type: tuple[float, float, float] = (1.0, 0.5, 3.0)
    hazard_ref_speed_mps: float = 0.4
    hazard_ratio_per_0p1_mps: float = 0.88
    readmission_prob_at_threshold: float = 0.15
    readmission_odds_ratio_per_0p1_mps_slower: float = 1.13
    adherence_beta: tuple[float, float] = (5.0, 2.0)
    admission_hour_range: tuple[float, float] = (11.0, 18.0)
    discharge_hour_range: tuple[float, float] = (10.0, 14.0)


@dataclass(frozen=True)
class EffectSummary:
    """True (expected) effect of the intervention from paired counterfactual stays.

    ``*_control`` is every stay outside the arm, ``*_treated`` the same stays inside it
    (with their own adherence). Differences are treated minus control; ``*_se`` are Monte
    Carlo standard errors of the paired differences. Lengths of stay are uncensored and
    measured in wall-clock days (admission hour to discharge hour, DST ignored).
    """

    effect: float
    n_pairs: int
    mean_los_control_days: float
    mean_los_treated_days: float
    los_difference_days: float
    los_difference_se_days: float
    p_home_control: float
    p_home_treated: float
    p_readmit_control: float
    p_readmit_treated: float
    readmit_difference: float
    readmit_difference_se: float
    p_readmit_given_home_control: float
    p_readmit_given_home_treated: float


@dataclass(frozen=True)
class Population:
    """Per-stay random draws; everything the course of a stay depends on."""

    stay_type: IntArray
    age_y: FloatArray
    v0_mps: FloatArray
    ceiling_mps: FloatArray
    rate_per_day: FloatArray
    adherence: FloatArray
    noise_mps: FloatArray  # (n, max_stay + 1)
    u_death: FloatArray  # (n, max_stay + 1)
    u_hospital: FloatArray  # (n, max_stay + 1)
    delay_days: IntArray
    admission_hour: FloatArray
    u_discharge_hour: FloatArray
    u_readmit: FloatArray
    u_readmit_time: FloatArray


@dataclass(frozen=True)
class Course:
    final_day: IntArray
    destination: IntArray
    event_hour: FloatArray
    speed_mps: FloatArray  # (n, max_stay + 1)
    readmitted: BoolArray
    readmit_delay_days: FloatArray

    def los_days(self, admission_hour: FloatArray) -> FloatArray:
        return self.final_day + (self.event_hour - admission_hour) / 24.0


def _type_lookup(stay_type: IntArray, values: tuple[float, float, float]) -> FloatArray:
    return np.asarray(values, dtype=np.float64)[stay_type - 18]


def draw_population(rng: np.random.Generator, n: int, model: RecoveryModel) -> Population:
    """Draw everything the course of ``n`` stays depends on, in one fixed order."""
    m = model.max_stay_days + 1
    # 1. Stay type and age.
    stay_type = 18 + np.searchsorted(
        np.cumsum(model.stay_type_probs)[:-1], rng.random(n), side="right"
    ).astype(np.int64)
    age_y = 67.0 + 33.0 * rng.beta(4.0, 3.5, n)
    # 2. Admission gait speed: beta on the range, slower with age, kept in the range.
    lo, hi = model.admission_speed_range_mps
    v0 = lo + (hi - lo) * rng.beta(*model.admission_speed_beta, n)
    v0 = np.clip(v0 + model.admission_speed_per_year_mps * (age_y - 85.0), lo, hi)
    # 3. Personal ceiling: most recover (gamma gain), some decline.
    u_decline = rng.random(n)
    u_decline_size = rng.random(n)
    gain = rng.gamma(model.gain_gamma_shape, model.gain_gamma_scale_mps, n)
    gain = gain * _type_lookup(stay_type, model.gain_mult_by_type)
    declines = u_decline < _type_lookup(stay_type, model.decline_prob_by_type)
    gain = np.where(declines, -(0.05 + 0.10 * u_decline_size), gain)
    ceiling = np.clip(v0 + gain, 0.1, model.max_speed_mps)
    # 4. Recovery rate (per day) and adherence to device use.
    rate = model.recovery_rate_median_per_day * np.exp(
        model.recovery_rate_log_sd * rng.standard_normal(n)
    )
    adherence = rng.beta(*model.adherence_beta, n)
    # 5. Day-to-day fluctuation: stationary AR(1).
    z = rng.standard_normal((n, m))
    noise = np.empty((n, m))
    noise[:, 0] = model.noise_sd_mps * z[:, 0]
    innov = model.noise_sd_mps * math.sqrt(1.0 - model.noise_ar1**2)
    for d in range(1, m):
        noise[:, d] = model.noise_ar1 * noise[:, d - 1] + innov * z[:, d]
    # 6. Competing daily events, discharge logistics, readmission.
    u_death = rng.random((n, m))
    u_hospital = rng.random((n, m))
    delay = np.searchsorted(
        np.cumsum(model.discharge_delay_probs)[:-1], rng.random(n), side="right"
    ).astype(np.int64)
    h0, h1 = model.admission_hour_range
    admission_hour = h0 + (h1 - h0) * rng.random(n)
    u_discharge_hour = rng.random(n)
    u_readmit = rng.random(n)
    u_readmit_time = rng.random(n)
    return Population(
        stay_type=stay_type,
        age_y=age_y,
        v0_mps=v0,
        ceiling_mps=ceiling,
        rate_per_day=rate,
        adherence=adherence,
        noise_mps=noise,
        u_death=u_death,
        u_hospital=u_hospital,
        delay_days=delay,
        admission_hour=admission_hour,
        u_discharge_hour=u_discharge_hour,
        u_readmit=u_readmit,
        u_readmit_time=u_readmit_time,
    )


def _first_true(mask: BoolArray, default: int) -> IntArray:
    """Index of the first True per row, ``default`` where a row has none."""
    idx = np.argmax(mask, axis=1).astype(np.int64)
    return np.where(mask.any(axis=1), idx, default).astype(np.int64)


def run_course(
    pop: Population, exposure: FloatArray, effect: float, model: RecoveryModel
) -> Course:
    """Run the stays forward given each stay's device exposure (0 = control).

    1. Recovery rate: ``k * (1 + effect * exposure)`` when recovering, divided by the same
       factor when declining (activation slows decline, never speeds it).
    2. Usual gait speed per day: exponential approach to the ceiling plus AR(1) noise.
    3. Discharge home: first day past the minimum stay with speed >= threshold, plus a
       logistics delay; none by the maximum stay -> long-term care on that day.
    4. Death and hospital transfer: daily hazards scaled by speed (Studenski HR per
       0.1 m/s); the earliest event wins, ties in the order death, hospital, discharge.
    5. Readmission within 30 days after a discharge home: logistic in discharge speed.
    """
    m = model.max_stay_days + 1
    days = np.arange(m, dtype=np.float64)
    # 1.
    factor = 1.0 + effect * exposure
    recovering = pop.ceiling_mps >= pop.v0_mps
    rate = np.where(recovering, pop.rate_per_day * factor, pop.rate_per_day / factor)
    # 2.
    trend = pop.ceiling_mps[:, None] - (pop.ceiling_mps - pop.v0_mps)[:, None] * np.exp(
        -rate[:, None] * days[None, :]
    )
    speed = np.clip(trend + pop.noise_mps, 0.05, model.max_speed_mps + 0.2)
    # 3.
    min_stay = np.asarray(model.min_stay_days_by_type, dtype=np.int64)[pop.stay_type - 18]
    eligible = (speed >= model.home_threshold_mps) & (days[None, :] >= min_stay[:, None])
    cross = _first_true(eligible, m)
    planned = np.minimum(cross + pop.delay_days, model.max_stay_days)
    planned_dest = np.where(cross < m, HOME, LTC)
    planned = np.where(cross < m, planned, model.max_stay_days)
    # 4.
    log_hr = math.log(model.hazard_ratio_per_0p1_mps) * (speed - model.hazard_ref_speed_mps) / 0.1
    hr = np.exp(log_hr)
    death_mult = _type_lookup(pop.stay_type, model.death_hazard_mult_by_type)
    h_death = model.death_hazard_per_day * death_mult[:, None] * hr
    h_hosp = model.hospital_hazard_per_day * hr
    after_admission = days[None, :] >= 1.0
    death_day = _first_true((pop.u_death < h_death) & after_admission, m)
    hosp_day = _first_true((pop.u_hospital < h_hosp) & after_admission, m)
    final = planned.copy()
    dest = planned_dest.copy()
    hosp_first = hosp_day <= final
    final = np.where(hosp_first, hosp_day, final)
    dest = np.where(hosp_first, HOSPITAL, dest)
    death_first = death_day <= final
    final = np.where(death_first, death_day, final)
    dest = np.where(death_first, DEATH, dest)
    h0, h1 = model.discharge_hour_range
    planned_hour = h0 + (h1 - h0) * pop.u_discharge_hour
    event_hour = np.where(dest <= LTC, planned_hour, 24.0 * pop.u_discharge_hour)
    # 5.
    v_dis = speed[np.arange(len(final)), final]
    logit0 = math.log(
        model.readmission_prob_at_threshold / (1 - model.readmission_prob_at_threshold)
    )
    slope = math.log(model.readmission_odds_ratio_per_0p1_mps_slower) / 0.1
    p_readmit = 1.0 / (1.0 + np.exp(-(logit0 + slope * (model.home_threshold_mps - v_dis))))
    readmitted = (dest == HOME) & (pop.u_readmit < p_readmit)
    readmit_delay = 0.5 + 29.5 * pop.u_readmit_time**1.6
    return Course(
        final_day=final.astype(np.int64),
        destination=dest.astype(np.int64),
        event_hour=event_hour,
        speed_mps=speed,
        readmitted=readmitted,
        readmit_delay_days=readmit_delay,
    )


def expected_effect(
    effect: float,
    *,
    n_pairs: int = 200_000,
    seed: int = 20_260_101,
    model: RecoveryModel | None = None,
    batch: int = 25_000,
) -> EffectSummary:
    """Compute the true effect of the intervention by simulating paired counterfactuals.

    Each simulated stay is run twice on the same random draws: outside the arm and inside
    it (exposure = its adherence). Averages over ``n_pairs`` stays estimate the expected
    per-stay difference; with ``effect=0`` the difference is exactly zero.

    Parameters
    ----------
    effect : float
        As in :func:`simulate_stays`.
    n_pairs : int, optional
        Number of paired stays (Monte Carlo size); the standard errors shrink as
        ``1/sqrt(n_pairs)``.
    seed : int, optional
        Seed of the counterfactual population (independent of any validation seed).
    model : RecoveryModel, optional
    batch : int, optional
        Stays per vectorised batch (bounds memory).

    Returns
    -------
    EffectSummary
        Uncensored expected LOS (days) and 30-day readmission probabilities, per arm,
        their paired differences and Monte Carlo standard errors.
    """
    model = model or RecoveryModel()
    sums = np.zeros(10)
    done = 0
    k = 0
    while done < n_pairs:
        size = min(batch, n_pairs - done)
        pop = draw_population(derive_rng(seed, 100, k), size, model)
        control = run_course(pop, np.zeros(size), effect, model)
        treated = run_course(pop, pop.adherence, effect, model)
        los_c = control.los_days(pop.admission_hour)
        los_t = treated.los_days(pop.admission_hour)
        d_los = los_t - los_c
        r_c = control.readmitted.astype(np.float64)
        r_t = treated.readmitted.astype(np.float64)
        d_r = r_t - r_c
        sums += np.array(
            [
                los_c.sum(),
                los_t.sum(),
                d_los.sum(),
                (d_los**2).sum(),
                (control.destination == HOME).sum(),
                (treated.destination == HOME).sum(),
                r_c.sum(),
                r_t.sum(),
                d_r.sum(),
                (d_r**2).sum(),
            ]
        )
        done += size
        k += 1
    nf = float(n_pairs)
    mean_d_los = sums[2] / nf
    var_d_los = max(sums[3] / nf - mean_d_los**2, 0.0)
    mean_d_r = sums[8] / nf
    var_d_r = max(sums[9] / nf - mean_d_r**2, 0.0)
    return EffectSummary(
        effect=effect,
        n_pairs=n_pairs,
        mean_los_control_days=sums[0] / nf,
        mean_los_treated_days=sums[1] / nf,
        los_difference_days=mean_d_los,
        los_difference_se_days=math.sqrt(var_d_los / nf),
        p_home_control=sums[4] / nf,
        p_home_treated=sums[5] / nf,
        p_readmit_control=sums[6] / nf,
        p_readmit_treated=sums[7] / nf,
        readmit_difference=mean_d_r,
        readmit_difference_se=math.sqrt(var_d_r / nf),
        p_readmit_given_home_control=sums[6] / max(sums[4], 1.0),
        p_readmit_given_home_treated=sums[7] / max(sums[5], 1.0),
    )
