"""The finance report as JSON (one object) or CSV (one long table a spreadsheet can pivot).

Both carry the same published values; suppressed cells are empty with a note, never a number.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from datetime import date, datetime
from typing import Any

from stayactive.locale_format import Language, confidence_label, format_number
from stayactive.reports.cells import format_cell, format_estimate, format_interval, note_text
from stayactive.reports.labels import text as text_of
from stayactive.reports.model import SavingsReport, Value

#: Columns of the CSV export.
CSV_COLUMNS = ("section", "item", "column", "value", "low", "high", "unit", "note")


def _plain(value: Any, language: Language) -> Any:
    """JSON-ready: dataclasses to dicts, datetimes to ISO 8601, non-finite floats to None; a
    :class:`Value` also carries its ``text`` in the report's language (figure, unit, interval,
    or why it is missing), so that a client shows what the PDF shows."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name), language) for f in dataclasses.fields(value)}
        if isinstance(value, Value):
            out["text"] = format_cell(value, language)
        return out
    if isinstance(value, dict):
        return {str(k): _plain(v, language) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, language) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_to_dict(report: SavingsReport) -> dict[str, Any]:
    """The report as plain JSON types; tables keep their column names next to every cell."""
    language = report.language
    out: dict[str, Any] = _plain(report, language)
    if report.headline is not None:
        # The headline's figures read as a sentence does: "2,4 mill. kr/år (95 % KI …)".
        for name in ("bed_days_freed", "capacity_value", "safe_cash_effect", "cash_effect",
                     "net_value"):  # fmt: skip
            value = getattr(report.headline, name)
            out["headline"][name]["text"] = format_estimate(value, language)
            out["headline"][name]["interval_text"] = (
                f"{confidence_label(report.confidence_level, language=language)} "
                f"{format_interval(value.low, value.high, value.unit, language)}"
                if value.low is not None or value.high is not None
                else ""
            )
        out["headline"]["probability_net_negative_text"] = format_number(
            report.headline.probability_net_negative, 2, language=language
        )
    tables: dict[str, Any] = {}
    for table in report.tables:
        tables[table.key] = {
            "title": table.title,
            "note": table.note,
            "rows": [
                {
                    "label": row.label,
                    **{
                        column: _plain(cell, language)
                        for column, cell in zip(table.columns, row.cells, strict=True)
                    },
                }
                for row in table.rows
            ],
        }
    out["tables"] = tables
    return out


def render_json(report: SavingsReport) -> str:
    """The report as one JSON object (UTF-8 text, no NaN)."""
    return json.dumps(report_to_dict(report), ensure_ascii=False, allow_nan=False, indent=2)


def _csv_rows(report: SavingsReport) -> list[list[str]]:
    rows: list[list[str]] = []

    def text(section: str, item: str, value: str, note: str = "") -> None:
        rows.append([section, item, "", value, "", "", "", note])

    text("report", "tenant", report.tenant)
    text("report", "tenant_name", report.tenant_name)
    text("report", "language", report.language)
    text("report", "status", report.status)
    text("report", "draft", "true" if report.draft else "false", "; ".join(report.draft_reasons))
    text("report", "price_year", str(report.price_year))
    if report.headline is not None:
        h = report.headline
        text("headline", "sentence", h.sentence)
        for item, value in (
            ("bed_days_freed", h.bed_days_freed),
            ("capacity_value", h.capacity_value),
            ("safe_cash_effect", h.safe_cash_effect),
            ("cash_effect", h.cash_effect),
            ("net_value", h.net_value),
        ):
            rows.append(
                [
                    "headline",
                    item,
                    "",
                    _num(value.value),
                    _num(value.low),
                    _num(value.high),
                    value.unit,
                    "",
                ]
            )
        rows.append(
            [
                "headline",
                "probability_net_negative",
                "",
                _num(h.probability_net_negative),
                "",
                "",
                "probability",
                "",
            ]
        )
    for i, line in enumerate(report.decisive_assumptions, start=1):
        text("decisive_assumption", str(i), line)
    for message in report.messages:
        text("report", "message", message)
    text("report", "generated_at", report.generated_at.isoformat())
    text("report", "analysis_at", report.analysis_at.isoformat())
    text("report", "design", report.design or "", report.design_basis)
    text("report", "design_description", report.design_description)
    text("report", "horizon_days", f"{report.horizon_days:g}")
    text(
        "report",
        "bootstrap",
        f"{report.n_resamples} trekninger, frø {report.seed}"
        if report.language == "nb"
        else f"{report.n_resamples} resamples, seed {report.seed}",
    )
    text("report", "parameter_version", report.parameter_version, report.parameter_basis)
    text("report", "savings_kind", report.savings_kind or "")
    for table in report.tables:
        for row in table.rows:
            for column, cell in zip(table.columns, row.cells, strict=True):
                if isinstance(cell, Value):
                    rows.append(
                        [
                            table.key,
                            row.label,
                            column,
                            _num(cell.value),
                            _num(cell.low),
                            _num(cell.high),
                            cell.unit,
                            note_text(cell.note, report.language),
                        ]
                    )
                else:
                    rows.append([table.key, row.label, column, cell, "", "", "", ""])
    if report.tornado is not None:
        for bar in report.tornado.bars:
            span = format_interval(bar.low, bar.high, bar.unit, report.language)
            rows.append(
                [
                    "tornado",
                    bar.label,
                    text_of("tornado.low_high", report.language),
                    "",
                    _num(bar.outcome_at_low),
                    _num(bar.outcome_at_high),
                    report.tornado.unit,
                    f"{span} ({bar.range_source})",
                ]
            )
    for kind, texts in (
        ("assumption", report.assumptions),
        ("note", report.notes),
        ("method", report.method),
    ):
        for i, line in enumerate(texts, start=1):
            text(kind, str(i), line)
    return rows


def _num(x: float | None) -> str:
    return "" if x is None else repr(float(x))


#: A cell that begins with one of these is a formula to a spreadsheet ("CSV injection",
#: OWASP): a parameter's source typed as "=HYPERLINK(…)" or "- SSB 2024" would be run or
#: shown as an error. Such a cell is written with a leading apostrophe, which Excel and
#: LibreOffice show as text. Numbers ("-0.25", "-1.5e-05") are left as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text (see :data:`_FORMULA_START`)."""
    if not cell.startswith(_FORMULA_START):
        return cell
    try:
        float(cell)
    except ValueError:
        return "'" + cell
    return cell


def render_csv(report: SavingsReport) -> str:
    """The report as CSV with the columns of :data:`CSV_COLUMNS` (one figure per line)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([spreadsheet_text(c) for c in row] for row in _csv_rows(report))
    return buffer.getvalue()
