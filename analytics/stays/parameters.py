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
    "variable_cost_share": "share",
    "stays_per_year": "stays/year",
    "annual_short_term_budget_nok": "NOK/year",
    "readmission_municipal_share": "share",
    "uptake_share": "share",
    "ramp_up_years": "years",
    "device_count": "devices",
    "device_cost_per_year_nok": "NOK/device/year",
    "licence_cost_per_year_nok": "NOK/year",
    "staff_time_per_stay_h": "hours/stay",
    "staff_cost_per_hour_nok": "NOK/hour",
    "one_off_cost_nok": "NOK",
    "write_off_years": "years",
    "beds_closed_count": "beds",
    "closed_bed_saving_share": "share",
    "discount_rate": "share/year",
    "price_year": "year",
}
_SHARES: Final = frozenset(
    {
        "uptake_share",
        "variable_cost_share",
        "readmission_municipal_share",
        "closed_bed_saving_share",
        "discount_rate",
    }
)
_POSITIVE: Final = frozenset(
    {
        "cost_per_bed_day_nok",
        "annual_short_term_budget_nok",
        "write_off_years",
        "stays_per_year",
        "ramp_up_years",
        "price_year",
    }
)
_WHOLE: Final = frozenset({"device_count", "beds_closed_count", "price_year"})


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
        Average net operating cost of one bed-day in a municipal short-term stay.
    variable_cost_share
        Share of that cost that falls away when a bed-day is not used but the bed stays open
        (food, medicines, consumables, laundry): the cash part of a freed bed-day.
    stays_per_year
        The tenant's short-term stays per year (KPR count; the report uses the count in the
        care records when they cover a whole year).
    annual_short_term_budget_nok
        The tenant's yearly budget for short-term stays (context: share of the budget).
    readmission_municipal_share
        Share of readmissions that are a new municipal short-term stay; the rest are hospital
        admissions, paid by the health trust and worth nothing to the municipal budget.
    uptake_share, ramp_up_years
        Share of the tenant's short-term stays the programme reaches once rolled out, and the
        years to get there (uptake in year k is ``uptake_share * min(1, k / ramp_up_years)``).
    device_count, device_cost_per_year_nok
        Devices needed if every short-term stay were in the programme (the model scales them
        with uptake), and lease, service and depreciation per device and year.
    licence_cost_per_year_nok
        Software licences and hosting per year if every stay were in the programme (scaled
        with uptake).
    staff_time_per_stay_h, staff_cost_per_hour_nok
        Extra staff time the programme takes per stay, and its cost per hour.
    one_off_cost_nok, write_off_years
        Implementation cost (purchase, installation, training) and the years it is written
        off over (as an annuity at the discount rate in the one-year view).
    beds_closed_count, closed_bed_saving_share
        Beds the tenant has decided to close, and the share of a closed bed's cost per
        bed-day that the budget actually saves (the cash line).
    discount_rate, price_year
        Real discount rate of the budget impact (4 % for public projects, Ministry of
        Finance circular R-109/2021) and the price year of every NOK figure.
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
    variable_cost_share: Parameter
    stays_per_year: Parameter
    annual_short_term_budget_nok: Parameter
    readmission_municipal_share: Parameter
    uptake_share: Parameter
    ramp_up_years: Parameter
    device_count: Parameter
    device_cost_per_year_nok: Parameter
    licence_cost_per_year_nok: Parameter
    staff_time_per_stay_h: Parameter
    staff_cost_per_hour_nok: Parameter
    one_off_cost_nok: Parameter
    write_off_years: Parameter
    beds_closed_count: Parameter
    closed_bed_saving_share: Parameter
    discount_rate: Parameter
    price_year: Parameter
    beds_closed: bool = False
    beds_closed_note: str = ""

    def __post_init__(self) -> None:
        if not self.tenant.strip() or not self.version.strip():
            raise InvalidParameter("tenant", "tenant and version must not be empty")
        for name in PARAMETER_UNITS:
            _validate(name, getattr(self, name))
        if self.beds_closed_count.value > 0 and not self.beds_closed:
            raise InvalidParameter(
                "beds_closed_count",
                "beds_closed_count > 0 needs beds_closed with the decision that closed them",
            )
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
    if name in _WHOLE and value != int(value):
        raise InvalidParameter(name, f"{name} must be a whole number of {unit}, got {value}")


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

    Every default is marked ``needs_confirmation`` (the day cost is a planning range, not a
    verified KOSTRA figure, and programme costs are placeholders until the contract is signed),
    except the discount rate, which is the Ministry of Finance's.
    """

    def p(
        name: str,
        value: float,
        source: str,
        as_of: date = _RECORDED,
        low: float | None = None,
        high: float | None = None,
    ) -> Parameter:
        # the discount rate is the Ministry's; no closed beds and the price year are facts
        confirmed = name in ("discount_rate", "beds_closed_count", "price_year")
        return Parameter(
            name, value, PARAMETER_UNITS[name], source, as_of, low, high, not confirmed
        )

    return ParameterSet(
        tenant=tenant,
        version="defaults-2026-12-01",
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
        variable_cost_share=p(
            "variable_cost_share",
            0.15,
            "Assumption, no source: food, medicines, consumables and laundry as a share of the "
            "net cost of a bed-day in a short-term stay; staff, buildings and administration do "
            "not fall away when a bed stands empty. Confirm from the tenant's accounts (KOSTRA "
            "function 253, split by type of expense).",
            low=0.05,
            high=0.30,
        ),
        stays_per_year=p(
            "stays_per_year",
            3600.0,
            "Placeholder: NOK 200 million / NOK 2,850 per bed-day / about 19.5 days per stay "
            "(an untruncated average length of short-term stays of the KOSTRA kind). Replaced in "
            "the report by the count of stays in the care records when they cover a whole year; "
            "confirm against the tenant's KPR count (services 18-20).",
            low=3000.0,
            high=4200.0,
        ),
        annual_short_term_budget_nok=p(
            "annual_short_term_budget_nok",
            200e6,
            "Norwegian digitalisation strategy 'One digital public sector' (2019), ch. 7: "
            "short-term stays cost the City of Stavanger NOK 200 million annually. The year of "
            "the figure is not stated (as_of is the publication year); confirm against the "
            "current budget. Used only to show the value as a share of the budget.",
            as_of=date(2019, 1, 1),
        ),
        readmission_municipal_share=p(
            "readmission_municipal_share",
            0.4,
            "Placeholder: share of 30-day readmissions that are a new municipal short-term stay "
            "(the rest are hospital admissions, financed by the health trust: municipal "
            "co-financing of hospital stays ended in 2015). Count it in the care records.",
            low=0.2,
            high=0.6,
        ),
        uptake_share=p(
            "uptake_share",
            0.5,
            "Placeholder: share of the tenant's short-term stays on wards with the programme "
            "(and consenting) once it is rolled out. A scenario choice, not a measured value.",
            low=0.25,
            high=0.75,
        ),
        ramp_up_years=p(
            "ramp_up_years",
            2.0,
            "Placeholder: years from the start to full uptake (uptake in year k is the full "
            "uptake times min(1, k / ramp-up years)). A scenario choice.",
            low=1.0,
            high=3.0,
        ),
        device_count=p(
            "device_count", 80.0, _PLACEHOLDER + " At full uptake.", low=40.0, high=120.0
        ),
        device_cost_per_year_nok=p(
            "device_cost_per_year_nok", 20_000.0, _PLACEHOLDER, low=15_000.0, high=30_000.0
        ),
        licence_cost_per_year_nok=p(
            "licence_cost_per_year_nok",
            300_000.0,
            _PLACEHOLDER + " At full uptake.",
            low=200_000.0,
            high=500_000.0,
        ),
        staff_time_per_stay_h=p("staff_time_per_stay_h", 1.0, _PLACEHOLDER, low=0.5, high=2.0),
        staff_cost_per_hour_nok=p(
            "staff_cost_per_hour_nok", 650.0, _PLACEHOLDER, low=550.0, high=750.0
        ),
        one_off_cost_nok=p("one_off_cost_nok", 500_000.0, _PLACEHOLDER, low=250_000.0, high=1e6),
        write_off_years=p("write_off_years", 5.0, _PLACEHOLDER, low=3.0, high=5.0),
        beds_closed_count=p(
            "beds_closed_count",
            0.0,
            "No decision to close beds is recorded; set it with the decision's reference.",
        ),
        closed_bed_saving_share=p(
            "closed_bed_saving_share",
            0.8,
            "Assumption, no source: share of a closed bed's cost per bed-day the budget saves "
            "(staff and running costs go; buildings and shared services stay).",
            low=0.6,
            high=0.9,
        ),
        discount_rate=p(
            "discount_rate",
            0.04,
            "Norwegian Ministry of Finance, circular R-109/2021 of 25 June 2021 (Prinsipper og "
            "krav ved utarbeidelse av samfunnsøkonomiske analyser): real risk-adjusted "
            "discount rate (kalkulasjonsrente) of 4 % a year for effects in the first 40 years. "
            "Written for state measures; used here as the Norwegian public-sector norm.",
            as_of=date(2021, 6, 25),
        ),
        price_year=p(
            "price_year",
            2026.0,
            "Price year of every NOK figure of this parameter set (nominal NOK of that year).",
        ),
    )
