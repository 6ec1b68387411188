"""Open data: monthly aggregates of a tenant's short-term stays, suppressed, with a dictionary.

One row per calendar month (tenant's local time) from the first admission to the analysis date,
and a total row. Only stays of residents who consented to open-data use are counted. The
columns and their definitions are in :data:`DICTIONARY`, which is also written next to the CSV
as Markdown.

Suppression (the same rules as the finance report): a count below 5 is withheld, and so is the
next-smallest month (or the total) when one month alone would be recoverable from the total; a
median, bed-day sum or rate is withheld when the stays behind it are.
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg.rows import TupleRow

from analytics.stays import los_days, suppress_counts
from analytics.stays.store import OpenDataStay, load_open_data_stays, resident_day_steps
from stayactive import audit, registry

#: Columns of the CSV, in order.
COLUMNS: Final = (
    "tenant",
    "month",
    "complete_month",
    "stays_admitted",
    "stays_discharged",
    "median_los_days",
    "bed_days",
    "readmission_rate_30d",
    "mean_daily_steps",
)

#: Column -> definition, for the data dictionary.
DICTIONARY: Final = {
    "tenant": "The municipality (tenant id).",
    "month": "Calendar month, YYYY-MM, in the tenant's time zone; 'total' for the whole period.",
    "complete_month": "false for the month of the extract date, which is not over yet.",
    "stays_admitted": "Short-term stays (KPR services 18, 19, 20) admitted in the month, of "
    "residents who consented to open-data use.",
    "stays_discharged": "Of those stays, the ones that ended in the month (any destination).",
    "median_los_days": "Median length of the stays that ended in the month: elapsed days from "
    "admission to discharge, one decimal. Stays still going on are not in it, so it "
    "understates the typical length in months with many long ongoing stays.",
    "bed_days": "Bed-days (oppholdsdøgn) in the month: nights spent in a short-term stay, "
    "counted as KOSTRA does from dates (discharge date minus admission date), split by month; "
    "stays still going on count up to the extract date.",
    "readmission_rate_30d": "Of discharges home in the month whose 30-day window had ended by "
    "the extract date, the share readmitted within 30 days (a new short-term stay, or a "
    "hospital admission recorded in the care record). Not the national quality indicator.",
    "mean_daily_steps": "Mean steps per resident-day measured by the smart walker in the "
    "month, over resident-days with walker data (days without data are left out, never counted "
    "as zero; the admission and discharge days are partial days); empty when fewer than 5 "
    "residents have such days, or the walker step metrics are not available (see the notes).",
}
_THRESHOLD: Final = 5
#: The type of each column's value in JSON (the CSV holds text; an empty cell is suppressed).
COLUMN_TYPES: Final[dict[str, type]] = {
    "tenant": str,
    "month": str,
    "complete_month": bool,
    "stays_admitted": int,
    "stays_discharged": int,
    "median_los_days": float,
    "bed_days": int,
    "readmission_rate_30d": float,
    "mean_daily_steps": int,
}


def typed_row(row: dict[str, str]) -> dict[str, str | int | float | bool | None]:
    """A CSV row with its values as JSON types: numbers as numbers, an empty cell (suppressed,
    or nothing to compute) as null."""
    out: dict[str, str | int | float | bool | None] = {}
    for name, text in row.items():
        kind = COLUMN_TYPES[name]
        if kind is str:
            out[name] = text
        elif text == "":
            out[name] = None
        elif kind is bool:
            out[name] = text == "true"
        else:
            out[name] = kind(text)
    return out


@dataclass(frozen=True)
class OpenDataTable:
    """The monthly rows (strings, suppressed cells empty) and notes for the dictionary."""

    tenant: str
    analysis_at: datetime
    rows: tuple[dict[str, str], ...]
    notes: tuple[str, ...]
    #: Stays of the period not counted: no open-data consent, or a withdrawn one.
    stays_without_consent: int = 0


def _months(first: date, last: date) -> list[date]:
    out = []
    month = first.replace(day=1)
    while month <= last:
        out.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return out


def _line_suppression(counts: Sequence[int]) -> tuple[list[bool], bool]:
    """Months to withhold, and whether the total is withheld (primary + secondary)."""
    table = suppress_counts(np.asarray([list(counts)], dtype=np.int64))
    return [bool(x) for x in table.suppressed[0]], bool(table.row_total_suppressed[0])


def build_open_data(
    tenant: str,
    stays: Sequence[OpenDataStay],
    steps: Sequence[tuple[date, int, float]] | None,
    *,
    time_zone: str,
    analysis_at: datetime,
) -> OpenDataTable:
    """Monthly aggregates with suppression (see the module docstring)."""
    tz = ZoneInfo(time_zone)
    end_day = analysis_at.astimezone(tz).date()
    notes: list[str] = []
    if not stays:
        return OpenDataTable(
            tenant,
            analysis_at,
            (),
            ("No stays with consent to open-data use: nothing to publish.",),
        )
    first = min(s.admitted_at.astimezone(tz).date() for s in stays)
    months = _months(first, end_day)
    key = {m: i for i, m in enumerate(months)}
    n = len(months)
    admitted = [0] * n
    discharged = [0] * n
    present: list[set[int]] = [set() for _ in range(n)]
    bed_days = [0] * n
    los: list[list[float]] = [[] for _ in range(n)]
    home = [[0, 0] for _ in range(n)]  # [readmitted, not readmitted]
    for i, s in enumerate(stays):
        start = s.admitted_at.astimezone(tz).date()
        admitted[key[start.replace(day=1)]] += 1
        stop = end_day
        if s.discharged_at is not None:
            stop = s.discharged_at.astimezone(tz).date()
            m = key[stop.replace(day=1)]
            discharged[m] += 1
            los[m].append(los_days(s.admitted_at, s.discharged_at))
            if s.destination == "home" and s.readmitted_30d is not None:
                home[m][0 if s.readmitted_30d else 1] += 1
        # Nights: each date from admission up to (not including) the end date is one bed-day.
        day = start
        present[key[start.replace(day=1)]].add(i)
        while day < stop:
            m = key[day.replace(day=1)]
            bed_days[m] += 1
            present[m].add(i)
            day += timedelta(days=1)
    hide_adm, hide_adm_total = _line_suppression(admitted)
    hide_dis, hide_dis_total = _line_suppression(discharged)
    hide_present, hide_present_total = _line_suppression([len(p) for p in present])
    steps_by_month: dict[int, list[tuple[int, float]]] = defaultdict(list)
    if steps is None:
        notes.append(
            "mean_daily_steps is empty: the walker's daily step metrics (table resident_days) "
            "are not available in this installation yet."
        )
    elif not steps:
        notes.append(
            "mean_daily_steps is empty: no resident-day with walker step data for residents "
            "who consented to open-data use."
        )
    else:
        for day, resident, value in steps:
            if first.replace(day=1) <= day <= end_day:
                steps_by_month[key[day.replace(day=1)]].append((resident, value))
    rows: list[dict[str, str]] = []
    for m, month in enumerate(months):
        rate = ""
        k, rest = home[m]
        if k >= _THRESHOLD and rest >= _THRESHOLD:
            rate = f"{k / (k + rest):.3f}"
        mean_steps = ""
        day_values = steps_by_month.get(m, [])
        if len({r for r, _ in day_values}) >= _THRESHOLD:
            mean_steps = f"{statistics.fmean(v for _, v in day_values):.0f}"
        rows.append(
            {
                "tenant": tenant,
                "month": month.strftime("%Y-%m"),
                "complete_month": str(month != end_day.replace(day=1)).lower(),
                "stays_admitted": "" if hide_adm[m] else str(admitted[m]),
                "stays_discharged": "" if hide_dis[m] else str(discharged[m]),
                "median_los_days": ""
                if hide_dis[m] or not los[m]
                else f"{statistics.median(los[m]):.1f}",
                "bed_days": "" if hide_present[m] else str(bed_days[m]),
                "readmission_rate_30d": rate,
                "mean_daily_steps": mean_steps,
            }
        )
    all_los = [x for month_los in los for x in month_los]
    k_all = sum(h[0] for h in home)
    rest_all = sum(h[1] for h in home)
    all_steps = [v for values in steps_by_month.values() for _, v in values]
    all_residents = {r for values in steps_by_month.values() for r, _ in values}
    rows.append(
        {
            "tenant": tenant,
            "month": "total",
            "complete_month": "false",
            "stays_admitted": "" if hide_adm_total else str(sum(admitted)),
            "stays_discharged": "" if hide_dis_total else str(sum(discharged)),
            "median_los_days": ""
            if hide_dis_total or not all_los
            else f"{statistics.median(all_los):.1f}",
            "bed_days": "" if hide_present_total else str(sum(bed_days)),
            "readmission_rate_30d": f"{k_all / (k_all + rest_all):.3f}"
            if k_all >= _THRESHOLD and rest_all >= _THRESHOLD
            else "",
            "mean_daily_steps": f"{statistics.fmean(all_steps):.0f}"
            if len(all_residents) >= _THRESHOLD
            else "",
        }
    )
    notes.append(
        "Empty cells are suppressed: fewer than 5 stays (or residents, or readmitted / not "
        "readmitted discharges), or withheld so that a suppressed month cannot be recovered "
        "from the total."
    )
    return OpenDataTable(tenant, analysis_at, tuple(rows), tuple(notes))


def dictionary_markdown(table: OpenDataTable) -> str:
    """The data dictionary of the CSV, as Markdown."""
    lines = [
        f"# Open data: short-term stays per month — {table.tenant}",
        "",
        f"Extract date: {table.analysis_at.isoformat(timespec='minutes')}. One row per calendar "
        "month and a total row. Counts cover stays of residents who consented to open-data "
        "use, not all of the municipality's stays. Produced by `stayactive report open-data`.",
        "",
        "| column | definition |",
        "| --- | --- |",
    ]
    lines += [f"| `{name}` | {DICTIONARY[name]} |" for name in COLUMNS]
    lines += ["", "## Notes", ""]
    lines += [f"- {note}" for note in table.notes]
    return "\n".join(lines) + "\n"


def write_open_data(table: OpenDataTable, out_dir: Path) -> tuple[Path, Path]:
    """Write ``open-data-<tenant>.csv`` and its dictionary ``...-dictionary.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"open-data-{table.tenant}.csv"
    md_path = out_dir / f"open-data-{table.tenant}-dictionary.md"
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table.rows)
    md_path.write_text(dictionary_markdown(table), encoding="utf-8")
    return csv_path, md_path


def open_data(
    conn: psycopg.Connection[TupleRow],
    tenant: str,
    *,
    actor: str,
    analysis_at: datetime,
) -> OpenDataTable:
    """Load the tenant's open-data stays and step metrics, aggregate, and audit the read."""
    zone = registry.tenant_time_zone(conn, tenant)
    stays = load_open_data_stays(conn, tenant, analysis_at)
    until = analysis_at.astimezone(zone).date()
    steps = resident_day_steps(conn, tenant, until)
    table = build_open_data(tenant, stays, steps, time_zone=zone.key, analysis_at=analysis_at)
    # What consent left out is counted and said, never silently dropped (docs/privacy.md).
    row = conn.execute(
        "SELECT count(*) FROM stays WHERE tenant_id = %s AND admitted_at <= %s",
        (tenant, analysis_at),
    ).fetchone()
    left_out = (int(row[0]) if row else 0) - len(stays)
    table = dataclasses.replace(
        table,
        stays_without_consent=left_out,
        notes=(
            *table.notes,
            f"{left_out} of the tenant's stays admitted by the extract date are left out: their "
            "residents did not consent to open-data use, or withdrew the consent.",
        ),
    )
    audit.record(
        conn,
        tenant=tenant,
        actor=actor,
        action="report.open_data",
        subject_kind="stays",
        subject_id=tenant,
        purpose="open_data",
        detail={"analysis_at": analysis_at.isoformat(), "stays_read": len(stays)},
    )
    return table
