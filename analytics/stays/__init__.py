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
from analytics.stays.design_checks import DesignCheck, DesignDiagnostics, diagnose_design
from analytics.stays.effect import (
    DEFAULT_N_RESAMPLES,
    MIN_HORIZON_DAYS,
    MIN_STAYS_PER_CELL,
    MIN_STAYS_PER_GROUP,
    EffectEstimate,
    EffectReplicates,
    GroupSummary,
    StratumSummary,
    difference_in_differences,
    estimate_effect,
    point_effect,
)
from analytics.stays.errors import InsufficientData, InvalidParameter
from analytics.stays.evalue import EValue, e_value_difference, e_value_of_ratio
from analytics.stays.money import (
    BUDGET_YEARS,
    PARAMETER_UNITS,
    BudgetImpact,
    MoneyFigures,
    Parameter,
    ParameterSet,
    SavingsEstimate,
    annuity_factor,
    budget_impact,
    default_parameters,
    estimate_savings,
    money_figures,
)
from analytics.stays.psa import parameter_draws
from analytics.stays.readmission import (
    READMISSION_WINDOW_DAYS,
    ReadmissionRisk,
    complete_follow_up_weights,
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
    OPTIONAL_COLUMNS,
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
from analytics.stays.weighting import WeightedBalance, WeightedBalanceRow, weighted_balance

__all__ = [
    "AGE_BANDS",
    "ARMS",
    "BUDGET_YEARS",
    "COVARIATES",
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_N_RESAMPLES",
    "DEFAULT_THRESHOLD",
    "DESTINATIONS",
    "MIN_HORIZON_DAYS",
    "MIN_STAYS_PER_CELL",
    "MIN_STAYS_PER_GROUP",
    "MOBILITY_BANDS",
    "OPTIONAL_COLUMNS",
    "PARAMETER_UNITS",
    "PERIODS",
    "READMISSION_WINDOW_DAYS",
    "STAY_TYPES",
    "BalanceRow",
    "BalanceTable",
    "BudgetImpact",
    "Cohorts",
    "CumulativeIncidence",
    "Design",
    "DesignCheck",
    "DesignDiagnostics",
    "EValue",
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
    "WeightedBalance",
    "WeightedBalanceRow",
    "age_band",
    "annuity_factor",
    "balance_table",
    "budget_impact",
    "complete_follow_up_weights",
    "concatenate",
    "cumulative_incidence",
    "default_parameters",
    "diagnose_design",
    "difference_in_differences",
    "e_value_difference",
    "e_value_of_ratio",
    "estimate_effect",
    "estimate_savings",
    "input_ranges",
    "kaplan_meier",
    "los_days",
    "median_los",
    "mobility_band",
    "money_figures",
    "parameter_draws",
    "point_effect",
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
    "weighted_balance",
]
