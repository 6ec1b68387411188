"""Request bodies of ``/reports``: a what-if scenario on the savings report."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from analytics.stays import PARAMETER_UNITS
from analytics.stays.errors import InvalidParameter
from stayactive.reports.savings import MAX_EFFECT_SHARE, check_overrides

#: Resamples of a scenario: enough for a stable picture while the reader moves a slider; a
#: published figure needs 10,000 (the report says "UTKAST" with fewer).
SCENARIO_RESAMPLES = 1_000
MAX_SCENARIO_RESAMPLES = 2_000


class ScenarioRequest(BaseModel):
    """What if: parameters other than the stored ones, and a share of the measured effect.

    Nothing is stored; the answer is the savings report recomputed with these values (a
    draft, with the scenario among its reasons), aggregates only as always.
    """

    model_config = ConfigDict(extra="forbid")

    overrides: dict[str, float] = Field(
        default_factory=dict,
        max_length=len(PARAMETER_UNITS),
        description=(
            'Parameter values by name, e.g. {"cost_per_bed_day_nok": 3200, '
            '"variable_cost_share": 0.2, "uptake_share": 0.75}; names as in the report\'s '
            "parameter table."
        ),
    )
    effect_share: float = Field(
        default=1.0,
        ge=0.0,
        le=MAX_EFFECT_SHARE,
        allow_inf_nan=False,
        description="Share of the measured effect assumed to hold (1 = as measured).",
    )
    resamples: int = Field(
        default=SCENARIO_RESAMPLES,
        ge=100,
        le=MAX_SCENARIO_RESAMPLES,
        description="Bootstrap resamples (fewer than a published report: a scenario is fast).",
    )
    as_of: date | None = Field(
        default=None, description="Data as of the end of this local day (default now)."
    )

    @field_validator("overrides")
    @classmethod
    def _known_parameters(cls, value: dict[str, float]) -> dict[str, float]:
        # Before any stay is read: a name that is no parameter, or a value out of its range.
        try:
            check_overrides(value)
        except InvalidParameter as exc:
            raise ValueError(str(exc)) from exc
        return value
