"""Validation of the effect estimator against known truth from the simulator's resident model.

``stayactive validate savings`` runs :func:`validate_savings`: for every seed it simulates a
ward timeline with :func:`firmware_sim.world.simulate_stays`, builds :class:`StayRecords` the
way the data layer does, runs :func:`~analytics.stays.effect.estimate_effect`, and compares the
estimate and its 95% interval with the true effect.

Processing steps of :func:`simulate_validation_records` (one seed):

1. Timeline: a *before* period and an *after* period of ``period_days`` each; go-live of the
   device wards at the boundary; the analysis instant is the end of the after period, so stays
   admitted in its last 42 days may still be going on (censored), as in real data.
2. Device wards: one stream of admissions over both periods, simulated twice with the same
   seed — out of the arm and in it. Admissions before go-live take the first version
   (``intervention/before``), admissions on or after go-live the second
   (``intervention/after``). The arm switches at go-live, as on a real ward.
3. Comparison wards: an independent stream (another seed) over both periods, never in the
   arm (``comparison/before`` and ``comparison/after``).
4. Each stay becomes one row: elapsed LOS to discharge or to the analysis instant, destination,
   30-day readmission by :func:`~analytics.stays.readmission.readmitted_within_30_days`
   (incomplete windows unknown), age band from the birth year, KPR stay type, and admission
   mobility from the gait speed of the admission day.

Every design picks its groups from the same records (concurrent, historical, DiD).
The truth. The estimand is E[min(T0, 60)] - E[min(T1, 60)] for the programme stays (T0
without, T1 with the programme). No simulated stay lasts past day 43, so it is the difference
of uncensored mean LOS, which :func:`firmware_sim.world.expected_effect` gives from 200,000
paired counterfactual stays (Monte Carlo SE about 0.01 day; its wall-clock LOS differs from
our elapsed LOS by the daylight-saving hour for a few pairs, which cancels in the mean). Both
arms come from one population and the simulator has no trend, ward differences or spill-over,
so this validates the estimator and its intervals, not the designs' assumptions: that is the
job of :mod:`~stayactive.tools.validation.scenarios`. Criteria: the constants below (and
``docs/savings-method.md``); the Monte Carlo SE of the mean tells a bias from seed noise.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from analytics.stays.cohorts import Design
from analytics.stays.effect import estimate_effect
from analytics.stays.errors import InsufficientData
from analytics.stays.readmission import readmitted_within_30_days
from analytics.stays.records import (
    COLUMNS,
    StayRecords,
    age_band,
    concatenate,
    los_days,
    mobility_band,
)
from firmware_sim.world import Stay, expected_effect, simulate_stays
from stayactive.tools.validation._figures import (
    coverage_interval,
    json_ready,
    spread_to_interval,
)

logger = logging.getLogger(__name__)

#: With no effect, the interval must cover zero in at least this share of seeds.
NULL_COVERAGE_MIN: Final = 0.90
#: With a known effect, the interval must cover the truth in at least this share of seeds.
EFFECT_COVERAGE_MIN: Final = 0.90
#: With a known effect, |mean estimate - truth| / truth must stay below this.
RELATIVE_BIAS_MAX: Final = 0.10
#: Default known effect: relative increase of the recovery rate at full adherence. At 1.0 the
#: truth is about 1.9 bed-days per stay (10% of the mean LOS), and the Monte Carlo SE of a
#: 100-seed mean is about 3% of it, so the 10% bias criterion has the power to pass an unbiased
#: estimator; at 0.5 (truth 1.2 days) that SE is 5%, and an unbiased estimator misses the
#: criterion by seed noise alone about once in twenty 100-seed blocks per design.
DEFAULT_EFFECT: Final = 1.0
#: Stays admitted per group (ward group x period); about six months of a device ward group
#: in a city of Stavanger's size.
DEFAULT_STAYS_PER_GROUP: Final = 800
DEFAULT_PERIOD_DAYS: Final = 182
DEFAULT_VALIDATION_RESAMPLES: Final = 1000
DEFAULT_DESIGNS: Final = (Design.CONCURRENT, Design.HISTORICAL, Design.DIFFERENCE_IN_DIFFERENCES)
_START: Final = datetime(2025, 9, 1, tzinfo=ZoneInfo("Europe/Oslo"))
_TRUTH_PAIRS: Final = 200_000


def _stay_rows(
    stays: Sequence[Stay], arm: str, period: str, analysis_at: datetime, go_live: datetime
) -> StayRecords:
    """Simulated stays as stay records, as the data layer would see them at ``analysis_at``."""
    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for stay in stays:
        discharged = stay.discharged_at is not None and stay.discharged_at <= analysis_at
        end = stay.discharged_at if discharged and stay.discharged_at else analysis_at
        readmitted: bool | None = None
        if discharged and stay.discharged_at is not None and stay.destination is not None:
            # The care record knows of a readmission only once it has happened.
            seen = [t for t in (stay.readmitted_at,) if t is not None and t <= analysis_at]
            readmitted = readmitted_within_30_days(
                stay.discharged_at, stay.destination, seen, analysis_at
            )
        admitted_local = stay.admitted_at.astimezone(ZoneInfo(stay.tz_name))
        cols["stay_id"].append(f"{arm}/{stay.stay_id}")
        cols["los_days"].append(los_days(stay.admitted_at, end))
        cols["discharged"].append(discharged)
        cols["destination"].append(stay.destination if discharged else None)
        cols["readmitted_30d"].append(readmitted)
        cols["arm"].append(arm)
        cols["period"].append(period)
        # Age reached in the year of admission, as KPR/SSB count age from the birth year.
        cols["age_band"].append(age_band(admitted_local.year - stay.resident.birth_year))
        cols["stay_type"].append(str(stay.stay_type))
        cols["mobility_band"].append(mobility_band(float(stay.daily_gait_speed_mps[0])))
        cols["resident_id"].append(f"{arm}/{stay.resident.pseudonym}")
        cols["ward"].append(stay.ward)
        cols["admission_day"].append((stay.admitted_at - go_live).total_seconds() / 86_400.0)
        cols["follow_up_days"].append(los_days(stay.admitted_at, analysis_at))
    return StayRecords.from_columns(**cols)


def simulate_validation_records(
    seed: int,
    *,
    effect: float,
    stays_per_group: int = DEFAULT_STAYS_PER_GROUP,
    period_days: int = DEFAULT_PERIOD_DAYS,
) -> StayRecords:
    """The stays of one validation seed: four groups (ward group x period), see the module.

    Parameters
    ----------
    seed
        Validation seed; the device wards use simulator seed ``2 * seed`` and the comparison
        wards ``2 * seed + 1``, so every seed's two streams are independent.
    effect
        The simulator's effect (relative increase of the recovery rate at full adherence).
    stays_per_group
        Expected admissions per ward group and period.
    period_days
        Length of the before and of the after period, days (at least 43, so that no stay
        admitted before go-live is still going on at the analysis instant).
    """
    if period_days < 43:
        raise ValueError(f"period_days must be at least 43, got {period_days}")
    days = 2 * period_days
    go_live = _START + timedelta(days=period_days)
    analysis_at = (_START + timedelta(days=days)).astimezone(UTC)
    n = 2 * stays_per_group
    # 1.-2. device wards: the same admissions out of and in the arm; the arm switches at go-live
    device_kwargs: dict[str, Any] = {"wards": ("ward-a", "ward-b")}
    control = simulate_stays(n, _START, days, effect, False, 2 * seed, **device_kwargs)
    treated = simulate_stays(n, _START, days, effect, True, 2 * seed, **device_kwargs)
    before = [s for s in control if s.admitted_at < go_live]
    after = [s for s in treated if s.admitted_at >= go_live]
    # 3. comparison wards: an independent stream, never in the arm
    comparison = simulate_stays(n, _START, days, effect, False, 2 * seed + 1, wards=("ward-c",))
    c_before = [s for s in comparison if s.admitted_at < go_live]
    c_after = [s for s in comparison if s.admitted_at >= go_live]
    # 4. rows as the data layer builds them
    return concatenate(
        [
            _stay_rows(after, "intervention", "after", analysis_at, go_live),
            _stay_rows(before, "intervention", "before", analysis_at, go_live),
            _stay_rows(c_after, "comparison", "after", analysis_at, go_live),
            _stay_rows(c_before, "comparison", "before", analysis_at, go_live),
        ]
    )


@dataclass(frozen=True)
class Truth:
    """The true effect per intervention stay, from :func:`firmware_sim.world.expected_effect`."""

    effect: float
    bed_days_avoided_per_stay: float
    bed_days_se: float
    readmissions_avoided_per_stay: float
    readmissions_se: float
    n_pairs: int


def true_effect(effect: float, *, n_pairs: int = _TRUTH_PAIRS) -> Truth:
    """Bed-days and readmissions avoided per intervention stay in the simulated population.

    Bed-days avoided = -(treated - control mean LOS): the 60-day RMST difference, because no
    simulated stay reaches 60 days (see the module docstring).
    """
    summary = expected_effect(effect, n_pairs=n_pairs)
    return Truth(
        effect=effect,
        bed_days_avoided_per_stay=-float(summary.los_difference_days),
        bed_days_se=float(summary.los_difference_se_days),
        readmissions_avoided_per_stay=-float(summary.readmit_difference),
        readmissions_se=float(summary.readmit_difference_se),
        n_pairs=n_pairs,
    )


@dataclass(frozen=True)
class ScenarioResult:
    """Coverage and bias of one design at one effect size over the seeds.

    Attributes
    ----------
    design, effect
        The scenario.
    truth
        True bed-days avoided per stay (0 for the null scenario).
    seeds
        Seeds whose estimate succeeded (others raised InsufficientData, see ``failed_seeds``).
    estimates, lows, highs
        Bed-days avoided per stay and its interval, per seed.
    coverage
        Share of seeds whose interval contains the truth.
    mean_estimate, bias, relative_bias, mc_se
        Mean over seeds, its difference from the truth (relative: divided by the truth; NaN
        for the null scenario) and the Monte Carlo standard error of the mean.
    mean_interval_width
        Mean width of the 95% interval, days.
    readmission_truth, readmission_coverage, readmission_bias
        The same for readmissions avoided per stay (reported, not a pass criterion: the
        simulated readmission effect is tiny by construction, see docs/simulator.md).
    """

    design: str
    effect: float
    truth: float
    seeds: tuple[int, ...]
    failed_seeds: tuple[int, ...]
    estimates: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    coverage: float
    mean_estimate: float
    bias: float
    relative_bias: float
    mc_se: float
    mean_interval_width: float
    readmission_truth: float
    readmission_coverage: float
    readmission_bias: float

    @property
    def is_null(self) -> bool:
        """True for the no-effect scenario."""
        return self.effect == 0.0

    def passed(self) -> bool:
        """Whether the scenario meets its criteria (module docstring)."""
        if self.failed_seeds:
            return False
        if self.is_null:
            return self.coverage >= NULL_COVERAGE_MIN
        return self.coverage >= EFFECT_COVERAGE_MIN and abs(self.relative_bias) < RELATIVE_BIAS_MAX

    def misses(self) -> int:
        """Seeds whose interval did not cover the truth."""
        return sum(not lo <= self.truth <= hi for lo, hi in zip(self.lows, self.highs, strict=True))

    def coverage_interval(self) -> tuple[float, float]:
        """Clopper-Pearson 95% interval of the coverage."""
        n = len(self.seeds)
        return coverage_interval(round(self.coverage * n) if n else 0, n)

    @property
    def spread_to_interval(self) -> float:
        """See :func:`~stayactive.tools.validation._figures.spread_to_interval`."""
        widths = [h - lo for lo, h in zip(self.lows, self.highs, strict=True)]
        return spread_to_interval(self.estimates, widths)

    def summary(self) -> dict[str, Any]:
        """The scenario's figures as plain JSON-ready values (no per-seed lists)."""
        return {
            "scenario": "textbook-null" if self.is_null else "textbook",
            "expectation": "recover",
            "coverage_ci": list(self.coverage_interval()),
            "spread_to_interval": self.spread_to_interval,
            "flagged": len(self.failed_seeds) / max(len(self.seeds) + len(self.failed_seeds), 1),
            # no checks run in the textbook world: every miss is silent
            "silent_miss": self.misses() / max(len(self.seeds) + len(self.failed_seeds), 1),
            "design": self.design,
            "effect": self.effect,
            "truth_bed_days_avoided_per_stay": self.truth,
            "n_seeds": len(self.seeds),
            "failed_seeds": list(self.failed_seeds),
            "coverage": self.coverage,
            "mean_estimate": self.mean_estimate,
            "bias": self.bias,
            "relative_bias": self.relative_bias,
            "mc_se_of_mean": self.mc_se,
            "mean_interval_width": self.mean_interval_width,
            "readmission_truth": self.readmission_truth,
            "readmission_coverage": self.readmission_coverage,
            "readmission_bias": self.readmission_bias,
            "passed": self.passed(),
        }


@dataclass(frozen=True)
class SavingsValidation:
    """All scenarios of one validation run and the settings that produced them."""

    seeds: tuple[int, ...]
    effect: float
    truth: Truth
    stays_per_group: int
    period_days: int
    n_resamples: int
    scenarios: tuple[ScenarioResult, ...]
    elapsed_s: float
    criteria: dict[str, float] = field(
        default_factory=lambda: {
            "null_coverage_min": NULL_COVERAGE_MIN,
            "effect_coverage_min": EFFECT_COVERAGE_MIN,
            "relative_bias_max": RELATIVE_BIAS_MAX,
        }
    )

    @property
    def null_coverage(self) -> float:
        """The lowest coverage of zero over the designs' no-effect scenarios."""
        return min(s.coverage for s in self.scenarios if s.is_null)

    @property
    def effect_coverage(self) -> float:
        """The lowest coverage of the truth over the designs' known-effect scenarios."""
        return min(s.coverage for s in self.scenarios if not s.is_null)

    @property
    def effect_bias(self) -> float:
        """The relative bias with the largest magnitude over the known-effect scenarios."""
        return max((s.relative_bias for s in self.scenarios if not s.is_null), key=abs)

    def passed(self) -> bool:
        """True if every scenario meets its criteria."""
        return all(s.passed() for s in self.scenarios)

    def to_json(self) -> dict[str, Any]:
        """One JSON-ready object: the headline figures first, then per scenario (NaN: null)."""
        out = {
            "null_coverage": self.null_coverage,
            "effect_coverage": self.effect_coverage,
            "effect_bias": self.effect_bias,
            "passed": self.passed(),
            "criteria": self.criteria,
            "effect": self.effect,
            "truth_bed_days_avoided_per_stay": self.truth.bed_days_avoided_per_stay,
            "truth_se": self.truth.bed_days_se,
            "truth_readmissions_avoided_per_stay": self.truth.readmissions_avoided_per_stay,
            "stays_per_group": self.stays_per_group,
            "period_days": self.period_days,
            "n_resamples": self.n_resamples,
            "seeds": list(self.seeds),
            "n_seeds": len(self.seeds),
            "elapsed_s": round(self.elapsed_s, 1),
            "scenarios": [s.summary() for s in self.scenarios],
        }
        return dict(json_ready(out))


def _scenario(
    design: Design,
    effect: float,
    truth: float,
    readmission_truth: float,
    outcomes: list[tuple[int, float, float, float, float | None, float | None, float | None]],
    failed: list[int],
) -> ScenarioResult:
    estimates = [o[1] for o in outcomes]
    lows = [o[2] for o in outcomes]
    highs = [o[3] for o in outcomes]
    n = len(outcomes)
    covered = sum(lo <= truth <= hi for lo, hi in zip(lows, highs, strict=True))
    mean = statistics.fmean(estimates) if estimates else math.nan
    sd = statistics.stdev(estimates) if n > 1 else math.nan
    readm = [(o[4], o[5], o[6]) for o in outcomes if o[4] is not None]
    r_cov = (
        sum(
            lo is not None and hi is not None and lo <= readmission_truth <= hi
            for _, lo, hi in readm
        )
        / len(readm)
        if readm
        else math.nan
    )
    r_bias = (
        statistics.fmean(v for v, _, _ in readm if v is not None) - readmission_truth
        if readm
        else math.nan
    )
    return ScenarioResult(
        design=design.value,
        effect=effect,
        truth=truth,
        seeds=tuple(o[0] for o in outcomes),
        failed_seeds=tuple(failed),
        estimates=tuple(estimates),
        lows=tuple(lows),
        highs=tuple(highs),
        coverage=covered / n if n else math.nan,
        mean_estimate=mean,
        bias=mean - truth,
        relative_bias=(mean - truth) / truth if truth != 0 else math.nan,
        mc_se=sd / math.sqrt(n) if n > 1 else math.nan,
        mean_interval_width=statistics.fmean(h - lo for lo, h in zip(lows, highs, strict=True))
        if n
        else math.nan,
        readmission_truth=readmission_truth,
        readmission_coverage=r_cov,
        readmission_bias=r_bias,
    )


def validate_savings(
    seeds: Sequence[int],
    *,
    effect: float = DEFAULT_EFFECT,
    designs: Sequence[Design | str] = DEFAULT_DESIGNS,
    stays_per_group: int = DEFAULT_STAYS_PER_GROUP,
    period_days: int = DEFAULT_PERIOD_DAYS,
    n_resamples: int = DEFAULT_VALIDATION_RESAMPLES,
    progress: Callable[[int, int], None] | None = None,
) -> SavingsValidation:
    """Coverage and bias of :func:`estimate_effect` over seeds, with no effect and with ``effect``.

    Parameters
    ----------
    seeds
        Validation seeds (each gives independent data; see :func:`simulate_validation_records`).
    effect
        The known effect of the second scenario (> 0).
    designs
        Designs to check (default all three).
    stays_per_group, period_days
        Size of each data set (see :func:`simulate_validation_records`).
    n_resamples
        Bootstrap resamples per estimate (the report uses 2,000; 1,000 keeps a 100-seed run
        within a few minutes and changes percentile ends by Monte Carlo noise only).
    progress
        Called with (seeds done, seeds in all) after each seed.

    Returns
    -------
    SavingsValidation
    """
    if effect <= 0:
        raise ValueError(f"effect must be > 0 for the known-effect scenario, got {effect}")
    if not seeds:
        raise ValueError("at least one seed is needed")
    chosen = tuple(Design(d) for d in designs)
    started = time.monotonic()
    truth = true_effect(effect)
    truths = {
        0.0: (0.0, 0.0),
        effect: (truth.bed_days_avoided_per_stay, truth.readmissions_avoided_per_stay),
    }
    outcomes: dict[tuple[Design, float], list[Any]] = {(d, e): [] for d in chosen for e in truths}
    failed: dict[tuple[Design, float], list[int]] = {(d, e): [] for d in chosen for e in truths}
    for done, seed in enumerate(seeds, start=1):
        for size in truths:
            records = simulate_validation_records(
                seed, effect=size, stays_per_group=stays_per_group, period_days=period_days
            )
            for design in chosen:
                try:
                    est = estimate_effect(
                        records, design=design, n_resamples=n_resamples, seed=seed
                    )
                except InsufficientData as exc:
                    logger.warning("seed %d, %s, effect %g: %s", seed, design.value, size, exc)
                    failed[(design, size)].append(seed)
                    continue
                bed = est.bed_days_avoided_per_stay
                readm = est.readmissions_avoided_per_stay
                outcomes[(design, size)].append(
                    (
                        seed,
                        bed.value,
                        bed.low,
                        bed.high,
                        None if readm is None else readm.value,
                        None if readm is None else readm.low,
                        None if readm is None else readm.high,
                    )
                )
        if progress is not None:
            progress(done, len(seeds))
    results = tuple(
        _scenario(d, e, truths[e][0], truths[e][1], outcomes[(d, e)], failed[(d, e)])
        for d in chosen
        for e in truths
    )
    return SavingsValidation(
        seeds=tuple(seeds),
        effect=effect,
        truth=truth,
        stays_per_group=stays_per_group,
        period_days=period_days,
        n_resamples=n_resamples,
        scenarios=results,
        elapsed_s=time.monotonic() - started,
    )
