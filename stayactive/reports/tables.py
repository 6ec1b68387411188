"""The descriptive tables of the finance report, each already through small-cell suppression.

One function per table; :func:`~stayactive.reports.savings.assemble_savings_report` puts them
in order (the effect and money tables are in :mod:`stayactive.reports.money_tables`). Counts go
through :func:`~analytics.stays.suppress_counts` as tables (primary and secondary suppression);
a share, median, risk or standardised difference is withheld whenever a count behind it is.
Labels are in the report's language (:mod:`stayactive.reports.labels`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from analytics.stays import (
    DESTINATIONS,
    EffectEstimate,
    StayRecords,
    cumulative_incidence,
    kaplan_meier,
    median_los,
    readmission_risk,
    restricted_mean_los,
    suppress_counts,
)
from analytics.stays._km import follow_up_reach
from analytics.stays.store import LoadedStays
from stayactive.locale_format import Language, format_datetime, format_day, format_number
from stayactive.reports.labels import (
    destination_label,
    group_label,
    reason_label,
    text,
    unit_label,
)
from stayactive.reports.model import Cell, Row, Table, Value

GROUPS = ("intervention/after", "intervention/before", "comparison/after", "comparison/before")


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


def flow_table(loaded: LoadedStays, language: Language) -> Table:
    """Stays admitted, left out by reason, and analysed (suppressed as one line with its total)."""
    as_of = format_datetime(loaded.analysis_at, loaded.time_zone, language=language)
    reasons = list(loaded.excluded)
    counts = [loaded.excluded[r] for r in reasons] + [len(loaded.records)]
    hidden = _suppressed_vector(counts)
    total_hidden = loaded.n_stays < 5
    rows = [
        Row(
            text("r.stays_admitted", language, d=as_of),
            (Value.count(loaded.n_stays, total_hidden),),
        )
    ]
    rows += [
        Row(text("r.left_out", language, r=reason_label(reason, language)), (Value.count(n, h),))
        for reason, n, h in zip(reasons, counts[:-1], hidden[:-1], strict=True)
    ]
    rows.append(Row(text("r.in_evaluation", language), (Value.count(counts[-1], hidden[-1]),)))
    return Table(
        "flow",
        text("t.flow", language),
        (text("c.stays", language),),
        tuple(rows),
        note="Bare opphold med samtykke til evaluering analyseres; resten telles bare."
        if language == "nb"
        else "Only stays with consent to evaluation are analysed; the rest are only counted.",
    )


def group_table(
    groups: dict[str, StayRecords], loaded: LoadedStays, horizon: float, language: Language
) -> Table:
    """Per group: stays, wards, discharged/ongoing, Kaplan-Meier median LOS and crude RMST.

    The crude RMST is shown only where the group's follow-up reaches the horizon: a curve is
    never extended past its follow-up.
    """
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
            reach = follow_up_reach(rec.los_days, rec.discharged)
            if reach < horizon:
                day = format_number(reach, 1, language=language)
                cells.append(
                    Value.missing(
                        f"kurven er kjent bare til dag {day}"
                        if language == "nb"
                        else f"curve known only to day {day}",
                        "days",
                    )
                )
            else:
                cells.append(
                    Value(
                        restricted_mean_los(rec.los_days, rec.discharged, horizon_days=horizon),
                        unit="days",
                    )
                )
        rows.append(Row(group_label(name, language), tuple(cells)))
    h = format_day(horizon, language=language)
    return Table(
        "groups",
        text("t.groups", language),
        (
            text("c.stays", language),
            text("c.wards", language),
            text("c.discharged", language),
            text("c.ongoing", language),
            text("c.median", language),
            text("c.rmst", language, h=h),
        ),
        tuple(rows),
        note=(
            "Median med 95 % KI (Kaplan–Meier). Liggedøgn per opphold er gjennomsnittet til "
            f"dag {h} (RMST). Ikke justert for beboersammensetning: effekttabellen er det."
            if language == "nb"
            else "Median with its 95% CI (Kaplan-Meier). Bed-days per stay is the restricted "
            f"mean to day {h} (RMST). Not adjusted for case mix: the effect table is."
        ),
    )


def destination_table(groups: dict[str, StayRecords], horizon: float, language: Language) -> Table:
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
                n = format_number(int(counts[i, k]), 0, language=language)
                stays = unit_label("stays", language)
                cells.append(Value(cif[dest], unit="share", note=f"{n} {stays}"))
        rows.append(Row(group_label(name, language), tuple(cells)))
    h = format_day(horizon, language=language)
    return Table(
        "destinations",
        text("t.destinations", language)
        + (f" (andel innen dag {h})" if language == "nb" else f" (share by day {h})"),
        tuple(destination_label(d, language) for d in DESTINATIONS),
        tuple(rows),
        note=(
            "Konkurrerende utfall (Aalen–Johansen). Et kortere opphold er ingen gevinst hvis "
            "flere ender på langtidsplass, sykehus eller dør."
            if language == "nb"
            else "Competing outcomes (Aalen-Johansen). A shorter stay is no saving if more stays "
            "end in long-term care, hospital or death."
        ),
    )


def readmission_table(groups: dict[str, StayRecords], language: Language) -> Table:
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
        rows.append(Row(group_label(name, language), tuple(cells)))
    return Table(
        "readmission",
        text("t.readmission", language),
        (
            text("c.index_discharges", language),
            text("c.readmitted", language),
            text("c.risk", language),
            text("c.window_open", language),
        ),
        tuple(rows),
        note=(
            "Reinnleggelse: nytt korttidsopphold eller registrert sykehusinnleggelse innen 30 "
            "dager. Ikke sammenlignbar med den nasjonale kvalitetsindikatoren. Wilson 95 % KI."
            if language == "nb"
            else "Readmission: a new short-term stay, or a hospital admission recorded in the "
            "care record, within 30 days. Not comparable with the national indicator. Wilson "
            "95% interval."
        ),
    )


def balance(effect: EffectEstimate, language: Language) -> Table:
    """Covariate shares of the programme stays and of each reference group, before and after
    the propensity-score weights, with standardised differences (|d| > 0.1: imbalance)."""
    rows: list[Row] = []
    columns: list[str] = [text("c.share_programme", language)]
    for b in effect.balance:
        g = short_group(b.reference, language)
        columns += [
            text("c.smd_before", language) + f" ({g})",
            text("c.smd_after", language) + f" ({g})",
        ]
    withheld = Value.missing("withheld: fewer than 5 stays, or protects one", "share")
    if effect.balance:
        first = effect.balance[0]
        hidden = _balance_suppression(effect)
        for k, row in enumerate(first.rows):
            if row.target_count == 0 and all(
                b.rows[k].reference_count == 0 for b in effect.balance
            ):
                continue  # a level no group has (e.g. unknown mobility) says nothing
            cells: list[Cell] = [
                withheld if hidden[k, 0] else Value(row.target_share, unit="share")
            ]
            for j, b in enumerate(effect.balance, start=1):
                r = b.rows[k]
                if hidden[k, 0] or hidden[k, j]:
                    cells += [Value.missing("withheld", "SMD")] * 2
                    continue
                cells += [
                    Value(r.smd_before if math.isfinite(r.smd_before) else None, unit="SMD"),
                    Value(r.smd_after if math.isfinite(r.smd_after) else None, unit="SMD"),
                ]
            rows.append(Row(f"{_covariate(row.covariate, language)} {row.level}", tuple(cells)))
    ess = "; ".join(
        f"{group_label(b.reference, language)}: {b.n_reference} → {b.effective_sample_size:.0f}"
        for b in effect.balance
    )
    return Table(
        "balance",
        text("t.balance", language),
        tuple(columns),
        tuple(rows),
        note=(
            "Sammenligningsgruppene vektes med tilbøyelighetsskårer slik at de får samme "
            "sammensetning som programoppholdene (alder, type opphold, gangfart ved innleggelse). "
            "|d| > 0,1 regnes som skjevhet (Austin 2009). Effektivt antall opphold etter "
            f"vekting: {ess}."
            if language == "nb"
            else "The comparison groups are weighted by propensity scores to the programme stays' "
            "mix (age, stay type, gait speed on admission). |d| > 0.1 is read as imbalance "
            f"(Austin 2009). Effective number of stays after weighting: {ess}."
        ),
    )


def _balance_suppression(effect: EffectEstimate) -> np.ndarray:
    """Cells (level x group) whose count is small, per covariate block with its totals."""
    first = effect.balance[0]
    counts = np.array(
        [
            [r.target_count] + [b.rows[k].reference_count for b in effect.balance]
            for k, r in enumerate(first.rows)
        ],
        dtype=np.int64,
    )
    hidden = np.zeros(counts.shape, dtype=bool)
    covariates = [r.covariate for r in first.rows]
    for name in dict.fromkeys(covariates):
        block = [k for k, c in enumerate(covariates) if c == name]
        hidden[block] = suppress_counts(counts[block]).suppressed
    return hidden


def short_group(name: str, language: Language) -> str:
    """A group in two or three words, for column headings."""
    nb = {
        "intervention/before": "med utstyr, før",
        "comparison/after": "uten utstyr, etter",
        "comparison/before": "uten utstyr, før",
    }
    en = {
        "intervention/before": "device wards, before",
        "comparison/after": "no devices, after",
        "comparison/before": "no devices, before",
    }
    return (nb if language == "nb" else en).get(name, name)


def _covariate(name: str, language: Language) -> str:
    nb = {"age_band": "alder", "stay_type": "KPR-tjeneste", "mobility_band": "gangfart m/s"}
    en = {"age_band": "age", "stay_type": "KPR service", "mobility_band": "gait speed m/s"}
    return (nb if language == "nb" else en)[name]
