"""The finance report: headline, decisive assumptions, effect, money, budget impact, checks.

:func:`build_savings_report` is the one entry point (CLI, demo, and the API's
``GET /reports/savings``): it loads a tenant's stays, parameters and design, applies scenario
overrides, builds the report in bokmål or English and writes the read to the audit log.
:func:`assemble_savings_report` does the same from data already loaded (pure: no database).

Processing steps of :func:`assemble_savings_report`:

1. Stop with status "no data" if the tenant has no stays, or none in the evaluation.
2. Parameters: the stored set (or the defaults), the stays per year counted in the care
   records when they cover a whole year, then the scenario overrides (not stored, marked
   unconfirmed).
3. Descriptive tables for every arm/period group with stays (flow, groups, destinations,
   readmission).
4. The effect with the tenant's design: propensity-score weighting (primary) and
   stratification (sensitivity), E-value, the design checks (pre-trend, placebo go-live,
   comparison wards, permutation across wards, ward differences). If the data cannot support
   an effect (:class:`InsufficientData`), status "no effect estimate" and steps 5-6 are
   skipped.
5. Money with the probabilistic sensitivity analysis (effect bootstrap x parameter draws),
   the 1-5 year budget impact, scenarios and the tornado; the headline box and the decisive
   assumptions.
6. The draft flag: "UTKAST – ikke for beslutning" while a parameter is unconfirmed, the
   design was not chosen before the first result or its checks flag it, the figures rest on
   fewer than 10,000 resamples, or a scenario changes stored parameters.

Every count passes the small-cell rule (:func:`~analytics.stays.suppress_counts`) before it
enters a table.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow

from analytics.stays import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_N_RESAMPLES,
    PARAMETER_UNITS,
    DesignDiagnostics,
    EffectEstimate,
    Estimate,
    InsufficientData,
    Parameter,
    ParameterSet,
    SavingsEstimate,
    diagnose_design,
    estimate_effect,
    estimate_savings,
    parameter_draws,
)
from analytics.stays.errors import InvalidParameter
from analytics.stays.parameters import check_value
from analytics.stays.store import LoadedStays, load_stays
from stayactive import audit, registry
from stayactive.locale_format import (
    Language,
    check_language,
    format_date,
    format_datetime,
    format_number,
    format_percent,
)
from stayactive.reports import check_tables, money_tables, tables
from stayactive.reports.assumptions import assumption_text
from stayactive.reports.cells import format_figure
from stayactive.reports.labels import (
    check_label,
    design_label,
    group_label,
    parameter_label,
    text,
)
from stayactive.reports.model import Headline, SavingsReport, Table, TornadoOut
from stayactive.reports.notes import effect_note
from stayactive.reports.savings_store import (
    DesignChoice,
    StoredParameterSet,
    current_design,
    current_parameters,
    first_savings_report_at,
)

logger = logging.getLogger(__name__)

#: Resamples below this make a report a draft.
PUBLISHED_RESAMPLES = 10_000
#: Largest share of the measured effect a scenario may assume (twice the effect).
MAX_EFFECT_SHARE = 2.0
#: Resamples of the stratified sensitivity analysis (an interval to compare, not to publish).
_SENSITIVITY_RESAMPLES = 2_000

METHOD: dict[str, tuple[str, ...]] = {
    "nb": (
        "Liggetid er tid fra innleggelse til utskrivning; opphold som pågår på analysedatoen "
        "er sensurert (Kaplan–Meier). Liggedøgn per opphold er gjennomsnittet til horisonten "
        "(RMST, Royston & Parmar 2013); kurven forlenges aldri forbi oppfølgingen.",
        "Sammenligningsgruppene vektes til programoppholdenes sammensetning av alder, "
        "KPR-tjeneste og gangfart ved innleggelse med tilbøyelighetsskårer (effekt for de "
        "behandlede); stratifisering er følsomhetsanalyse. E-verdi for ukjent konfundering "
        "(VanderWeele & Ding 2017).",
        "Usikkerhet: bootstrap av beboere (10 000 trekninger), med ny tilbøyelighetsmodell i "
        "hver trekning; kroner fra probabilistisk følsomhetsanalyse (effekt × parametre).",
        "Reinnleggelse per opphold bare fra opphold med full oppfølging, vektet med invers "
        "sannsynlighet for full oppfølging.",
        "Budsjettanalyse fra kommunens perspektiv (ISPOR, Sullivan et al. 2014), år 1–5, "
        "diskontert med 4 % reell rente (R-109/2021). Rapportering etter CHEERS 2022.",
        "Antall under 5 skjules, med sekundær skjuling. Metode og validering: "
        "docs/savings-method.md.",
    ),
    "en": (
        "Length of stay is time from admission to discharge; stays still going on at the "
        "analysis date are censored (Kaplan-Meier). Bed-days per stay are the restricted mean "
        "to the horizon (RMST, Royston & Parmar 2013); no curve is extended past its follow-up.",
        "The comparison groups are weighted to the programme stays' mix of age, KPR service and "
        "admission gait speed by propensity scores (effect on the treated); stratification is a "
        "sensitivity analysis. E-value for unmeasured confounding (VanderWeele & Ding 2017).",
        "Uncertainty: bootstrap of residents (10,000 resamples), refitting the propensity model "
        "in each; NOK from a probabilistic sensitivity analysis (effect x parameters).",
        "Readmission per stay only from stays with complete follow-up, weighted by the inverse "
        "probability of complete follow-up.",
        "Budget impact from the municipality's perspective (ISPOR, Sullivan et al. 2014), years "
        "1-5, discounted at 4% real (R-109/2021). Reported following CHEERS 2022.",
        "Counts below 5 are suppressed, with secondary suppression. Method and validation: "
        "docs/savings-method.md.",
    ),
}


def _design_basis(
    choice: DesignChoice | None,
    first_report: datetime | None,
    language: Language,
    time_zone: str,
) -> tuple[str, str]:
    """The design's basis in words (days as the tenant's), and a draft reason ("" if none)."""
    if choice is None:
        return (
            (
                "utledet: kommunen har ikke valgt sammenligning (samtidig hvis avdelinger uten "
                "utstyr har opphold etter oppstart, ellers før/etter); velg med "
                "`stayactive report design`",
                "sammenligningen er ikke valgt på forhånd",
            )
            if language == "nb"
            else (
                "inferred: the tenant has not chosen a design (concurrent if wards without "
                "devices have stays after go-live, else historical); choose one with "
                "`stayactive report design`",
                "the comparison was not chosen in advance",
            )
        )
    day = format_date(_local_day(choice.chosen_at, time_zone), language=language)
    basis = (
        f"valgt av {choice.chosen_by} {day}: {choice.reason}"
        if language == "nb"
        else f"chosen by {choice.chosen_by} on {day}: {choice.reason}"
    )
    if first_report is not None and first_report < choice.chosen_at:
        seen = format_date(_local_day(first_report, time_zone), language=language)
        return basis, (
            f"sammenligningen ble valgt etter at et resultat var vist ({seen})"
            if language == "nb"
            else f"the comparison was chosen after a result had been shown ({seen})"
        )
    return basis, ""


def check_overrides(overrides: Mapping[str, float]) -> None:
    """Refuse a scenario's override that is not a parameter or whose value that parameter
    cannot take, before anything is read or computed.

    Raises :class:`InvalidParameter` naming the first such override (for an unknown name, with
    the names there are).
    """
    for name, value in overrides.items():
        if name not in PARAMETER_UNITS:
            raise InvalidParameter(
                name, f"unknown parameter {name!r}; known: {', '.join(PARAMETER_UNITS)}"
            )
        check_value(name, value)


def _parameters(
    stored: StoredParameterSet,
    loaded: LoadedStays,
    overrides: Mapping[str, float],
    language: Language,
) -> tuple[ParameterSet, str]:
    """The parameters of this report and a label of their version (the sources this report
    writes, a count and a scenario, in ``language``)."""
    ps = stored.parameters
    # No stay in the year before the as-of date (an as-of long after the extract) counts
    # nothing: the stored value stands, still to be confirmed.
    if loaded.stays_last_year and ps.stays_per_year.needs_confirmation:
        day = _local_day(loaded.analysis_at, loaded.time_zone)
        counted = dataclasses.replace(
            ps.stays_per_year,
            value=float(loaded.stays_last_year),
            low=None,
            high=None,
            source=(
                "Telt i journalen: opphold innlagt de 365 dagene før "
                f"{format_date(day, language=language)} (KPR-tjeneste 18–20)."
                if language == "nb"
                else "Counted in the care records: stays admitted in the 365 days before "
                f"{format_date(day, language=language)} (KPR services 18-20)."
            ),
            as_of=day,
            needs_confirmation=False,
        )
        ps = dataclasses.replace(ps, stays_per_year=counted)
    check_overrides(overrides)
    changed: dict[str, Parameter] = {}
    for name, value in overrides.items():
        old = getattr(ps, name)
        inside = (old.low is None or old.low <= value) and (old.high is None or value <= old.high)
        changed[name] = dataclasses.replace(
            old,
            value=float(value),
            low=old.low if inside else None,
            high=old.high if inside else None,
            source=(
                f"Scenario (ikke lagret): {format_figure(value, old.unit, language)} i stedet "
                f"for {format_figure(old.value, old.unit, language)}."
                if language == "nb"
                else f"Scenario (not stored): {format_figure(value, old.unit, language)} "
                f"instead of {format_figure(old.value, old.unit, language)}."
            ),
            needs_confirmation=True,
        )
    version = ps.version + (" + scenario" if changed else "")
    ps = dataclasses.replace(ps, version=version, **changed)  # type: ignore[arg-type]
    return ps, version


def assemble_savings_report(
    loaded: LoadedStays,
    stored: StoredParameterSet,
    design_choice: DesignChoice | None,
    *,
    language: Language = "nb",
    overrides: Mapping[str, float] | None = None,
    effect_share: float = 1.0,
    first_report_at: datetime | None = None,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    seed: int = 1,
    generated_at: datetime | None = None,
    tenant_name: str | None = None,
) -> SavingsReport:
    """The finance report for loaded stays (module docstring, steps 1-6).

    Never raises for lack of data: an empty or tiny cohort gives a report whose ``status``
    and ``messages`` say what is missing. Raises :class:`InvalidParameter` for an override
    that is not a parameter or out of range, or an ``effect_share`` outside 0-2.

    ``effect_share`` is a scenario on the effect: the share of the measured effect (bed-days
    and readmissions avoided per stay, with their intervals and replicates) assumed to hold;
    1 is the effect as measured. Anything else makes the report a draft. ``tenant_name`` is
    the name the report's title gives (default: the tenant id).
    """
    language = check_language(language)
    if not 0.0 <= effect_share <= MAX_EFFECT_SHARE:
        raise InvalidParameter(
            "effect_share",
            f"effect_share must be between 0 and {MAX_EFFECT_SHARE:g} (1 = the effect as "
            f"measured), got {effect_share:g}",
        )
    design = design_choice.design if design_choice else None
    params, version = _parameters(stored, loaded, overrides or {}, language)
    messages: list[str] = []
    sections: list[Table] = []
    notes: list[str] = []
    assumptions: tuple[str, ...] = ()
    effect: EffectEstimate | None = None
    savings: SavingsEstimate | None = None
    diagnostics: DesignDiagnostics | None = None
    tornado_out: TornadoOut | None = None
    head: Headline | None = None
    decisive: tuple[str, ...] = ()
    records = loaded.records
    status = "complete"
    # 1. nothing to report
    nb = language == "nb"
    if loaded.n_stays == 0:
        status = "no data"
        at = format_datetime(loaded.analysis_at, loaded.time_zone, language=language)
        messages.append(
            f"Kommunen har ingen opphold innlagt til og med {at}: importer journaldata først "
            "(`stayactive records import`)."
            if nb
            else f"Tenant {loaded.tenant!r} has no stays admitted by {at}: import the care "
            "records first (`stayactive records import`)."
        )
    elif len(records) == 0:
        status = "no data"
        messages.append(
            f"Ingen av kommunens {loaded.n_stays} opphold kan evalueres (uten samtykke til "
            "evaluering, eller utelatt av grunnene i første tabell)."
            if nb
            else f"None of the tenant's {loaded.n_stays} stays can be evaluated (no consent to "
            "evaluation, or left out for the reasons in the first table)."
        )
    descriptive: list[Table] = [tables.flow_table(loaded, language)]
    if status == "complete":
        # 3. descriptive tables
        groups = tables.group_records(records)
        descriptive += [
            tables.group_table(groups, loaded, horizon_days, language),
            tables.destination_table(groups, horizon_days, language),
            tables.readmission_table(groups, language),
        ]
        # 4. effect, sensitivity, checks
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
            messages.append(_not_estimable(exc, language))
    if effect is not None and effect_share != 1.0:
        effect = _scaled_effect(effect, effect_share)
    if effect is not None:
        sensitivity: EffectEstimate | None
        try:
            sensitivity = estimate_effect(
                records,
                design=effect.design,
                horizon_days=horizon_days,
                adjustment="stratification",
                n_resamples=min(n_resamples, _SENSITIVITY_RESAMPLES),
                seed=seed,
            )
        except InsufficientData as exc:
            sensitivity = None
            notes.append(
                "Følsomhetsanalysen med stratifisering er ikke mulig: "
                f"{exc.n_available} opphold der minst {exc.n_required} trengs."
                if nb
                else f"Stratified sensitivity analysis not possible: {exc}"
            )
        diagnostics = diagnose_design(
            records,
            effect.design,
            horizon_days=effect.horizon_days,
            observed_effect=effect.bed_days_avoided_per_stay.value,
            seed=seed,
        )
        notes.extend(effect_note(note, language) for note in effect.notes)
        assumptions = effect.assumptions
        sections += [
            money_tables.effect_table(effect, sensitivity, language),
        ]
        descriptive.insert(2, tables.balance(effect, language))
        # 5. money
        draws = parameter_draws(params, effect.n_resamples, seed=seed + 1)
        try:
            savings = estimate_savings(effect, params, draws=draws)
        except InsufficientData as exc:
            status = "no effect estimate"
            messages.append(f"Ingen kronebeløp: {exc}." if nb else f"No money figures: {exc}.")
        if savings is not None:
            tornado_out = money_tables.tornado_chart(effect, params, language)
            stays_source = money_tables.stays_source_text(loaded.stays_last_year, params, language)
            head = money_tables.headline(savings, language)
            decisive = money_tables.decisive_assumptions(
                effect, params, tornado_out, stays_source, language
            )
            sections += [
                money_tables.money_table(savings, language),
                money_tables.budget_table(effect, params, draws, language),
            ]
            assumptions += savings.assumptions
        sections.append(check_tables.design_checks_table(diagnostics, language))
    sections += descriptive
    if effect is not None and savings is not None:
        sections.append(money_tables.scenario_table(effect, params, language))
    sections.append(money_tables.parameter_table(params, version, language))
    sections.append(check_tables.checklist_table(language))
    # 6. draft
    basis, design_reason = _design_basis(design_choice, first_report_at, language, loaded.time_zone)
    reasons = _draft_reasons(
        params, design_reason, diagnostics, n_resamples, status, bool(overrides), language
    )
    if effect_share != 1.0:
        share = format_percent(effect_share, 0, language=language)
        reasons += (
            (f"scenario: {share} av den målte effekten" if nb else
             f"scenario: {share} of the measured effect"),
        )  # fmt: skip
    wards = "; ".join(f"{group_label(g, language)}: {n}" for g, n in loaded.wards_per_group.items())
    if wards:
        notes.append(f"{text('wards_per_group', language)}: {wards}.")
    return SavingsReport(
        tenant=loaded.tenant,
        tenant_name=tenant_name or loaded.tenant,
        generated_at=generated_at or datetime.now(UTC),
        analysis_at=loaded.analysis_at,
        time_zone=loaded.time_zone,
        language=language,
        headline=head,
        decisive_assumptions=decisive,
        draft=bool(reasons),
        draft_reasons=reasons,
        price_year=int(params.price_year.value),
        status=status,
        messages=tuple(messages),
        design=effect.design.value if effect else (design.value if design else None),
        design_basis=basis,
        design_description=(
            design_label(effect.design.value, language).capitalize()
            + ": "
            + text(f"desc.{effect.design.value}", language)
            if effect
            else ""
        ),
        horizon_days=effect.horizon_days if effect else horizon_days,
        n_resamples=n_resamples,
        seed=seed,
        confidence_level=0.95,
        parameter_version=version,
        parameter_basis=_parameter_basis(stored, language, loaded.time_zone),
        parameter_values=params.values(),
        savings_kind=savings.savings_kind if savings else None,
        tables=tuple(sections),
        tornado=tornado_out,
        assumptions=tuple(assumption_text(a, language) for a in assumptions),
        notes=tuple(notes),
        method=METHOD[language],
    )


_GROUP_HAS = re.compile(r"group (\S+) has (\d+) stays( in strata shared by all groups)?")
_GROUP_FOLLOWED = re.compile(r"group (\S+) is followed only to day ([0-9.]+)")


def _not_estimable(exc: InsufficientData, language: Language) -> str:
    """Why there is no effect estimate, in the reader's words.

    In bokmål the technical detail is given for the cases a reader meets (a group with too
    few stays, a group not followed long enough); the English report has it word for word.
    """
    if language != "nb":
        return (
            f"Not enough data for an effect estimate: {exc}. The descriptive tables are shown; "
            "no bed-days or NOK are estimated."
        )
    why = f"{exc.n_available} opphold der minst {exc.n_required} trengs"
    if m := _GROUP_HAS.search(exc.detail):
        where = " i strata som alle gruppene deler" if m.group(3) else ""
        why = f"gruppen «{group_label(m.group(1), 'nb')}» har {m.group(2)} opphold{where}"
        why += f", minst {exc.n_required} trengs"
    elif m := _GROUP_FOLLOWED.search(exc.detail):
        day = format_number(float(m.group(2)), 1, language="nb")
        why = (
            f"gruppen «{group_label(m.group(1), 'nb')}» er fulgt bare til dag {day} med nok "
            "opphold under observasjon"
        )
    elif "no stays on comparison wards" in exc.detail:
        why = "ingen opphold på avdelinger uten utstyr og ingen fra før oppstart"
    return (
        f"Effekten kan ikke beregnes: {why}. De beskrivende tabellene vises; ingen liggedøgn "
        "eller kroner er beregnet."
    )


def _scaled(estimate: Estimate, share: float) -> Estimate:
    return dataclasses.replace(
        estimate,
        value=estimate.value * share,
        low=estimate.low * share,
        high=estimate.high * share,
    )


def _scaled_effect(effect: EffectEstimate, share: float) -> EffectEstimate:
    """The effect with ``share`` of its bed-days and readmissions avoided per stay (point,
    interval and every replicate): a scenario, never a published figure."""
    readm = effect.readmissions_avoided_per_stay
    reps = effect.replicates
    return dataclasses.replace(
        effect,
        bed_days_avoided_per_stay=_scaled(effect.bed_days_avoided_per_stay, share),
        readmissions_avoided_per_stay=_scaled(readm, share) if readm is not None else None,
        replicates=dataclasses.replace(
            reps,
            bed_days_avoided_per_stay=reps.bed_days_avoided_per_stay * share,
            readmissions_avoided_per_stay=reps.readmissions_avoided_per_stay * share,
        ),
    )


def _draft_reasons(
    params: ParameterSet,
    design_reason: str,
    diagnostics: DesignDiagnostics | None,
    n_resamples: int,
    status: str,
    scenario: bool,
    language: Language,
) -> tuple[str, ...]:
    nb = language == "nb"
    out: list[str] = []
    if status != "complete":
        out.append("ingen effekt er beregnet" if nb else "no effect is estimated")
    unconfirmed = [parameter_label(n, language) for n in params.unconfirmed()]
    if unconfirmed:
        shown = ", ".join(unconfirmed[:3])
        if len(unconfirmed) > 3:
            more = len(unconfirmed) - 3
            shown += (
                f" og {more} til (se Parametre)" if nb else f" and {more} more (see Parameters)"
            )
        out.append(("ubekreftede parametre: " if nb else "unconfirmed parameters: ") + shown)
    if design_reason:
        out.append(design_reason)
    if diagnostics is not None and diagnostics.flagged:
        weak = [
            f"{check_label(c.name, language)} ({text('s.' + c.status, language)})"
            for c in diagnostics.checks
            if c.status != "pass"
        ]
        out.append(("svak sammenligning: " if nb else "weak comparison: ") + ", ".join(weak))
    if n_resamples < PUBLISHED_RESAMPLES:
        out.append(
            f"bare {n_resamples} bootstrap-trekninger (10 000 kreves)"
            if nb
            else f"only {n_resamples} bootstrap resamples (10,000 required)"
        )
    if scenario:
        out.append("scenario med endrede parametre" if nb else "scenario with changed parameters")
    return tuple(out)


def _local_day(at: datetime, time_zone: str) -> date:
    """The tenant's day of an instant, as its people would write it."""
    return at.astimezone(ZoneInfo(time_zone)).date()


def _parameter_basis(params: StoredParameterSet, language: Language, time_zone: str) -> str:
    if params.is_default:
        return (
            "innebygde standardverdier (kommunen har ikke lagret parametre)"
            if language == "nb"
            else "built-in defaults (the tenant has stored no parameters)"
        )
    assert params.created_at is not None
    day = format_date(_local_day(params.created_at, time_zone), language=language)
    return (
        f"lagret versjon {params.version} av {params.created_by} {day}"
        if language == "nb"
        else f"stored version {params.version} by {params.created_by} on {day}"
    ) + (f": {params.note}" if params.note else "")


def build_savings_report(
    conn: psycopg.Connection[TupleRow],
    tenant_id: str,
    overrides: Mapping[str, float] | None = None,
    language: Language = "nb",
    *,
    actor: str,
    analysis_at: datetime | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    seed: int = 1,
    effect_share: float = 1.0,
) -> SavingsReport:
    """Load the tenant's stays, parameters and design, build the report, and audit the read.

    Parameters
    ----------
    conn
        A connection with the application schema.
    tenant_id
        The tenant.
    overrides
        Scenario values by parameter name (e.g. ``{"uptake_share": 0.75}``), applied to the
        stored parameters for this report only (not stored; the report is then a draft).
    language
        ``"nb"`` (bokmål, default) or ``"en"``.
    actor
        Who asks (the audit log's actor; the API passes the token's user).
    analysis_at, n_resamples, seed
        Data as of this instant (default now); bootstrap resamples (10,000 for a published
        report) and seed.
    effect_share
        Scenario on the effect: the share of the measured effect assumed (1 = as measured;
        see :func:`assemble_savings_report`).
    """
    language = check_language(language)
    loaded = load_stays(conn, tenant_id, analysis_at=analysis_at)
    stored = current_parameters(conn, tenant_id)
    choice = current_design(conn, tenant_id)
    first = first_savings_report_at(conn, tenant_id)
    report = assemble_savings_report(
        loaded,
        stored,
        choice,
        language=language,
        overrides=overrides,
        effect_share=effect_share,
        first_report_at=first,
        n_resamples=n_resamples,
        seed=seed,
        tenant_name=registry.tenant_name(conn, tenant_id),
    )
    # The report reads resident-level rows (aggregated before they leave): DESIGN.md asks for
    # an audit entry for every such read.
    audit.record(
        conn,
        tenant=tenant_id,
        actor=actor,
        action="report.savings",
        subject_kind="stays",
        subject_id=tenant_id,
        purpose="evaluation",
        detail={
            "analysis_at": loaded.analysis_at.isoformat(),
            "stays_read": len(loaded.records),
            "status": report.status,
            "parameter_version": report.parameter_version,
            "design": report.design,
            "draft": report.draft,
            "overrides": dict(overrides or {}),
            "effect_share": effect_share,
        },
    )
    return report
