"""Length of stay, readmissions and savings: the statistics core (numpy/scipy, no database).

Start with :class:`StayRecords` (one row per short-term stay), then
:func:`estimate_effect` for bed-days and readmissions avoided per stay, and
:func:`estimate_savings` to turn them into a year's NOK with a tenant's :class:`ParameterSet`.
``docs/savings-method.md`` explains the method, its assumptions and its limits.

:mod:`analytics.stays.store` is deliberately not imported here, so that the core stays pure
numpy/scipy: it loads a tenant's stays from the database (psycopg). The check of the estimator
against the simulator's known truth lives outside analytics, in
:mod:`stayactive.tools.validation.savings` (``stayactive validate savings``).
"""

from analytics.stays._common import Estimate
from analytics.stays.cohorts import (
    BalanceRow,
    BalanceTable,
    Cohorts,
    Design,
    Group,
    balance_table,
    select_cohorts,
    stratum_labels,
)
from analytics.stays.effect import (
    DEFAULT_N_RESAMPLES,
    MIN_STAYS_PER_GROUP,
    EffectEstimate,
    EffectReplicates,
    GroupSummary,
    StratumSummary,
    difference_in_differences,
    estimate_effect,
)
from analytics.stays.errors import InsufficientData, InvalidParameter
from analytics.stays.money import (
    PARAMETER_UNITS,
    MoneyFigures,
    Parameter,
    ParameterSet,
    SavingsEstimate,
    default_parameters,
    estimate_savings,
    money_figures,
)
from analytics.stays.readmission import (
    READMISSION_WINDOW_DAYS,
    ReadmissionRisk,
    readmission_risk,
    readmission_risk_difference,
    readmitted_within_30_days,
    stay_readmission_outcome,
)
from analytics.stays.records import (
    AGE_BANDS,
    ARMS,
    COVARIATES,
    DESTINATIONS,
    MOBILITY_BANDS,
    PERIODS,
    STAY_TYPES,
    StayRecords,
    age_band,
    concatenate,
    los_days,
    mobility_band,
)
from analytics.stays.sensitivity import (
    InputRange,
    Scenario,
    Tornado,
    TornadoBar,
    input_ranges,
    scenarios,
    tornado,
)
from analytics.stays.suppression import DEFAULT_THRESHOLD, SuppressedTable, suppress_counts
from analytics.stays.survival import (
    DEFAULT_HORIZON_DAYS,
    CumulativeIncidence,
    KaplanMeier,
    cumulative_incidence,
    kaplan_meier,
    median_los,
    restricted_mean_los,
)

__all__ = [
    "AGE_BANDS",
    "ARMS",
    "COVARIATES",
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_N_RESAMPLES",
    "DEFAULT_THRESHOLD",
    "DESTINATIONS",
    "MIN_STAYS_PER_GROUP",
    "MOBILITY_BANDS",
    "PARAMETER_UNITS",
    "PERIODS",
    "READMISSION_WINDOW_DAYS",
    "STAY_TYPES",
    "BalanceRow",
    "BalanceTable",
    "Cohorts",
    "CumulativeIncidence",
    "Design",
    "EffectEstimate",
    "EffectReplicates",
    "Estimate",
    "Group",
    "GroupSummary",
    "InputRange",
    "InsufficientData",
    "InvalidParameter",
    "KaplanMeier",
    "MoneyFigures",
    "Parameter",
    "ParameterSet",
    "ReadmissionRisk",
    "SavingsEstimate",
    "Scenario",
    "StayRecords",
    "StratumSummary",
    "SuppressedTable",
    "Tornado",
    "TornadoBar",
    "age_band",
    "balance_table",
    "concatenate",
    "cumulative_incidence",
    "default_parameters",
    "difference_in_differences",
    "estimate_effect",
    "estimate_savings",
    "input_ranges",
    "kaplan_meier",
    "los_days",
    "median_los",
    "mobility_band",
    "money_figures",
    "readmission_risk",
    "readmission_risk_difference",
    "readmitted_within_30_days",
    "restricted_mean_los",
    "scenarios",
    "select_cohorts",
    "stay_readmission_outcome",
    "stratum_labels",
    "suppress_counts",
    "tornado",
]
