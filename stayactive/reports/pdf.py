"""The finance report as a PDF (A4, matplotlib), laid out for a finance officer.

Page 1 opens with the headline box (value of freed capacity, safe cash effect, P(net < 0)) and
the assumptions that decide it, then the comparison and its checks; the figures follow, the
tornado chart has a page of its own, and the CHEERS 2022 / ISPOR checklist is the appendix.
While the report is a draft every page carries "UTKAST – ikke for beslutning" (or "DRAFT – not
for decision"). Numbers are formatted by :mod:`stayactive.reports.cells` in the report's
language. matplotlib's ``Agg`` backend is used so no display is needed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from io import BytesIO
from typing import Final

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from stayactive.locale_format import Language, format_datetime, format_day, format_number
from stayactive.reports.cells import format_cell, format_estimate, format_figure
from stayactive.reports.labels import text
from stayactive.reports.model import Cell, SavingsReport, Table, TornadoOut

_A4_IN: Final = (8.27, 11.69)
_MARGIN: Final = 0.07  # of the page width/height
_LINE: Final = 0.0135  # height of one 8-pt line, as a share of the page height
_FONT: Final = 7.5
_SMALL: Final = 6.5
#: Characters of 6.5-pt text across the full page width (about half an em per character).
_CHARS_PER_PAGE_WIDTH: Final = 150
_DRAFT_RED: Final = "#b00020"


def format_value(cell: Cell, language: Language = "nb") -> str:
    """A cell as the PDF shows it (see :func:`stayactive.reports.cells.format_cell`)."""
    return format_cell(cell, language)


class _Flow:
    """Writes text and tables down A4 pages, starting a new page when one is full."""

    def __init__(self, pdf: PdfPages, footer: str, draft: str, language: Language) -> None:
        self._pdf = pdf
        self._footer = footer
        self._draft = draft
        self._language = language
        self._page = 0
        self._fig: Figure | None = None
        self._y = 0.0

    def _decorate(self, fig: Figure) -> None:
        fig.text(
            _MARGIN,
            _MARGIN / 2,
            f"{self._footer} — {text('page', self._language)} {self._page}",
            fontsize=_SMALL,
            color="0.4",
        )
        if self._draft:
            fig.text(
                0.5, 0.5, self._draft, fontsize=40, color=_DRAFT_RED, alpha=0.08,
                rotation=35, ha="center", va="center",
            )  # fmt: skip
            fig.text(
                1 - _MARGIN, 1 - _MARGIN / 2, self._draft, fontsize=9, color=_DRAFT_RED,
                weight="bold", ha="right", va="center",
            )  # fmt: skip

    def _new_page(self) -> Figure:
        self.close_page()
        self._fig = plt.figure(figsize=_A4_IN)
        self._page += 1
        self._y = 1 - _MARGIN
        return self._fig

    def close_page(self) -> None:
        """Finish the current page (footer, draft mark) and write it."""
        if self._fig is not None:
            self._decorate(self._fig)
            self._pdf.savefig(self._fig)  # type: ignore[no-untyped-call]
            plt.close(self._fig)
            self._fig = None

    def _room(self, lines: float) -> Figure:
        if self._fig is None or self._y - lines * _LINE < _MARGIN:
            return self._new_page()
        return self._fig

    def heading(self, words: str, size: float = 11, color: str = "black") -> None:
        """A heading (kept with at least four lines of what follows)."""
        fig = self._room(5)
        self._y -= _LINE * 0.6
        fig.text(_MARGIN, self._y, words, fontsize=size, weight="bold", va="top", color=color)
        self._y -= _LINE * (size / 8 + 0.4)

    def paragraph(
        self,
        words: str,
        *,
        size: float = _FONT,
        width: int = 118,
        indent: str = "",
        color: str = "black",
    ) -> None:
        """Wrapped text."""
        lines = textwrap.wrap(
            words, width=width, initial_indent=indent, subsequent_indent=" " * len(indent)
        ) or [""]
        for line in lines:
            fig = self._room(1)
            fig.text(_MARGIN, self._y, line, fontsize=size, va="top", color=color)
            self._y -= _LINE * size / _FONT
        self._y -= _LINE * 0.3

    def box(self, title: str, lines: Sequence[tuple[str, str]], footnote: str) -> None:
        """The headline box: a framed block of label / figure lines."""
        height = (len(lines) * 1.9 + 3.2) * _LINE
        fig = self._room(height / _LINE + 1)
        top = self._y
        fig.patches.append(
            FancyBboxPatch(
                (_MARGIN, top - height), 1 - 2 * _MARGIN, height,
                boxstyle="round,pad=0.004", transform=fig.transFigure,
                facecolor="#eef3f8", edgecolor="#1f4e79", linewidth=1.2,
            )
        )  # fmt: skip
        y = top - 0.6 * _LINE
        fig.text(_MARGIN + 0.015, y, title, fontsize=10, weight="bold", va="top", color="#1f4e79")
        y -= 1.7 * _LINE
        for label, figure in lines:
            fig.text(_MARGIN + 0.015, y, label, fontsize=9, va="top")
            fig.text(
                1 - _MARGIN - 0.015, y, figure, fontsize=10.5, weight="bold", va="top", ha="right"
            )
            y -= 1.9 * _LINE
        fig.text(
            _MARGIN + 0.015, y + 0.3 * _LINE, footnote, fontsize=_SMALL, va="top", color="0.25"
        )
        self._y = top - height - 0.8 * _LINE

    def table(self, table: Table, *, label_width: float = 0.30, wrap_last: bool = False) -> None:
        """A table: label column, then the cells; long rows are wrapped within their column.

        A table that fits on a page is kept on one page (its heading with its rows); a longer
        one flows from where it starts. A figure and its unit are never split across lines:
        with ``wrap_last`` each short column is as wide as its widest figure.
        """
        columns = list(table.columns)
        bare = table.key == "budget_impact"  # the title says "mill. kr"
        texts = [
            [row.label, *(format_cell(c, self._language, bare_millions=bare) for c in row.cells)]
            for row in table.rows
        ]
        usable = 1 - 2 * _MARGIN
        n = max(len(columns), 1)
        widths = [label_width] + [(usable - label_width) / n] * n
        if wrap_last and n > 1:
            # Short figures, then one wide text column (sources, details).
            short = min(0.115, (usable - label_width) * 0.6 / (n - 1))
            widths = [label_width]
            for k in range(1, n):
                longest = max((_longest_word(t[k]) for t in texts), default=0)
                widths.append(max(short, longest / _CHARS_PER_PAGE_WIDTH))
            widths.append(usable - sum(widths))
        xs = [_MARGIN]
        for w in widths[:-1]:
            xs.append(xs[-1] + w)
        header = _wrap(["", *columns], widths)
        body = [_wrap(t, widths) for t in texts]
        note_lines = len(textwrap.wrap(table.note, width=140)) * _SMALL / _FONT + 0.3
        height = 2.5 + sum(len(max(r, key=len)) + 0.25 for r in [header, *body]) + note_lines
        page = (1 - 2 * _MARGIN) / _LINE
        if self._fig is not None and self._y - height * _LINE < _MARGIN and height < page:
            self._new_page()
        self.heading(table.title, size=9)
        self._row(header, xs, bold=True)
        for lines in body:
            self._row(lines, xs)
        if table.note:
            self.paragraph(table.note, size=_SMALL, width=140)
        self._y -= _LINE * 0.4

    def _row(
        self,
        wrapped: Sequence[Sequence[str]],
        xs: Sequence[float],
        *,
        bold: bool = False,
    ) -> None:
        height = max(len(w) for w in wrapped)
        fig = self._room(height + 0.3)
        for x, lines in zip(xs, wrapped, strict=True):
            for k, line in enumerate(lines):
                fig.text(
                    x, self._y - k * _LINE, line, fontsize=_SMALL, va="top",
                    weight="bold" if bold else "normal",
                )  # fmt: skip
        self._y -= _LINE * (height + 0.25)

    def figure(self, draw: Figure) -> None:
        """A full page with a chart."""
        self.close_page()
        self._page += 1
        self._decorate(draw)
        self._pdf.savefig(draw)  # type: ignore[no-untyped-call]
        plt.close(draw)


def _longest_word(words: str) -> int:
    """Characters of the longest run without a breakable space ("2,3\u00a0mill.\u00a0kr/år")."""
    return max((len(w) for w in words.split(" ")), default=0)


def _wrap(texts: Sequence[str], widths: Sequence[float]) -> list[list[str]]:
    """Each cell's lines in its column. Lines break only at plain spaces: a no-break space
    (between a figure and its unit, inside "mill. kr") holds, and a word longer than its
    column runs on rather than being cut."""
    return [
        [
            line.replace("\x00", "\u00a0")
            for line in textwrap.wrap(
                t.replace("\u00a0", "\x00"),
                width=max(8, int(w * _CHARS_PER_PAGE_WIDTH)),
                break_long_words=False,
            )
        ]
        or [""]
        for t, w in zip(texts, widths, strict=True)
    ]


def _tornado_figure(t: TornadoOut, language: Language) -> Figure:
    fig = plt.figure(figsize=_A4_IN)
    ax = fig.add_axes((0.40, 0.22, 0.53, 0.66))
    bars = list(reversed(t.bars))  # widest at the top
    scale = 1e6
    base = t.base_value / scale
    for i, bar in enumerate(bars):
        lo, hi = bar.outcome_at_low / scale, bar.outcome_at_high / scale
        ax.barh(i, lo - base, left=base, color="#c0504d", height=0.6)
        ax.barh(i, hi - base, left=base, color="#4f81bd", height=0.6)
    ax.axvline(base, color="black", linewidth=0.8)
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels(
        [
            f"{b.label}\n{format_figure(b.low, b.unit, language)} – "
            f"{format_figure(b.high, b.unit, language)}"
            for b in bars
        ],
        fontsize=6,
    )
    ax.set_xlabel(text("tornado.axis", language), fontsize=8)
    ax.xaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda x, _pos: format_number(x, 1, language=language))
    )
    ax.tick_params(axis="x", labelsize=7)
    fig.text(0.07, 0.92, text("tornado.title", language), fontsize=11, weight="bold")
    note = text("tornado.note", language, base=format_figure(t.base_value, "NOK/year", language))
    fig.text(0.07, 0.15, "\n".join(textwrap.wrap(note, 130)), fontsize=7, va="top")
    return fig


# Matplotlib reads text between two dollar signs as mathematics; the report's texts include
# what people typed (a design's reason, a parameter's source), shown as they wrote them.
@matplotlib.rc_context({"text.parse_math": False})
def render_pdf(report: SavingsReport) -> bytes:
    """The report as PDF bytes (starts with ``%PDF``)."""
    lang = report.language
    as_of = format_datetime(report.analysis_at, report.time_zone, language=lang)
    generated = format_datetime(report.generated_at, report.time_zone, language=lang)
    footer = f"StayActive — {report.tenant_name} — {text('data_as_of', lang).lower()} {as_of}"
    draft = text("draft", lang) if report.draft else ""
    buffer = BytesIO()
    with PdfPages(
        buffer,
        metadata={
            "Title": f"{text('report.title', lang)} — {report.tenant_name}",
            "Creator": "StayActive",
        },
    ) as pdf:
        flow = _Flow(pdf, footer, draft, lang)
        flow.heading(f"{text('report.title', lang)} — {report.tenant_name}", size=14)
        # The data's instant (stays admitted by then) first; when the figures were computed
        # from them is a different time (a cached report is older than the page it is on).
        flow.paragraph(
            f"{text('data_as_of', lang)} {as_of} ({report.time_zone}); {text('generated', lang)} "
            f"{generated}. "
            + (
                f"Kroner i {report.price_year}-priser."
                if lang == "nb"
                else f"NOK at {report.price_year} prices."
            )
        )
        if report.draft:
            flow.heading(draft, size=12, color=_DRAFT_RED)
            flow.paragraph(
                text("draft.why", lang) + ": " + "; ".join(report.draft_reasons) + ".",
                color=_DRAFT_RED,
            )
        # 1. headline box and the assumptions that decide it
        h = report.headline
        if h is not None:
            lines = [
                (text("headline.bed_days", lang), format_estimate(h.bed_days_freed, lang)),
                (text("headline.capacity", lang), format_estimate(h.capacity_value, lang)),
                (text("headline.safe_cash", lang), format_estimate(h.safe_cash_effect, lang)),
                (text("headline.cash", lang), format_estimate(h.cash_effect, lang)),
                (
                    text("headline.p_negative", lang),
                    format_number(h.probability_net_negative, 2, language=lang),
                ),
            ]
            flow.box(text("headline", lang), lines, text("capacity_not_cash", lang))
            flow.heading(text("decisive", lang), size=10)
            for line in report.decisive_assumptions:
                flow.paragraph(line, indent="• ")
        else:
            flow.box(text("headline", lang), [], text("headline.none", lang))
        for message in report.messages:
            flow.paragraph(message, size=8)
        # 2. the comparison, why, and its checks
        flow.heading(text("design", lang), size=10)
        resamples = format_number(report.n_resamples, 0, language=lang)
        if report.design_description:
            flow.paragraph(report.design_description)
        flow.paragraph(report.design_basis)
        horizon = format_day(report.horizon_days, language=lang)
        flow.paragraph(
            (
                f"Parametre {report.parameter_version}: {report.parameter_basis}. Liggedøgn telles "
                f"til dag {horizon}; 95 % KI fra {resamples} "
                f"bootstrap-trekninger (frø {report.seed})."
            )
            if lang == "nb"
            else (
                f"Parameters {report.parameter_version}: {report.parameter_basis}. Bed-days "
                f"counted to day {horizon}; 95% CI from {resamples} "
                f"bootstrap resamples (seed {report.seed})."
            )
        )
        first = ("effect", "money", "budget_impact", "design_checks")
        for key in first:
            if any(t.key == key for t in report.tables):
                wide = key in ("design_checks", "budget_impact")
                flow.table(
                    report.table(key),
                    label_width={"budget_impact": 0.19, "design_checks": 0.25}.get(key, 0.50),
                    wrap_last=wide,
                )
        if report.notes:
            flow.heading(text("notes", lang), size=9)
            for note in report.notes:
                flow.paragraph(note, size=_SMALL, width=140, indent="– ")
        for table in report.tables:
            if table.key in (*first, "parameters", "checklist"):
                continue
            label = 0.18 if table.key == "balance" else 0.32
            flow.table(table, label_width=label)
        flow.close_page()
        if report.tornado is not None:
            flow.figure(_tornado_figure(report.tornado, lang))
        if any(t.key == "parameters" for t in report.tables):
            flow.table(report.table("parameters"), label_width=0.17, wrap_last=True)
        if report.assumptions:
            flow.heading(text("assumptions", lang))
            for a in report.assumptions:
                flow.paragraph(a, indent="- ")
        flow.heading(text("method", lang))
        for m in report.method:
            flow.paragraph(m)
        flow.close_page()
        flow.table(report.table("checklist"), label_width=0.45)
        flow.close_page()
    data = buffer.getvalue()
    if not data.startswith(b"%PDF"):
        raise RuntimeError("matplotlib did not produce a PDF")
    return data
