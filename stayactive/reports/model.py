"""The finance report as data: tables of published values, ready for JSON, CSV or PDF.

Everything here has already passed small-cell suppression: a suppressed count is a
:class:`Value` with ``value=None`` and a note, never the number. Renderers only lay out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from analytics.stays import Estimate
from stayactive.locale_format import Language

SUPPRESSED_NOTE = "suppressed (fewer than 5, or protects a cell that is)"


@dataclass(frozen=True)
class Value:
    """One published figure: a value with an optional interval, or None with a note.

    ``value`` is None where the figure is suppressed or not available; ``note`` says which.
    Infinite values (a median or payback "not reached") are None with the note "not reached".
    """

    value: float | None
    low: float | None = None
    high: float | None = None
    unit: str = ""
    note: str = ""

    @classmethod
    def of(cls, estimate: Estimate) -> Value:
        """From a core :class:`~analytics.stays.Estimate` (infinite ends become None)."""
        note = ""
        if math.isinf(estimate.value):
            note = "not reached"
        elif math.isinf(estimate.high) or math.isinf(estimate.low):
            note = "interval end not reached"
        return cls(
            _finite(estimate.value),
            _finite(estimate.low),
            _finite(estimate.high),
            estimate.unit,
            note,
        )

    @classmethod
    def count(cls, n: int, suppressed: bool, unit: str = "stays") -> Value:
        """A count, or None if suppressed."""
        return (
            cls(None, unit=unit, note=SUPPRESSED_NOTE) if suppressed else cls(float(n), unit=unit)
        )

    @classmethod
    def missing(cls, note: str, unit: str = "") -> Value:
        """No figure, and why."""
        return cls(None, unit=unit, note=note)


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


#: A table cell: a figure, or text (a source, a date, a label).
Cell = Value | str


@dataclass(frozen=True)
class Row:
    """One line of a table."""

    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    """A titled table; ``key`` is a stable machine name (JSON/CSV section)."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str = ""


@dataclass(frozen=True)
class TornadoBarOut:
    """One bar of the tornado: the outcome with one input at each end of its range."""

    input: str
    label: str
    unit: str
    base: float
    low: float
    high: float
    range_source: str
    outcome_at_low: float
    outcome_at_high: float


@dataclass(frozen=True)
class TornadoOut:
    """One-way sensitivity of an outcome (net value, NOK/year), widest bar first."""

    outcome: str
    unit: str
    base_value: float
    bars: tuple[TornadoBarOut, ...]


@dataclass(frozen=True)
class Headline:
    """The figures a finance officer reads first, with the sentence that says them.

    NOK per year at full roll-out, intervals from the probabilistic sensitivity analysis.
    ``bed_days_freed`` is the capacity in bed-days a year that ``capacity_value`` puts a price
    on. ``probability_net_negative`` is P(value of freed capacity - programme cost < 0).
    """

    bed_days_freed: Value
    capacity_value: Value
    safe_cash_effect: Value
    cash_effect: Value
    net_value: Value
    probability_net_negative: float
    sentence: str


@dataclass(frozen=True)
class SavingsReport:
    """Everything the finance report shows, already suppressed.

    Attributes
    ----------
    tenant, tenant_name, generated_at, analysis_at, time_zone, language
        Whose (id, and the name a reader knows: "Stavanger kommune"), when it was computed,
        the instant the data are "as of", and the language of its labels (``"nb"`` bokmål or
        ``"en"``).
    headline, decisive_assumptions
        The headline box and the assumptions that decide it, shown first.
    draft, draft_reasons
        True while a parameter is unconfirmed, the design is weak or not chosen in advance,
        or the figures rest on fewer than 10,000 resamples; the reasons in words.
    price_year
        Price year of every NOK figure.
    status
        ``"complete"``; ``"no effect estimate"`` (descriptive tables only, see ``messages``);
        or ``"no data"``.
    messages
        What could not be computed and why, for the reader (empty when complete).
    design, design_basis, design_description
        The comparison used, whether the tenant chose it (by whom, when, why) or it was
        inferred, and one sentence on who is compared with whom.
    horizon_days, n_resamples, seed, confidence_level
        How the effect was estimated.
    parameter_version, parameter_basis, parameter_values
        Which parameter set the money figures rest on, who stored it when, and the value of
        every parameter by name (what a scenario starts from).
    savings_kind
        ``"freed capacity"`` or ``"cash-releasing"`` (None without money figures).
    tables
        The report's tables, in reading order (``key`` names them).
    tornado
        One-way sensitivity of net savings (None without money figures).
    assumptions, notes, method
        Text shown with the figures.
    """

    tenant: str
    tenant_name: str
    generated_at: datetime
    analysis_at: datetime
    time_zone: str
    language: Language
    headline: Headline | None
    decisive_assumptions: tuple[str, ...]
    draft: bool
    draft_reasons: tuple[str, ...]
    price_year: int
    status: str
    messages: tuple[str, ...]
    design: str | None
    design_basis: str
    design_description: str
    horizon_days: float
    n_resamples: int
    seed: int
    confidence_level: float
    parameter_version: str
    parameter_basis: str
    parameter_values: dict[str, float]
    savings_kind: str | None
    tables: tuple[Table, ...]
    tornado: TornadoOut | None
    assumptions: tuple[str, ...]
    notes: tuple[str, ...]
    method: tuple[str, ...]

    def table(self, key: str) -> Table:
        """The table named ``key``; KeyError if the report has none."""
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)
