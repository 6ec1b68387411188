"""Money parameters: a tenant's versioned, sourced and validated inputs to the savings model.

Every number that turns bed-days into NOK is a :class:`Parameter` with its unit, its source and
the date it refers to, so a report can show exactly which figures it rests on and which are still
placeholders (``needs_confirmation``). A :class:`ParameterSet` groups them per tenant and
version and refuses values that make no sense (negative costs, shares outside [0, 1], wrong
units) with :class:`~analytics.stays.errors.InvalidParameter`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date
from typing import Final

from analytics.stays.errors import InvalidParameter

#: Expected unit of each parameter of a :class:`ParameterSet`.
PARAMETER_UNITS: Final[dict[str, str]] = {
    "cost_per_bed_day_nok": "NOK/bed-day",
    "readmission_cost_nok": "NOK/readmission",
    "annual_short_term_budget_nok": "NOK/year",
    "uptake_share": "share",
    "device_count": "devices",
    "device_cost_per_year_nok": "NOK/device/year",
    "licence_cost_per_year_nok": "NOK/year",
    "staff_time_per_stay_h": "hours/stay",
    "staff_cost_per_hour_nok": "NOK/hour",
    "one_off_cost_nok": "NOK",
    "write_off_years": "years",
}
_SHARES: Final = frozenset({"uptake_share"})
_POSITIVE: Final = frozenset(
    {"cost_per_bed_day_nok", "annual_short_term_budget_nok", "write_off_years"}
)


@dataclass(frozen=True)
class Parameter:
    """One input of the money model, with where it comes from.

    Attributes
    ----------
    name
        The field of :class:`ParameterSet` it fills, e.g. ``"cost_per_bed_day_nok"``.
    value
        The base value, in ``unit``.
    unit
        E.g. ``"NOK/bed-day"``; must match :data:`PARAMETER_UNITS`.
    source
        Where the value comes from, precise enough to check it.
    as_of
        The date the value refers to (or was last confirmed).
    low, high
        Plausible range for the sensitivity analysis; None if not given.
    needs_confirmation
        True for a placeholder or an unverified figure; reports list these prominently.
    """

    name: str
    value: float
    unit: str
    source: str
    as_of: date
    low: float | None = None
    high: float | None = None
    needs_confirmation: bool = False


@dataclass(frozen=True)
class ParameterSet:
    """A tenant's versioned set of money parameters, validated on construction.

    A set is immutable: a changed figure makes a new version (:meth:`replace`), so every
    savings estimate names the exact parameters it used.

    Attributes
    ----------
    tenant, version
        Whose parameters, and which version of them.
    cost_per_bed_day_nok
        Net operating cost of one bed-day in a municipal short-term stay.
    readmission_cost_nok
        Cost to the municipality of one readmission.
    annual_short_term_budget_nok
        The tenant's yearly budget for short-term stays: the scale of the extrapolation.
    uptake_share
        Share of the tenant's short-term stays that the programme reaches.
    device_count, device_cost_per_year_nok
        Devices in use, and lease, service and depreciation per device and year.
    licence_cost_per_year_nok
        Software licences and hosting per year.
    staff_time_per_stay_h, staff_cost_per_hour_nok
        Extra staff time the programme takes per stay, and its cost per hour.
    one_off_cost_nok, write_off_years
        Implementation cost (purchase, installation, training) and the years it is written
        off over.
    beds_closed, beds_closed_note
        Whether the tenant has decided to close beds (then savings are cash-releasing), and
        the decision's reference.

    Raises
    ------
    InvalidParameter
        A value out of range ("cost_per_bed_day_nok must be > 0 NOK/bed-day, got -5"), a share
        outside [0, 1], a wrong unit or name, an empty source, or a range not around the value.
    """

    tenant: str
    version: str
    cost_per_bed_day_nok: Parameter
    readmission_cost_nok: Parameter
    annual_short_term_budget_nok: Parameter
    uptake_share: Parameter
    device_count: Parameter
    device_cost_per_year_nok: Parameter
    licence_cost_per_year_nok: Parameter
    staff_time_per_stay_h: Parameter
    staff_cost_per_hour_nok: Parameter
    one_off_cost_nok: Parameter
    write_off_years: Parameter
    beds_closed: bool = False
    beds_closed_note: str = ""

    def __post_init__(self) -> None:
        if not self.tenant.strip() or not self.version.strip():
            raise InvalidParameter("tenant", "tenant and version must not be empty")
        for name in PARAMETER_UNITS:
            _validate(name, getattr(self, name))
        if self.beds_closed and not self.beds_closed_note.strip():
            raise InvalidParameter(
                "beds_closed",
                "beds_closed needs beds_closed_note saying which decision closed them",
            )

    def parameters(self) -> tuple[Parameter, ...]:
        """All parameters, in the order of :data:`PARAMETER_UNITS`."""
        return tuple(getattr(self, name) for name in PARAMETER_UNITS)

    def values(self) -> dict[str, float]:
        """Base value of every parameter by name."""
        return {p.name: p.value for p in self.parameters()}

    def unconfirmed(self) -> tuple[str, ...]:
        """Names of parameters marked as needing confirmation."""
        return tuple(p.name for p in self.parameters() if p.needs_confirmation)

    def replace(self, version: str, **parameters: Parameter) -> ParameterSet:
        """A new version with some parameters replaced (validated again)."""
        if version == self.version:
            raise InvalidParameter(
                "version", f"a changed parameter set needs a new version, not {version!r}"
            )
        return dataclasses.replace(self, version=version, **parameters)  # type: ignore[arg-type]


def check_value(name: str, value: float) -> None:
    """Raise :class:`InvalidParameter` if ``value`` is not allowed for parameter ``name``."""
    unit = PARAMETER_UNITS[name]
    if not math.isfinite(value):
        raise InvalidParameter(name, f"{name} must be a finite number, got {value}")
    if name in _SHARES and not 0.0 <= value <= 1.0:
        raise InvalidParameter(name, f"{name} must be a share between 0 and 1, got {value}")
    if name in _POSITIVE and value <= 0:
        raise InvalidParameter(name, f"{name} must be > 0 {unit}, got {value:g}")
    if value < 0:
        raise InvalidParameter(name, f"{name} must be ≥ 0 {unit}, got {value:g}")
    if name == "device_count" and value != int(value):
        raise InvalidParameter(name, f"{name} must be a whole number of devices, got {value}")


def _validate(name: str, parameter: object) -> None:
    if not isinstance(parameter, Parameter):
        raise InvalidParameter(name, f"{name} must be a Parameter, got {type(parameter).__name__}")
    if parameter.name != name:
        raise InvalidParameter(name, f"parameter {parameter.name!r} given for field {name!r}")
    if parameter.unit != PARAMETER_UNITS[name]:
        raise InvalidParameter(
            name, f"{name} must be in {PARAMETER_UNITS[name]}, got unit {parameter.unit!r}"
        )
    if not parameter.source.strip():
        raise InvalidParameter(name, f"{name} needs a source")
    if not isinstance(parameter.as_of, date):
        raise InvalidParameter(name, f"{name}.as_of must be a date, got {parameter.as_of!r}")
    check_value(name, parameter.value)
    for end in ("low", "high"):
        bound = getattr(parameter, end)
        if bound is not None:
            try:
                check_value(name, bound)
            except InvalidParameter as exc:
                raise InvalidParameter(name, f"{name}.{end} is out of range: {exc}") from exc
    if parameter.low is not None and parameter.low > parameter.value:
        raise InvalidParameter(
            name, f"{name}: low {parameter.low:g} is above the value {parameter.value:g}"
        )
    if parameter.high is not None and parameter.high < parameter.value:
        raise InvalidParameter(
            name, f"{name}: high {parameter.high:g} is below the value {parameter.value:g}"
        )


_RECORDED: Final = date(2026, 11, 27)
_PLACEHOLDER: Final = (
    "Placeholder for illustration, no source: the procurement contract for the devices is still "
    "being negotiated (Norwegian digitalisation strategy, ch. 7). Replace with contract figures."
)


def default_parameters(tenant: str = "stavanger") -> ParameterSet:
    """Default parameters, as a starting point for a tenant's own set.

    Every default is marked ``needs_confirmation``: the day cost is a planning range, not a
    verified KOSTRA figure, and programme costs are placeholders until the contract is signed.
    """

    def p(
        name: str,
        value: float,
        source: str,
        as_of: date = _RECORDED,
        low: float | None = None,
        high: float | None = None,
    ) -> Parameter:
        return Parameter(name, value, PARAMETER_UNITS[name], source, as_of, low, high, True)

    return ParameterSet(
        tenant=tenant,
        version="defaults-2026-11-27",
        cost_per_bed_day_nok=p(
            "cost_per_bed_day_nok",
            2850.0,
            "Mid-point of the planning range NOK 2,600-3,100 net per bed-day in a municipal "
            "short-term stay, from the StayActive programme brief; NOT verified. The nearest "
            "KOSTRA figure, 'Utgifter per oppholdsdøgn i institusjon' (SSB: gross operating "
            "expenditure of KOSTRA functions 253 + 261 per oppholdsdøgn from IPLOS/KPR), is "
            "gross, not net, and covers long-term as well as short-term stays. Confirm the "
            "tenant's own figure and year.",
            low=2600.0,
            high=3100.0,
        ),
        readmission_cost_nok=p(
            "readmission_cost_nok",
            28_500.0,
            "Placeholder, no source: ten short-term bed-days at NOK 2,850, on the reasoning "
            "that a readmission usually ends in a new municipal stay. Range: 0 (hospital paid "
            "by the health trust, no new municipal stay) to twenty bed-days.",
            low=0.0,
            high=57_000.0,
        ),
        annual_short_term_budget_nok=p(
            "annual_short_term_budget_nok",
            200e6,
            "Norwegian digitalisation strategy 'One digital public sector' (2019), ch. 7: "
            "short-term stays cost the City of Stavanger NOK 200 million annually. The year of "
            "the figure is not stated (as_of is the publication year); confirm against the "
            "current budget.",
            as_of=date(2019, 1, 1),
        ),
        uptake_share=p(
            "uptake_share",
            0.5,
            "Placeholder: share of the tenant's short-term stays on wards with the programme "
            "(and consenting). A scenario choice, not a measured value.",
            low=0.25,
            high=0.75,
        ),
        device_count=p("device_count", 40.0, _PLACEHOLDER, low=20.0, high=60.0),
        device_cost_per_year_nok=p(
            "device_cost_per_year_nok", 20_000.0, _PLACEHOLDER, low=15_000.0, high=30_000.0
        ),
        licence_cost_per_year_nok=p(
            "licence_cost_per_year_nok", 150_000.0, _PLACEHOLDER, low=100_000.0, high=250_000.0
        ),
        staff_time_per_stay_h=p("staff_time_per_stay_h", 1.0, _PLACEHOLDER, low=0.5, high=2.0),
        staff_cost_per_hour_nok=p(
            "staff_cost_per_hour_nok", 650.0, _PLACEHOLDER, low=550.0, high=750.0
        ),
        one_off_cost_nok=p("one_off_cost_nok", 500_000.0, _PLACEHOLDER, low=250_000.0, high=1e6),
        write_off_years=p("write_off_years", 5.0, _PLACEHOLDER, low=3.0, high=5.0),
    )
