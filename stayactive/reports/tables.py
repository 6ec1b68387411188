"""The tables of the finance report, each already through small-cell suppression.

One function per table; :func:`~stayactive.reports.savings.build_savings_report` puts them in
order. Counts go through :func:`~analytics.stays.suppress_counts` as tables (primary and
secondary suppression); a share, median, risk or standardised difference is withheld whenever a
count behind it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np

from analytics.stays import (
    DESTINATIONS,
    Design,
    EffectEstimate,
    SavingsEstimate,
    StayRecords,
    balance_table,
    cumulative_incidence,
    kaplan_meier,
    median_los,
    readmission_risk,
    restricted_mean_los,
    scenarios,
    select_cohorts,
    suppress_counts,
    tornado,
)
from analytics.stays.store import LoadedStays
from stayactive.reports.model import Cell, Row, Table, TornadoBarOut, TornadoOut, Value
from stayactive.reports.savings_store import StoredParameterSet

GROUPS = ("intervention/after", "intervention/before", "comparison/after", "comparison/before")
_GROUP_LABELS = {
    "intervention/after": "device wards, after go-live (programme)",
    "intervention/before": "device wards, before go-live",
    "comparison/after": "wards without devices, after go-live",
    "comparison/before": "wards without devices, before go-live",
}
_DEST_LABELS = {
    "home": "home",
    "long_term_care": "long-term care",
    "hospital": "hospital",
    "death": "death",
}


def group_records(records: StayRecords) -> dict[str, StayRecords]:
    """The stays of each arm/period group that has any, in the order of :data:`GROUPS`."""
    out: dict[str, StayRecords] = {}
    for name in GROUPS:
        arm, period = name.split("/")
        mask = (records.arm == arm) & (records.period == period)
        if np.any(mask):
            out[name] = records.subset(mask)
    return out


def _suppressed_vector(counts: Sequence[int]) -> list[bool]:
    """Which entries of a line of counts (with its total published) must be withheld."""
    if not counts:
        return []
    table = suppress_counts(np.asarray([list(counts)], dtype=np.int64))
    return [bool(x) for x in table.suppressed[0]]


def flow_table(loaded: LoadedStays) -> Table:
    """Stays admitted, left out by reason, and analysed (suppressed as one line with its total)."""
    as_of = loaded.analysis_at.astimezone(ZoneInfo(loaded.time_zone))
    reasons = list(loaded.excluded)
    counts = [loaded.excluded[r] for r in reasons] + [len(loaded.records)]
    hidden = _suppressed_vector(counts)
    total_hidden = loaded.n_stays < 5
    rows = [
        Row(
            f"stays admitted by {as_of:%Y-%m-%d %H:%M}",
            (Value.count(loaded.n_stays, total_hidden),),
        )
    ]
    rows += [
        Row(f"left out: {reason}", (Value.count(n, h),))
        for reason, n, h in zip(reasons, counts[:-1], hidden[:-1], strict=True)
    ]
    rows.append(Row("stays in the evaluation", (Value.count(counts[-1], hidden[-1]),)))
    return Table(
        "flow",
        "Stays in the evaluation",
        ("stays",),
        tuple(rows),
        note="Only stays with consent to evaluation are analysed; the rest are only counted.",
    )


def group_table(groups: dict[str, StayRecords], loaded: LoadedStays, horizon: float) -> Table:
    """Per group: stays, wards, discharged/ongoing, Kaplan-Meier median LOS and crude RMST."""
    names = list(groups)
    sizes = [len(groups[g]) for g in names]
    size_hidden = _suppressed_vector(sizes)
    split = np.array(
        [[int(np.sum(groups[g].discharged)), int(np.sum(~groups[g].discharged))] for g in names],
        dtype=np.int64,
    )
    split_hidden = suppress_counts(split).suppressed if names else np.zeros((0, 2), bool)
    rows: list[Row] = []
    for i, name in enumerate(names):
        rec = groups[name]
        cells: list[Cell] = [
            Value.count(sizes[i], size_hidden[i]),
            Value(float(loaded.wards_per_group.get(name, 0)), unit="wards"),
            Value.count(int(split[i, 0]), bool(split_hidden[i, 0])),
            Value.count(int(split[i, 1]), bool(split_hidden[i, 1])),
        ]
        if size_hidden[i]:
            cells += [Value.missing("withheld: small group", "days")] * 2
        else:
            km = kaplan_meier(rec.los_days, rec.discharged)
            cells.append(Value.of(median_los(km)))
            rmst = restricted_mean_los(
                rec.los_days, rec.discharged, horizon_days=horizon, beyond_follow_up="extend"
            )
            longest = int(np.argmax(rec.los_days))
            # Kaplan-Meier is unknown beyond a longest stay that is still going on.
            open_end = bool(rec.los_days[longest] < horizon and not rec.discharged[longest])
            cells.append(
                Value(
                    rmst,
                    unit="days",
                    note="curve held flat after the longest stay" if open_end else "",
                )
            )
        rows.append(Row(_GROUP_LABELS[name], tuple(cells)))
    return Table(
        "groups",
        "Groups and length of stay (unadjusted)",
        ("stays", "wards", "discharged", "still in stay", "median LOS", f"RMST to day {horizon:g}"),
        tuple(rows),
        note="Median with its 95% interval (Kaplan-Meier, Brookmeyer-Crowley). RMST is the "
        "bed-days a stay uses in its first days up to the horizon. Not yet adjusted for "
        "case-mix: the effect table is.",
    )


def destination_table(groups: dict[str, StayRecords], horizon: float) -> Table:
    """Per group: cumulative incidence of each destination at the horizon."""
    names = list(groups)
    counts = np.array(
        [[int(np.sum(groups[g].destination == d)) for d in DESTINATIONS] for g in names],
        dtype=np.int64,
    )
    hidden = suppress_counts(counts).suppressed if names else np.zeros((0, 4), bool)
    rows: list[Row] = []
    for i, name in enumerate(names):
        rec = groups[name]
        cif = cumulative_incidence(rec.los_days, rec.destination).evaluate(horizon)
        cells: list[Cell] = []
        for k, dest in enumerate(DESTINATIONS):
            if hidden[i, k]:
                cells.append(
                    Value.missing("withheld: fewer than 5 stays, or protects one", "share")
                )
            else:
                cells.append(Value(cif[dest], unit="share", note=f"{int(counts[i, k])} stays"))
        rows.append(Row(_GROUP_LABELS[name], tuple(cells)))
    return Table(
        "destinations",
        f"Where stays end: share discharged to each destination by day {horizon:g}",
        tuple(_DEST_LABELS[d] for d in DESTINATIONS),
        tuple(rows),
        note="Aalen-Johansen cumulative incidence (competing outcomes). A shorter stay is no "
        "saving if more stays end in long-term care, hospital or death.",
    )


def readmission_table(groups: dict[str, StayRecords]) -> Table:
    """Per group: 30-day readmission after discharge home, with a Wilson interval."""
    names = list(groups)
    counts: list[list[int]] = []
    for g in names:
        rec = groups[g]
        home = rec.discharged & (rec.destination == "home")
        complete = home & ~np.isnan(rec.readmitted_30d)
        k = int(np.sum(rec.readmitted_30d[complete] == 1.0))
        counts.append([k, int(np.sum(complete)) - k, int(np.sum(home & ~complete))])
    table = np.array(counts, dtype=np.int64).reshape(len(names), 3)
    hidden = suppress_counts(table).suppressed if names else np.zeros((0, 3), bool)
    rows: list[Row] = []
    for i, name in enumerate(names):
        k, rest, incomplete = (int(x) for x in table[i])
        # The denominator and the risk would give a withheld count away: both need k and rest.
        known = not (hidden[i, 0] or hidden[i, 1])
        cells: list[Cell] = [
            Value.count(k + rest, not known, "discharges home"),
            Value.count(k, bool(hidden[i, 0]), "discharges home"),
            Value.of(readmission_risk(groups[name]).risk)
            if known
            else Value.missing("withheld: small numbers", "share"),
            Value.count(incomplete, bool(hidden[i, 2]), "discharges home"),
        ]
        rows.append(Row(_GROUP_LABELS[name], tuple(cells)))
    return Table(
        "readmission",
        "Readmission within 30 days of a discharge home",
        ("discharges home (complete window)", "readmitted", "risk", "window not yet complete"),
        tuple(rows),
        note="Readmission: a new short-term stay, or a hospital admission recorded in the care "
        "record, within 30 days. Not comparable with the national indicator (hospital index "
        "stays). Wilson 95% interval.",
    )


def balance(records: StayRecords, design: Design) -> Table:
    """Covariate shares of the design's groups and standardised differences, before adjustment."""
    cohorts = select_cohorts(records, design)
    table = balance_table(cohorts)
    groups = table.groups
    rows: list[Row] = []
    by_covariate: dict[str, list[int]] = {}
    for i, row in enumerate(table.rows):
        by_covariate.setdefault(row.covariate, []).append(i)
    hidden = np.zeros((len(table.rows), len(groups)), dtype=bool)
    for indices in by_covariate.values():
        block = np.array([table.rows[i].counts for i in indices], dtype=np.int64)
        hidden[indices] = suppress_counts(block).suppressed
    for i, row in enumerate(table.rows):
        if all(c == 0 for c in row.counts):
            continue  # a level no group has (e.g. unknown mobility) says nothing
        cells: list[Cell] = []
        for g in range(len(groups)):
            if hidden[i, g]:
                cells.append(Value.missing("withheld", "share"))
            else:
                cells.append(Value(row.shares[g], unit="share", note=f"{row.counts[g]} stays"))
        for r, smd in enumerate(row.standardised_differences, start=1):
            if hidden[i, 0] or hidden[i, r] or math.isnan(smd):
                cells.append(Value.missing("withheld", "SMD"))
            else:
                cells.append(Value(smd, unit="SMD"))
        rows.append(Row(f"{row.covariate} {row.level}", tuple(cells)))
    columns = tuple(f"share {g}" for g in groups) + tuple(f"SMD vs {g}" for g in groups[1:])
    return Table(
        "balance",
        "Covariate balance before standardisation",
        columns,
        tuple(rows),
        note="The effect is standardised to the programme stays' mix over these covariates, "
        "which removes these differences; |SMD| > 0.1 shows what had to be corrected "
        "(Austin 2009).",
    )


def effect_table(effect: EffectEstimate) -> Table:
    """Standardised RMST and readmission risk per group, and the effect per programme stay."""
    rows = [
        Row("bed-days per programme stay (RMST)", (Value.of(effect.intervention_rmst_days),)),
        Row("bed-days per stay without the programme", (Value.of(effect.comparison_rmst_days),)),
        Row("bed-days avoided per stay", (Value.of(effect.bed_days_avoided_per_stay),)),
    ]
    if effect.readmissions_avoided_per_stay is None:
        rows.append(
            Row(
                "readmissions avoided per stay",
                (Value.missing("not estimable yet (too few known 30-day outcomes)"),),
            )
        )
    else:
        assert effect.intervention_readmission_risk and effect.comparison_readmission_risk
        rows += [
            Row(
                "readmissions per programme stay", (Value.of(effect.intervention_readmission_risk),)
            ),
            Row("readmissions per stay without", (Value.of(effect.comparison_readmission_risk),)),
            Row("readmissions avoided per stay", (Value.of(effect.readmissions_avoided_per_stay),)),
        ]
    n_used = sum(g.n_stays for g in effect.groups)
    return Table(
        "effect",
        f"Effect per programme stay ({effect.design.value} design, day {effect.horizon_days:g})",
        ("estimate (95% CI)",),
        tuple(rows),
        note=f"Standardised over {len(effect.strata)} strata; {n_used} stays in the compared "
        f"groups; {effect.n_intervention_unsupported} programme stays without comparison in "
        "their stratum left out.",
    )


def money_tables(savings: SavingsEstimate, values: dict[str, float]) -> tuple[Table, Table]:
    """One year of money with intervals, and the extrapolation to the budget."""
    capacity = savings.savings_kind == "freed capacity"
    gross_label = "value of freed capacity (gross)" if capacity else "gross savings (cash)"
    money = Table(
        "money",
        f"One year of the programme ({savings.savings_kind})",
        ("estimate (95% CI)",),
        (
            Row("stays in scope per year", (Value.of(savings.stays_per_year),)),
            Row("bed-days freed per year", (Value.of(savings.bed_days_freed_per_year),)),
            Row(
                "readmissions avoided per year", (Value.of(savings.readmissions_avoided_per_year),)
            ),
            Row(gross_label, (Value.of(savings.gross_savings_nok),)),
            Row("programme cost", (Value.of(savings.programme_cost_nok),)),
            Row("net savings", (Value.of(savings.net_savings_nok),)),
            Row("return on investment (net / cost)", (Value.of(savings.roi),)),
            Row("payback of the one-off cost", (Value.of(savings.payback_months),)),
        ),
        note=(
            "Freed bed-days are capacity: NOK values them at the average cost per bed-day; the "
            "budget only shrinks if beds close or stays bought elsewhere are taken in."
            if capacity
            else "The tenant records that beds are closed; the average cost per bed-day may "
            "overstate the cash released (marginal cost)."
        ),
    )
    budget = values["annual_short_term_budget_nok"]
    day_cost = values["cost_per_bed_day_nok"]
    uptake = values["uptake_share"]
    extrapolation = Table(
        "extrapolation",
        "Extrapolation to the annual short-term-stay budget",
        ("value",),
        (
            Row("annual short-term-stay budget", (Value(budget, unit="NOK/year"),)),
            Row("cost per bed-day", (Value(day_cost, unit="NOK/bed-day"),)),
            Row("bed-days the budget buys", (Value(budget / day_cost, unit="bed-days/year"),)),
            Row("share of stays the programme reaches", (Value(uptake, unit="share"),)),
            Row("bed-days in scope", (Value(budget / day_cost * uptake, unit="bed-days/year"),)),
            Row("gross value as share of the budget", (Value.of(savings.gross_share_of_budget),)),
        ),
        note="Assumes the whole budget is bed-day cost at this rate, that the per-stay effect "
        "measured here applies to every stay in scope, and that a stay uses as many bed-days as "
        "the comparison's restricted mean.",
    )
    return money, extrapolation


def scenario_table(effect: EffectEstimate, params: StoredParameterSet) -> Table:
    """Low, base and high scenarios (every input at one end of its range)."""
    rows = []
    for s in scenarios(effect, params.parameters):
        rows.append(
            Row(
                s.name,
                (
                    Value(s.bed_days_freed_per_year, unit="bed-days/year"),
                    Value(s.gross_savings_nok, unit="NOK/year"),
                    Value(s.programme_cost_nok, unit="NOK/year"),
                    Value(s.net_savings_nok, unit="NOK/year"),
                    Value(s.roi if math.isfinite(s.roi) else None, unit="NOK net per NOK spent"),
                    Value(
                        s.payback_months if math.isfinite(s.payback_months) else None,
                        unit="months",
                        note="" if math.isfinite(s.payback_months) else "not reached",
                    ),
                ),
            )
        )
    return Table(
        "scenarios",
        "Scenarios: every input at its unfavourable, base and favourable end",
        ("bed-days freed", "gross", "programme cost", "net", "ROI", "payback"),
        tuple(rows),
        note="Joint extremes are unlikely together: the scenarios bound what is plausible, "
        "they are not a probability interval.",
    )


def parameter_table(params: StoredParameterSet) -> Table:
    """Every parameter with its value, range, date, status and source."""
    rows = []
    for p in params.parameters.parameters():
        rows.append(
            Row(
                p.name,
                (
                    Value(p.value, unit=p.unit),
                    Value(p.low, unit=p.unit) if p.low is not None else "",
                    Value(p.high, unit=p.unit) if p.high is not None else "",
                    p.as_of.isoformat(),
                    "UNCONFIRMED" if p.needs_confirmation else "confirmed",
                    p.source,
                ),
            )
        )
    return Table(
        "parameters",
        f"Parameters (version {params.parameters.version})",
        ("value", "low", "high", "as of", "status", "source"),
        tuple(rows),
        note="beds closed: "
        + (
            f"yes ({params.parameters.beds_closed_note})" if params.parameters.beds_closed else "no"
        ),
    )


def tornado_chart(effect: EffectEstimate, params: StoredParameterSet) -> TornadoOut:
    """One-way sensitivity of net savings, as data for the chart."""
    t = tornado(effect, params.parameters)
    return TornadoOut(
        outcome=t.outcome,
        unit="NOK/year",
        base_value=t.base_value,
        bars=tuple(
            TornadoBarOut(
                input=b.input.name,
                unit=b.input.unit,
                base=b.input.base,
                low=b.input.low,
                high=b.input.high,
                range_source=b.input.range_source,
                outcome_at_low=b.outcome_at_low,
                outcome_at_high=b.outcome_at_high,
            )
            for b in t.bars
        ),
    )
