"""Validation of the savings estimator in worlds where its assumptions fail, one at a time.

``stayactive validate savings`` runs these besides the textbook scenarios of
:mod:`stayactive.tools.validation.savings`. For every seed and scenario it simulates an evaluation
(:func:`firmware_sim.world.evaluation.simulate_evaluation`), builds the stay table as the data
layer would at the analysis instant (censoring, 30-day windows, measured admission mobility),
and runs each design with its checks (:func:`analytics.stays.diagnose_design`). A design in a
scenario is expected to do one of three things:

``recover``  its assumptions hold: the 95% interval covers the truth in at least 90% of seeds
             and the mean estimate is within 10% of it, or within 2.5 Monte Carlo standard
             errors where those are wider (the noisier designs on 100 seeds);
``flag``     its assumptions fail and the design checks (or the estimator's refusal) must say so
             in at least 80% of seeds;
``report``   its assumptions fail in a way no check can see (unmeasured confounding): the bias
             is measured and reported, with no pass criterion, and the E-value is the reader's
             guide.

Coverage comes with a Clopper-Pearson 95% interval, and the spread-to-interval ratio is the
standard deviation of the estimates over seeds divided by the mean half-width of the interval
over 1.96: near 1 when the intervals are as wide as the estimates really spread.

"Silent misses" is the share of seeds in which the design's interval missed the truth and no
check of an assumption flagged it (a refusal counts as a flag): how often a reader would be
misled without a warning. It is reported beside every expectation, with no pass criterion.

The money check simulates a municipality with known costs: the capacity value per year of its
programme stays (stays x uptake x (bed-days + municipal readmission bed-days avoided) x cost)
is known from the paired truth, and the money layer's interval, fed with each seed's effect
replicates, must cover it in 90% of seeds.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np

from analytics.stays import (
    Design,
    InsufficientData,
    StayRecords,
    age_band,
    diagnose_design,
    estimate_effect,
    estimate_savings,
    mobility_band,
)
from analytics.stays.money import money_figures
from analytics.stays.parameters import default_parameters
from firmware_sim.world.evaluation import (
    EvaluationScenario,
    EvaluationTruth,
    SimulatedEvaluation,
    evaluation_truth,
    simulate_evaluation,
)
from stayactive.tools.validation._figures import coverage_interval, spread_to_interval

logger = logging.getLogger(__name__)

Expectation = Literal["recover", "flag", "report"]
COVERAGE_MIN: Final = 0.90
RELATIVE_BIAS_MAX: Final = 0.10
FLAGGED_MIN: Final = 0.80
#: A bias within this many Monte Carlo standard errors of the mean is seed noise.
BIAS_MC_SE: Final = 2.5
HORIZON_DAYS: Final = 60.0
DESIGNS: Final = (Design.CONCURRENT, Design.HISTORICAL, Design.DIFFERENCE_IN_DIFFERENCES)
#: The checks of an assumption: "flagged" is the share of seeds where the estimator refused or
#: one of these flagged. The permutation test and the count of comparison wards are about the
#: strength of the evidence, not about an assumption, and are left out of that share.
ASSUMPTION_CHECKS: Final = ("pre-trend", "placebo go-live", "ward differences")

#: The scenarios and what each design is expected to do in them.
SCENARIOS: Final[tuple[tuple[EvaluationScenario, dict[Design, Expectation]], ...]] = (
    (
        EvaluationScenario(
            "confounded",
            "device wards admit faster recoverers (selected on admission gait speed and on the "
            "unmeasured recovery rate); gait speed measured with error (SD 0.08 m/s) and "
            "missing more often for the frail",
            device_wards=3,
            comparison_wards=3,
            confounding=0.5,
            mobility_error_sd=0.08,
            mobility_missing_frail=0.5,
        ),
        {Design.CONCURRENT: "report", Design.HISTORICAL: "recover",
         Design.DIFFERENCE_IN_DIFFERENCES: "recover"},
    ),
    (
        EvaluationScenario(
            "trend",
            "recovery speeds up 30 % a year on every ward (stays shorten) with a ±15 % "
            "seasonal swing: parallel trends hold, no secular stability",
            device_wards=3,
            comparison_wards=3,
            trend_per_year=0.3,
            seasonal_amplitude=0.15,
        ),
        {Design.CONCURRENT: "recover", Design.HISTORICAL: "flag",
         Design.DIFFERENCE_IN_DIFFERENCES: "recover"},
    ),
    (
        EvaluationScenario(
            "long-stays",
            "a fifth of residents recover four times slower, with stays up to 150 days, and "
            "the programme helps only them",
            device_wards=3,
            comparison_wards=3,
            long_stay_share=0.2,
            effect_in_long_stays_only=True,
        ),
        {Design.CONCURRENT: "recover", Design.HISTORICAL: "recover",
         Design.DIFFERENCE_IN_DIFFERENCES: "recover"},
    ),
    (
        EvaluationScenario(
            "ward-effect",
            "each ward has its own recovery rate (log-SD 0.4): wards differ beyond case mix",
            device_wards=3,
            comparison_wards=3,
            ward_sd=0.4,
        ),
        {Design.CONCURRENT: "flag", Design.HISTORICAL: "recover",
         Design.DIFFERENCE_IN_DIFFERENCES: "recover"},
    ),
    (
        EvaluationScenario(
            "new-comparison-ward",
            "the only comparison ward opened 21 days before the analysis: 30 stays, nearly "
            "all still going on",
            device_wards=2,
            comparison_wards=1,
            new_comparison_ward_days=21,
        ),
        {Design.CONCURRENT: "flag", Design.HISTORICAL: "recover",
         Design.DIFFERENCE_IN_DIFFERENCES: "flag"},
    ),
)  # fmt: skip


def records_from_evaluation(sim: SimulatedEvaluation) -> StayRecords:
    """The stay table the data layer would build at the analysis instant (end of after)."""
    p = float(sim.period_days)
    follow = p - sim.admission_day
    discharged = sim.los_days <= follow
    home = discharged & (sim.destination == "home")
    window = follow >= sim.los_days + 30.0
    n = len(sim.los_days)
    return StayRecords.from_columns(
        stay_id=[f"s{i}" for i in range(n)],
        los_days=np.minimum(sim.los_days, follow),
        discharged=discharged,
        destination=[
            str(d) if e else None for d, e in zip(sim.destination, discharged, strict=True)
        ],
        readmitted_30d=[
            bool(r) if h and w else None
            for r, h, w in zip(sim.readmitted, home, window, strict=True)
        ],
        arm=sim.arm,
        period=np.where(sim.admission_day >= 0, "after", "before"),
        age_band=[age_band(math.floor(a)) for a in sim.age_y],
        stay_type=[str(t) for t in sim.stay_type],
        mobility_band=[
            mobility_band(None if math.isnan(v) else float(v)) for v in sim.gait_speed_measured_mps
        ],
        ward=sim.ward,
        admission_day=sim.admission_day,
        follow_up_days=follow,
    )


@dataclass(frozen=True)
class ScenarioDesignResult:
    """One design in one scenario over the seeds."""

    scenario: str
    design: str
    expectation: Expectation
    truth: float
    n_seeds: int
    n_estimated: int
    coverage: float
    coverage_low: float
    coverage_high: float
    mean_estimate: float
    bias: float
    relative_bias: float
    mc_se: float
    spread_to_interval: float
    flagged: float
    silent_miss: float

    def passed(self) -> bool:
        """Whether the design did what the scenario expects of it (module docstring)."""
        if self.expectation == "flag":
            return self.flagged >= FLAGGED_MIN
        if self.expectation == "report":
            return True
        tolerance = max(RELATIVE_BIAS_MAX * abs(self.truth), BIAS_MC_SE * self.mc_se)
        return (
            self.n_estimated == self.n_seeds
            and self.coverage >= COVERAGE_MIN
            and abs(self.bias) < tolerance
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "scenario": self.scenario,
            "design": self.design,
            "expectation": self.expectation,
            "truth": self.truth,
            "n_seeds": self.n_seeds,
            "n_estimated": self.n_estimated,
            "coverage": self.coverage,
            "coverage_ci": [self.coverage_low, self.coverage_high],
            "bias": self.bias,
            "relative_bias": self.relative_bias,
            "mean_estimate": self.mean_estimate,
            "mc_se_of_mean": self.mc_se,
            "spread_to_interval": self.spread_to_interval,
            "flagged": self.flagged,
            "silent_miss": self.silent_miss,
            "passed": self.passed(),
        }


def summarise(
    scenario: str,
    design: Design,
    expectation: Expectation,
    truth: float,
    n_seeds: int,
    outcomes: Sequence[tuple[float, float, float]],
    flagged: int,
    silent_misses: int,
) -> ScenarioDesignResult:
    """Coverage (with its interval), bias, spread-to-interval ratio, flag rate and the share
    of silent misses (``silent_misses`` of ``n_seeds``)."""
    n = len(outcomes)
    covered = sum(lo <= truth <= hi for _, lo, hi in outcomes)
    estimates = [v for v, _, _ in outcomes]
    mean = statistics.fmean(estimates) if estimates else math.nan
    low, high = coverage_interval(covered, n)
    return ScenarioDesignResult(
        scenario=scenario,
        design=design.value,
        expectation=expectation,
        truth=truth,
        n_seeds=n_seeds,
        n_estimated=n,
        coverage=covered / n if n else math.nan,
        coverage_low=low,
        coverage_high=high,
        mean_estimate=mean,
        bias=mean - truth,
        relative_bias=(mean - truth) / truth if truth else math.nan,
        mc_se=statistics.stdev(estimates) / math.sqrt(n) if n > 1 else math.nan,
        spread_to_interval=spread_to_interval(estimates, [hi - lo for _, lo, hi in outcomes]),
        flagged=flagged / n_seeds if n_seeds else math.nan,
        silent_miss=silent_misses / n_seeds if n_seeds else math.nan,
    )


_Outcome = tuple[str, str, tuple[float, float, float] | None, bool]


def _one_seed(
    seed: int, effect: float, n_resamples: int, names: Sequence[str] | None
) -> list[_Outcome]:
    """(scenario, design, (estimate, low, high) or None if refused, flagged) for one seed."""
    out: list[_Outcome] = []
    for scenario, _ in SCENARIOS:
        if names is not None and scenario.name not in names:
            continue
        records = records_from_evaluation(simulate_evaluation(scenario, seed, effect=effect))
        for design in DESIGNS:
            try:
                est = estimate_effect(records, design=design, n_resamples=n_resamples, seed=seed)
            except InsufficientData as exc:
                logger.info("%s seed %d %s: refused: %s", scenario.name, seed, design.value, exc)
                out.append((scenario.name, design.value, None, True))
                continue
            bed = est.bed_days_avoided_per_stay
            checks = diagnose_design(
                records, design, horizon_days=est.horizon_days,
                observed_effect=bed.value, seed=seed, checks=ASSUMPTION_CHECKS,
            )  # fmt: skip
            flagged = any(c.status == "flag" for c in checks.checks)
            out.append((scenario.name, design.value, (bed.value, bed.low, bed.high), flagged))
    return out


def silent_misses(rows: Sequence[_Outcome], truth: float) -> int:
    """Seeds whose interval missed ``truth`` while nothing flagged (a refusal is a flag)."""
    return sum(
        not flagged and not interval[1] <= truth <= interval[2]
        for _, _, interval, flagged in rows
        if interval is not None
    )


def run_scenarios(
    seeds: Sequence[int],
    *,
    effect: float,
    n_resamples: int,
    names: Sequence[str] | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[tuple[ScenarioDesignResult, ...], dict[str, EvaluationTruth]]:
    """Every scenario (or those in ``names``) and design over ``seeds``; ``jobs`` worker
    processes share the seeds (each seed is independent)."""
    chosen = [(s, e) for s, e in SCENARIOS if names is None or s.name in names]
    truths = {
        s.name: evaluation_truth(s, effect=effect, horizon_days=HORIZON_DAYS) for s, _ in chosen
    }
    per_seed: list[list[_Outcome]] = []
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_one_seed, s, effect, n_resamples, names) for s in seeds]
            for done, future in enumerate(futures, start=1):
                per_seed.append(future.result())
                if progress is not None:
                    progress(done, len(seeds))
    else:
        for done, seed in enumerate(seeds, start=1):
            per_seed.append(_one_seed(seed, effect, n_resamples, names))
            if progress is not None:
                progress(done, len(seeds))
    results = []
    for s, expected in chosen:
        for d in DESIGNS:
            rows = [o for seed_rows in per_seed for o in seed_rows if o[:2] == (s.name, d.value)]
            outcomes = [o[2] for o in rows if o[2] is not None]
            flagged = sum(o[3] for o in rows)
            truth = truths[s.name].bed_days_avoided_per_stay
            silent = silent_misses(rows, truth)
            results.append(
                summarise(s.name, d, expected[d], truth, len(seeds), outcomes, flagged, silent)
            )
    return tuple(results), truths


@dataclass(frozen=True)
class MoneyCheck:
    """The money layer against a simulated municipality with known costs."""

    truth_capacity_value_nok: float
    coverage: float
    coverage_low: float
    coverage_high: float
    relative_bias: float
    n_seeds: int

    def passed(self) -> bool:
        """Coverage at least 90 % and mean within 10 % of the truth."""
        return self.coverage >= COVERAGE_MIN and abs(self.relative_bias) < RELATIVE_BIAS_MAX

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "truth_capacity_value_nok": self.truth_capacity_value_nok,
            "coverage": self.coverage,
            "coverage_ci": [self.coverage_low, self.coverage_high],
            "bias": self.relative_bias,
            "relative_bias": self.relative_bias,
            "n_seeds": self.n_seeds,
            "flagged": 0.0,
            "silent_miss": 1.0 - self.coverage,  # the money layer runs no checks
            "passed": self.passed(),
        }


def run_money_check(seeds: Sequence[int], *, effect: float, n_resamples: int) -> MoneyCheck:
    """Capacity value per year of a simulated municipality (default parameters as its known
    costs), estimated from each seed's difference-in-differences effect."""
    scenario = EvaluationScenario(
        "money", "textbook world, three wards each", device_wards=3, comparison_wards=3
    )
    truth = evaluation_truth(scenario, effect=effect, horizon_days=HORIZON_DAYS)
    params = default_parameters("simulated-municipality")
    v = params.values()
    true_value = float(
        money_figures(
            truth.bed_days_avoided_per_stay, truth.readmissions_avoided_per_stay,
            truth.control_rmst_days, v,
        ).capacity_value_nok
    )  # fmt: skip
    hits: list[bool] = []
    values: list[float] = []
    for seed in seeds:
        records = records_from_evaluation(simulate_evaluation(scenario, seed, effect=effect))
        est = estimate_effect(
            records, design=Design.DIFFERENCE_IN_DIFFERENCES, n_resamples=n_resamples, seed=seed
        )
        s = estimate_savings(est, params).capacity_value_nok
        hits.append(s.low <= true_value <= s.high)
        values.append(s.value)
    low, high = coverage_interval(sum(hits), len(hits))
    return MoneyCheck(
        truth_capacity_value_nok=true_value,
        coverage=sum(hits) / len(hits),
        coverage_low=low,
        coverage_high=high,
        relative_bias=(statistics.fmean(values) - true_value) / true_value,
        n_seeds=len(hits),
    )
