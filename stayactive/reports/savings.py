"""The finance report: design, balance, LOS, destinations, readmissions, effect, money, sensitivity.

:func:`build_savings_report` turns loaded stays and a parameter set into a
:class:`~stayactive.reports.model.SavingsReport` (pure: no database), suppressing small cells on
the way; :func:`savings_report` loads everything for a tenant, builds the report and writes
the read of resident-level rows to the audit log.

Processing steps of :func:`build_savings_report`:

1. Stop with status "no data" if the tenant has no stays, or none in the evaluation.
2. Descriptive tables for every arm/period group with stays: the flow of stays (exclusions),
   group sizes and Kaplan-Meier LOS (median, crude RMST), discharge destinations (Aalen-Johansen
   cumulative incidence at the horizon) and 30-day readmission (Wilson interval).
3. The effect with the tenant's design (or the inferred one) and the covariate balance of its
   groups. If the data cannot support it (:class:`InsufficientData`), status "no effect
   estimate" with the reason; steps 4-5 are skipped.
4. Money (:func:`~analytics.stays.estimate_savings`), the extrapolation to the tenant's budget,
   scenarios and the tornado.
5. Assumptions, notes and a short method statement.

Each table is one function in :mod:`stayactive.reports.tables`. Every count goes through
:func:`~analytics.stays.suppress_counts` (n < 5 and secondary suppression) before it enters a
table, and every share or rate derived from a suppressed count is withheld too.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow

from analytics.stays import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_N_RESAMPLES,
    EffectEstimate,
    InsufficientData,
    SavingsEstimate,
    estimate_effect,
    estimate_savings,
)
from analytics.stays.store import LoadedStays, load_stays
from stayactive import audit
from stayactive.reports import tables
from stayactive.reports.model import SavingsReport, Table, TornadoOut
from stayactive.reports.savings_store import (
    DesignChoice,
    StoredParameterSet,
    current_design,
    current_parameters,
)

logger = logging.getLogger(__name__)

#: Arm/period groups in the order the report shows them.
METHOD = (
    "Length of stay is elapsed time from admission to discharge; stays still going on at the "
    "analysis date are censored and handled by Kaplan-Meier. Bed-days per stay are the "
    "restricted mean LOS to the horizon (RMST, Royston & Parmar 2013).",
    "The comparison group is standardised to the programme stays' mix of age band (67-79, "
    "80-89, 90+), KPR stay type (18, 19, 20) and admission gait speed (direct standardisation, "
    "effect on the treated). Intervals: stratified bootstrap of stays, percentile method; every "
    "money figure is computed per bootstrap replicate.",
    "Destinations are competing outcomes (Aalen-Johansen cumulative incidence). Readmission: "
    "after a discharge home, a new short-term stay or a recorded hospital admission within 30 "
    "days; discharges less than 30 days before the analysis date are left out.",
    "Money: one-year budget impact from the municipality's perspective, undiscounted (ISPOR "
    "principles, Sullivan et al. 2014), scaled to the tenant's short-term-stay budget. "
    "Sensitivity: one input at a time (tornado) and joint low/high scenarios.",
    "Counts below 5 are suppressed, with secondary suppression so totals do not reveal them. "
    "The full method, its assumptions and the validation on simulated data: "
    "docs/savings-method.md.",
)


def _design_basis(choice: DesignChoice | None) -> str:
    if choice is None:
        return (
            "inferred: the tenant has not chosen a design (concurrent if wards without devices "
            "have stays after go-live, else historical); choose one with "
            "`stayactive report design`"
        )
    return f"chosen by {choice.chosen_by} on {choice.chosen_at.date().isoformat()}: {choice.reason}"


def _parameter_basis(params: StoredParameterSet) -> str:
    if params.is_default:
        return "built-in defaults (the tenant has stored no parameters); all are unconfirmed"
    assert params.created_at is not None
    return (
        f"stored version {params.version} by {params.created_by} on "
        f"{params.created_at.date().isoformat()}" + (f": {params.note}" if params.note else "")
    )


def build_savings_report(
    loaded: LoadedStays,
    params: StoredParameterSet,
    design_choice: DesignChoice | None,
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    seed: int = 1,
    generated_at: datetime | None = None,
) -> SavingsReport:
    """The finance report for loaded stays (see the module docstring for the steps).

    Never raises for lack of data: an empty or tiny cohort gives a report whose ``status`` and
    ``messages`` say what is missing.
    """
    design = design_choice.design if design_choice else None
    messages: list[str] = []
    sections: list[Table] = []
    notes: list[str] = []
    assumptions: tuple[str, ...] = ()
    effect: EffectEstimate | None = None
    savings: SavingsEstimate | None = None
    tornado_out: TornadoOut | None = None
    description = ""
    # 1. nothing to report
    records = loaded.records
    status = "complete"
    if loaded.n_stays == 0:
        status = "no data"
        messages.append(
            f"Tenant {loaded.tenant!r} has no stays admitted by "
            f"{loaded.analysis_at.astimezone(ZoneInfo(loaded.time_zone)):%Y-%m-%d %H:%M}: "
            "import the care records first "
            "(`stayactive records import`)."
        )
    elif len(records) == 0:
        status = "no data"
        messages.append(
            f"None of the tenant's {loaded.n_stays} stays can be evaluated (no consent to "
            "evaluation, or left out for the reasons in the first table)."
        )
    sections.append(tables.flow_table(loaded))
    if status == "complete":
        # 2. descriptive tables
        groups = tables.group_records(records)
        sections.append(tables.group_table(groups, loaded, horizon_days))
        sections.append(tables.destination_table(groups, horizon_days))
        sections.append(tables.readmission_table(groups))
        # 3. effect
        try:
            effect = estimate_effect(
                records,
                design=design,
                horizon_days=horizon_days,
                n_resamples=n_resamples,
                seed=seed,
            )
        except InsufficientData as exc:
            status = "no effect estimate"
            messages.append(
                f"Not enough data for an effect estimate: {exc}. The descriptive tables are "
                "shown; no bed-days or NOK are estimated."
            )
        if effect is not None:
            description = effect.description
            sections.insert(2, tables.balance(records, effect.design))
            sections.append(tables.effect_table(effect))
            notes.extend(effect.notes)
            # 4. money and sensitivity
            assumptions = effect.assumptions
            try:
                savings = estimate_savings(effect, params.parameters)
            except InsufficientData as exc:
                status = "no effect estimate"
                messages.append(f"No money figures: {exc}.")
            if savings is not None:
                money, extrapolation = tables.money_tables(savings, params.parameters.values())
                sections += [money, extrapolation, tables.scenario_table(effect, params)]
                tornado_out = tables.tornado_chart(effect, params)
                assumptions += savings.assumptions
    sections.append(tables.parameter_table(params))
    if params.parameters.unconfirmed():
        notes.append(
            "UNCONFIRMED parameters — replace before a decision: "
            + ", ".join(params.parameters.unconfirmed())
            + "."
        )
    wards = ", ".join(f"{g}: {n}" for g, n in loaded.wards_per_group.items())
    if wards:
        notes.append(
            f"Wards per group ({wards}). Intervals treat stays as independent; with few wards "
            "they are too narrow if wards differ."
        )
    return SavingsReport(
        tenant=loaded.tenant,
        generated_at=generated_at or datetime.now(UTC),
        analysis_at=loaded.analysis_at,
        time_zone=loaded.time_zone,
        status=status,
        messages=tuple(messages),
        design=effect.design.value if effect else (design.value if design else None),
        design_basis=_design_basis(design_choice),
        design_description=description,
        horizon_days=horizon_days,
        n_resamples=n_resamples,
        seed=seed,
        confidence_level=0.95,
        parameter_version=params.parameters.version,
        parameter_basis=_parameter_basis(params),
        savings_kind=savings.savings_kind if savings else None,
        tables=tuple(sections),
        tornado=tornado_out,
        assumptions=assumptions,
        notes=tuple(notes),
        method=METHOD,
    )


def savings_report(
    conn: psycopg.Connection[TupleRow],
    tenant: str,
    *,
    actor: str,
    analysis_at: datetime | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    seed: int = 1,
) -> SavingsReport:
    """Load the tenant's stays, parameters and design, build the report, and audit the read."""
    loaded = load_stays(conn, tenant, analysis_at=analysis_at)
    params = current_parameters(conn, tenant)
    choice = current_design(conn, tenant)
    report = build_savings_report(loaded, params, choice, n_resamples=n_resamples, seed=seed)
    # The report reads resident-level rows (aggregated before they leave): DESIGN.md asks for
    # an audit entry for every such read.
    audit.record(
        conn,
        tenant=tenant,
        actor=actor,
        action="report.savings",
        subject_kind="stays",
        subject_id=tenant,
        purpose="evaluation",
        detail={
            "analysis_at": loaded.analysis_at.isoformat(),
            "stays_read": len(loaded.records),
            "status": report.status,
            "parameter_version": report.parameter_version,
            "design": report.design,
        },
    )
    return report
