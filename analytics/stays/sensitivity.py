"""Sensitivity of the savings: one-way (tornado) and low/base/high scenarios.

Deterministic sensitivity analysis as recommended for budget impact analyses (Sullivan et al.
2014): each input is moved alone to the ends of its plausible range while the others stay at
base (tornado), then all inputs together to their unfavourable and favourable ends (scenarios).
Ranges come from the effect's confidence intervals (bed-days and readmissions avoided per stay)
and from the ``low``/``high`` of each :class:`~analytics.stays.money.Parameter`; the core inputs
without a range get ±25 % around the base, and the bar says so.

The joint scenarios combine extremes that are unlikely to occur together: they bound what is
plausible, they are not a probability interval. The functions return data; charts are drawn
elsewhere.

References
----------
.. [1] Sullivan SD, Mauskopf JA, Augustovski F, et al. Budget impact analysis — principles of
   good practice: report of the ISPOR 2012 Budget Impact Analysis Good Practice II Task Force.
   Value Health 2014;17(1):5-14. doi:10.1016/j.jval.2013.08.2291
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from analytics.stays.effect import EffectEstimate
from analytics.stays.money import money_figures
from analytics.stays.parameters import ParameterSet, check_value

#: Outcomes a tornado can be drawn for (fields of :class:`~analytics.stays.money.MoneyFigures`).
OUTCOMES: Final = (
    "net_value_nok",
    "capacity_value_nok",
    "cash_effect_nok",
    "programme_cost_nok",
    "bed_days_freed_per_year",
    "readmissions_avoided_per_year",
)
#: Inputs always in the tornado (with ±25 % if no range is given).
CORE_INPUTS: Final = (
    "bed_days_avoided_per_stay",
    "readmissions_avoided_per_stay",
    "cost_per_bed_day_nok",
    "stays_per_year",
    "uptake_share",
    "device_cost_per_year_nok",
)
_EFFECTS: Final = ("bed_days_avoided_per_stay", "readmissions_avoided_per_stay")
_DEFAULT_RELATIVE_RANGE: Final = 0.25


@dataclass(frozen=True)
class InputRange:
    """An input of the money model and the range it is varied over."""

    name: str
    unit: str
    base: float
    low: float
    high: float
    range_source: str


@dataclass(frozen=True)
class TornadoBar:
    """The outcome with one input at each end of its range, all others at base."""

    input: InputRange
    outcome_at_low: float
    outcome_at_high: float

    @property
    def swing(self) -> float:
        """Width of the bar: |outcome at high - outcome at low|."""
        return abs(self.outcome_at_high - self.outcome_at_low)


@dataclass(frozen=True)
class Tornado:
    """One-way sensitivity of ``outcome``, bars sorted by swing (widest first)."""

    outcome: str
    base_value: float
    bars: tuple[TornadoBar, ...]


@dataclass(frozen=True)
class Scenario:
    """All inputs at once at their unfavourable (low), base, or favourable (high) end."""

    name: str
    inputs: dict[str, float]
    bed_days_freed_per_year: float
    readmissions_avoided_per_year: float
    capacity_value_nok: float
    programme_cost_nok: float
    net_value_nok: float
    cash_effect_nok: float


def input_ranges(effect: EffectEstimate, parameters: ParameterSet) -> tuple[InputRange, ...]:
    """The inputs varied: the core inputs, then every other parameter that has a range."""
    ranges: list[InputRange] = []
    bed = effect.bed_days_avoided_per_stay
    pct = round(100 * effect.confidence_level)
    ranges.append(
        InputRange(
            "bed_days_avoided_per_stay",
            bed.unit,
            bed.value,
            bed.low,
            bed.high,
            f"{pct}% CI of the effect",
        )
    )
    readm = effect.readmissions_avoided_per_stay
    if readm is not None:
        ranges.append(
            InputRange(
                "readmissions_avoided_per_stay",
                readm.unit,
                readm.value,
                readm.low,
                readm.high,
                f"{pct}% CI of the effect",
            )
        )
    for p in parameters.parameters():
        if p.low is not None and p.high is not None:
            ranges.append(InputRange(p.name, p.unit, p.value, p.low, p.high, "parameter range"))
        elif p.name in CORE_INPUTS:
            low = p.value * (1 - _DEFAULT_RELATIVE_RANGE)
            high = p.value * (1 + _DEFAULT_RELATIVE_RANGE)
            if p.name == "uptake_share":
                high = min(high, 1.0)
            check_value(p.name, low)
            ranges.append(
                InputRange(
                    p.name,
                    p.unit,
                    p.value,
                    low,
                    high,
                    f"±{_DEFAULT_RELATIVE_RANGE:.0%} (no range given)",
                )
            )
    return tuple(ranges)


def _evaluate(
    effect: EffectEstimate, parameters: ParameterSet, changes: dict[str, float]
) -> dict[str, float]:
    values = parameters.values()
    values.update({k: v for k, v in changes.items() if k not in _EFFECTS})
    readm = effect.readmissions_avoided_per_stay
    figures = money_figures(
        changes.get("bed_days_avoided_per_stay", effect.bed_days_avoided_per_stay.value),
        changes.get("readmissions_avoided_per_stay", readm.value if readm is not None else 0.0),
        effect.comparison_rmst_days.value,
        values,
    )
    return {name: float(getattr(figures, name)) for name in OUTCOMES}


def tornado(
    effect: EffectEstimate, parameters: ParameterSet, *, outcome: str = "net_value_nok"
) -> Tornado:
    """One-way sensitivity of ``outcome`` (default net value, NOK/year) to each input."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    base = _evaluate(effect, parameters, {})[outcome]
    bars = [
        TornadoBar(
            input=r,
            outcome_at_low=_evaluate(effect, parameters, {r.name: r.low})[outcome],
            outcome_at_high=_evaluate(effect, parameters, {r.name: r.high})[outcome],
        )
        for r in input_ranges(effect, parameters)
    ]
    bars.sort(key=lambda b: b.swing, reverse=True)
    return Tornado(outcome=outcome, base_value=base, bars=tuple(bars))


def scenarios(
    effect: EffectEstimate, parameters: ParameterSet
) -> tuple[Scenario, Scenario, Scenario]:
    """Low (every input at its end with the lower net value), base, and high scenarios."""
    ranges = input_ranges(effect, parameters)
    low_inputs: dict[str, float] = {}
    high_inputs: dict[str, float] = {}
    for r in ranges:
        at_low = _evaluate(effect, parameters, {r.name: r.low})["net_value_nok"]
        at_high = _evaluate(effect, parameters, {r.name: r.high})["net_value_nok"]
        worse, better = (r.low, r.high) if at_low <= at_high else (r.high, r.low)
        low_inputs[r.name], high_inputs[r.name] = worse, better
    base_inputs = {r.name: r.base for r in ranges}

    def scenario(name: str, inputs: dict[str, float]) -> Scenario:
        f = _evaluate(effect, parameters, inputs)
        return Scenario(
            name=name,
            inputs=inputs,
            bed_days_freed_per_year=f["bed_days_freed_per_year"],
            readmissions_avoided_per_year=f["readmissions_avoided_per_year"],
            capacity_value_nok=f["capacity_value_nok"],
            programme_cost_nok=f["programme_cost_nok"],
            net_value_nok=f["net_value_nok"],
            cash_effect_nok=f["cash_effect_nok"],
        )

    return scenario("low", low_inputs), scenario("base", base_inputs), scenario("high", high_inputs)
