"""The finance report as a PDF (A4, matplotlib): figures, tables, tornado chart, assumptions.

Laid out top to bottom on A4 pages by a small flow writer (:class:`_Flow`): headings, wrapped
paragraphs and tables at fixed column positions, with a new page whenever the current one is
full. matplotlib's ``Agg`` backend is used so no display is needed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from io import BytesIO
from typing import Final
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from stayactive.reports.model import Cell, SavingsReport, Table, TornadoOut

_A4_IN: Final = (8.27, 11.69)
_MARGIN: Final = 0.07  # of the page width/height
_LINE: Final = 0.0135  # height of one 8-pt line, as a share of the page height
_FONT: Final = 7.5
_SMALL: Final = 6.5
#: Characters of 6.5-pt text across the full page width (about half an em per character).
_CHARS_PER_PAGE_WIDTH: Final = 150


def format_value(cell: Cell) -> str:
    """A cell as text: numbers with thousands separators, intervals in brackets."""
    if isinstance(cell, str):
        return cell
    if cell.value is None:
        return "-" if not cell.note else f"- ({_short_note(cell.note)})"
    text = _number(cell.value, cell.unit)
    if cell.low is not None or cell.high is not None:
        text += f" [{_number(cell.low, cell.unit)}; {_number(cell.high, cell.unit)}]"
    return text + _unit_suffix(cell.unit)


def _short_note(note: str) -> str:
    return "suppressed" if note.startswith("suppressed") or note.startswith("withheld") else note


def _number(x: float | None, unit: str) -> str:
    if x is None:
        return "not reached"
    if "share" in unit:
        return f"{x:.1%}"
    if unit.startswith("NOK") and unit != "NOK net per NOK spent" and abs(x) >= 1000:
        return f"{x / 1e6:,.2f} M" if abs(x) >= 1e6 else f"{x:,.0f}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x == int(x) and unit in ("stays", "wards", "discharges home", "readmissions"):
        return f"{int(x)}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def _unit_suffix(unit: str) -> str:
    """A short unit after a figure where the row label does not say it."""
    if unit.startswith("NOK") and unit != "NOK net per NOK spent":
        return " NOK"
    if unit in ("days", "months"):
        return " " + unit
    return ""


class _Flow:
    """Writes text and tables down A4 pages, starting a new page when one is full."""

    def __init__(self, pdf: PdfPages, footer: str) -> None:
        self._pdf = pdf
        self._footer = footer
        self._page = 0
        self._fig: Figure | None = None
        self._y = 0.0

    def _new_page(self) -> Figure:
        self.close_page()
        self._fig = plt.figure(figsize=_A4_IN)
        self._page += 1
        self._y = 1 - _MARGIN
        return self._fig

    def close_page(self) -> None:
        """Finish the current page (footer with page number) and write it."""
        if self._fig is not None:
            self._fig.text(
                _MARGIN,
                _MARGIN / 2,
                f"{self._footer} — page {self._page}",
                fontsize=_SMALL,
                color="0.4",
            )
            self._pdf.savefig(self._fig)  # type: ignore[no-untyped-call]
            plt.close(self._fig)
            self._fig = None

    def _room(self, lines: float) -> Figure:
        if self._fig is None or self._y - lines * _LINE < _MARGIN:
            return self._new_page()
        return self._fig

    def heading(self, text: str, size: float = 11) -> None:
        """A heading (kept with at least four lines of what follows)."""
        fig = self._room(5)
        self._y -= _LINE * 0.6
        fig.text(_MARGIN, self._y, text, fontsize=size, weight="bold", va="top")
        self._y -= _LINE * (size / 8 + 0.4)

    def paragraph(
        self, text: str, *, size: float = _FONT, width: int = 118, indent: str = ""
    ) -> None:
        """Wrapped text."""
        lines = textwrap.wrap(
            text, width=width, initial_indent=indent, subsequent_indent=" " * len(indent)
        ) or [""]
        for line in lines:
            fig = self._room(1)
            fig.text(_MARGIN, self._y, line, fontsize=size, va="top")
            self._y -= _LINE * size / _FONT
        self._y -= _LINE * 0.3

    def table(self, table: Table, *, label_width: float = 0.30, wrap_last: bool = False) -> None:
        """A table: label column, then the cells; long rows are wrapped within their column."""
        self.heading(table.title, size=9)
        columns = list(table.columns)
        usable = 1 - 2 * _MARGIN
        n = max(len(columns), 1)
        widths = [label_width] + [(usable - label_width) / n] * n
        if wrap_last and n > 1:
            # Short figures, then one wide text column (the parameters' sources).
            widths = [label_width] + [0.095] * (n - 1)
            widths.append(usable - label_width - 0.095 * (n - 1))
        xs = [_MARGIN]
        for w in widths[:-1]:
            xs.append(xs[-1] + w)
        self._row(["", *columns], xs, widths, bold=True)
        for row in table.rows:
            self._row([row.label, *[format_value(c) for c in row.cells]], xs, widths)
        if table.note:
            self.paragraph(table.note, size=_SMALL, width=140)
        self._y -= _LINE * 0.4

    def _row(
        self,
        texts: Sequence[str],
        xs: Sequence[float],
        widths: Sequence[float],
        *,
        bold: bool = False,
    ) -> None:
        wrapped = [
            textwrap.wrap(t, width=max(8, int(w * _CHARS_PER_PAGE_WIDTH))) or [""]
            for t, w in zip(texts, widths, strict=True)
        ]
        height = max(len(w) for w in wrapped)
        fig = self._room(height + 0.3)
        for x, lines in zip(xs, wrapped, strict=True):
            for k, line in enumerate(lines):
                fig.text(
                    x,
                    self._y - k * _LINE,
                    line,
                    fontsize=_SMALL,
                    va="top",
                    weight="bold" if bold else "normal",
                )
        self._y -= _LINE * (height + 0.25)

    def figure(self, draw: Figure) -> None:
        """A full page with a chart."""
        self.close_page()
        self._page += 1
        draw.text(
            _MARGIN,
            _MARGIN / 2,
            f"{self._footer} — page {self._page}",
            fontsize=_SMALL,
            color="0.4",
        )
        self._pdf.savefig(draw)  # type: ignore[no-untyped-call]
        plt.close(draw)


def _tornado_figure(t: TornadoOut, title: str) -> Figure:
    fig = plt.figure(figsize=_A4_IN)
    ax = fig.add_axes((0.36, 0.22, 0.57, 0.66))
    bars = list(reversed(t.bars))  # widest at the top
    scale = 1e6
    for i, bar in enumerate(bars):
        lo, hi = bar.outcome_at_low / scale, bar.outcome_at_high / scale
        base = t.base_value / scale
        ax.barh(i, lo - base, left=base, color="#c0504d", height=0.6)
        ax.barh(i, hi - base, left=base, color="#4f81bd", height=0.6)
    ax.axvline(t.base_value / scale, color="black", linewidth=0.8)
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels(
        [f"{b.input}\n{_number(b.low, b.unit)} - {_number(b.high, b.unit)}" for b in bars],
        fontsize=6,
    )
    ax.set_xlabel("net savings, NOK million per year", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(title, fontsize=10, loc="left")
    fig.text(
        0.07,
        0.14,
        f"Base: net savings NOK {t.base_value / scale:,.2f} million per year (vertical line). "
        "Red: the input at the low end of its range; blue: at the high end;\nall other inputs "
        "at base. Effect inputs vary over their 95% interval, parameters over their stated "
        "range (or ±25% where none is given).",
        fontsize=7,
        va="top",
    )
    return fig


def render_pdf(report: SavingsReport) -> bytes:
    """The report as PDF bytes (starts with ``%PDF``)."""
    buffer = BytesIO()
    footer = (
        f"StayActive savings report — {report.tenant} — data as of "
        f"{report.analysis_at.astimezone(ZoneInfo(report.time_zone)):%Y-%m-%d %H:%M}"
    )
    with PdfPages(
        buffer, metadata={"Title": f"Savings report {report.tenant}", "Creator": "StayActive"}
    ) as pdf:
        flow = _Flow(pdf, footer)
        flow.heading(f"Savings from the activation programme — {report.tenant}", size=14)
        tz = ZoneInfo(report.time_zone)
        flow.paragraph(
            f"Data as of {report.analysis_at.astimezone(tz):%Y-%m-%d %H:%M} ({report.time_zone}); "
            f"generated {report.generated_at.astimezone(tz):%Y-%m-%d %H:%M}. "
            f"Status: {report.status}."
        )
        for message in report.messages:
            flow.paragraph(message, size=9)
        flow.heading("Design", size=10)
        flow.paragraph(f"{report.design or 'none'} — {report.design_basis}")
        if report.design_description:
            flow.paragraph(report.design_description)
        flow.paragraph(
            f"Parameters {report.parameter_version}: {report.parameter_basis}. "
            f"Bed-days counted to day {report.horizon_days:g} of each stay; 95% intervals from "
            f"{report.n_resamples} bootstrap resamples (seed {report.seed})."
        )
        if report.savings_kind:
            flow.paragraph(
                "NOK figures are the value of FREED CAPACITY, not cash: the budget shrinks only "
                "if beds are closed."
                if report.savings_kind == "freed capacity"
                else "NOK figures are cash-releasing: the tenant records that beds are closed."
            )
        for key in ("effect", "money"):
            if any(t.key == key for t in report.tables):
                flow.table(report.table(key), label_width=0.42)
        for note in report.notes:
            flow.paragraph("Note: " + note, size=_SMALL, width=140)
        for table in report.tables:
            if table.key in ("effect", "money", "parameters"):
                continue
            wide = table.key in ("balance",)
            flow.table(table, label_width=0.22 if wide else 0.32)
        flow.close_page()
        if report.tornado is not None:
            flow.figure(
                _tornado_figure(report.tornado, "One-way sensitivity of net savings (tornado)")
            )
        if any(t.key == "parameters" for t in report.tables):
            flow.table(report.table("parameters"), label_width=0.20, wrap_last=True)
        if report.assumptions:
            flow.heading("Assumptions")
            for a in report.assumptions:
                flow.paragraph(a, indent="- ")
        flow.heading("Method")
        for m in report.method:
            flow.paragraph(m)
        flow.close_page()
    data = buffer.getvalue()
    if not data.startswith(b"%PDF"):
        raise RuntimeError("matplotlib did not produce a PDF")
    return data
