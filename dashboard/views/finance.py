"""Finance: what the programme is worth, kept apart from what it certainly saves in cash.

The page shows what the savings report (PDF) shows, in the same words and numbers, because
both come from the API's one report (``GET /reports/savings``, bokmål or English as the
reader chose):

1. the draft banner ("UTKAST – ikke for beslutning") with its reasons;
2. the headline box: the value of freed capacity (bed-days and NOK a year, 95 % intervals)
   beside the certain cash effect (the programme cost unless beds are actually closed), the
   net value and P(netto < 0);
3. the design and the decisive assumptions directly under it (the effect table and the checks
   of the comparison on request);
4. a scenario panel (cost per bed-day, share of the cost that varies with bed-days, uptake,
   effect) recomputed by the API (``POST /reports/savings/scenario``, fewer resamples, a
   draft) and set beside the published figures;
5. Kaplan-Meier curves of the stays, readmissions, the tornado chart, downloads (CSV, PDF).

Aggregates only: the API suppresses small cells (fewer than 5, and the cells that would reveal
them) before anything reaches this page; a suppressed cell reads "– (skjult, < 5)".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import _charts, _format, _session, _ui
from dashboard._client import JsonObject, Scenario
from dashboard._i18n import Lang
from stayactive.locale_format import MISSING, format_nok, format_number, format_percent

#: Where the page keeps the reader's last scenario (their own session only).
SCENARIO_STATE = "finance_scenario"


@dataclass(frozen=True)
class ScenarioInput:
    """One input of the scenario panel: the report's parameter and how it is entered."""

    param: str
    label_key: str
    unit: str  # "nok" or "share"
    low: float
    high: float
    step: float


SCENARIO_INPUTS = (
    ScenarioInput("cost_per_bed_day_nok", "finance.sc.cost", "nok", 500.0, 10_000.0, 50.0),
    ScenarioInput("variable_cost_share", "finance.sc.variable", "share", 0.0, 1.0, 0.05),
    ScenarioInput("uptake_share", "finance.sc.uptake", "share", 0.0, 1.0, 0.05),
)
#: The effect input: a share of the measured effect (not a parameter of the money model).
EFFECT_RANGE = (0.0, 2.0, 0.1)

#: The headline's figures in the order of the comparison table.
HEADLINE_ROWS = (
    ("bed_days_freed", "finance.h.bed_days"),
    ("capacity_value", "finance.h.capacity"),
    ("safe_cash_effect", "finance.h.safe_cash"),
    ("cash_effect", "finance.h.cash"),
    ("net_value", "finance.h.net"),
)


def _upper(text: str) -> str:
    """The first letter capitalised (the report's labels start in lower case)."""
    return text[:1].upper() + text[1:]


def _figure(head: JsonObject, name: str) -> JsonObject:
    value: JsonObject = head.get(name) or {}
    return value


def _draft_banner(session: _session.Session, report: JsonObject) -> None:
    if not report.get("draft"):
        return
    reasons = [_upper(str(r)) for r in report.get("draft_reasons") or []]
    items = "".join(f"<li>{_ui.esc(r)}</li>" for r in reasons)
    st.html(
        "<div class='sa-draft-box'>"
        f"<p class='sa-draft-title'>{_ui.esc(session.t('finance.draft'))}</p>"
        f"<p>{_ui.esc(session.t('finance.draft_why'))}</p><ul>{items}</ul></div>"
    )


def _headline(session: _session.Session, report: JsonObject) -> None:
    """The headline box: capacity (blue) and cash (grey) side by side, never added up."""
    t, lang = session.t, session.lang
    head = report.get("headline")
    if head is None:
        messages = report.get("messages") or [t("finance.no_headline")]
        st.html(
            "<div class='sa-cash'>"
            f"<h3>{_ui.esc(t('finance.not_estimable_title'))}</h3>"
            + "".join(f"<p>{_ui.esc(m)}</p>" for m in messages)
            + f"<p class='sa-muted'>{_ui.esc(t('finance.not_estimable_next'))}</p></div>"
        )
        return
    capacity = _figure(head, "capacity_value")
    safe = _figure(head, "safe_cash_effect")
    p_neg = head.get("probability_net_negative")
    left, right = st.columns(2)
    with left:
        st.html(
            "<div class='sa-headline'>"
            f"<h3>{_ui.esc(t('finance.capacity_title'))}</h3>"
            f"<p class='sa-big'>{_ui.esc(format_nok(capacity.get('value'), language=lang))}"
            f" <span class='sa-unit'>{_ui.esc(t('finance.per_year'))}</span></p>"
            f"<p class='sa-muted'>{_ui.esc(capacity.get('interval_text', ''))}</p>"
            f"<p><b>{_ui.esc(t('finance.h.bed_days'))}:</b> "
            f"{_ui.esc(_figure(head, 'bed_days_freed').get('text', MISSING))}</p>"
            f"<p class='sa-muted'>{_ui.esc(t('finance.capacity_note'))}</p></div>"
        )
    with right:
        st.html(
            "<div class='sa-cash'>"
            f"<h3>{_ui.esc(t('finance.cash_title'))}</h3>"
            f"<p class='sa-big'>{_ui.esc(format_nok(safe.get('value'), language=lang))}"
            f" <span class='sa-unit'>{_ui.esc(t('finance.per_year'))}</span></p>"
            f"<p class='sa-muted'>{_ui.esc(safe.get('interval_text', ''))}</p>"
            f"<p><b>{_ui.esc(t('finance.h.cash'))}:</b> "
            f"{_ui.esc(_figure(head, 'cash_effect').get('text', MISSING))}</p>"
            f"<p><b>{_ui.esc(t('finance.h.net'))}:</b> "
            f"{_ui.esc(_figure(head, 'net_value').get('text', MISSING))}</p>"
            f"<p class='sa-p'>{_ui.esc(t('finance.p_negative', p=_probability(p_neg, lang)))}</p>"
            f"<p class='sa-muted'>{_ui.esc(t('finance.cash_note'))}</p></div>"
        )


def _probability(p: Any, lang: Lang) -> str:
    """P(netto < 0) as the report writes it (two decimals) and as a percentage."""
    if p is None:
        return MISSING
    share = format_percent(float(p), 0, language=lang)
    return f"{format_number(float(p), 2, language=lang)} ({share})"


def _design(session: _session.Session, report: JsonObject) -> None:
    t, lang = session.t, session.lang
    st.subheader(t("finance.design_title"), anchor=False)
    if report.get("design_description"):
        st.markdown(f"**{_ui.markdown_text(report['design_description'])}**")
    if report.get("design_basis"):
        st.caption(t("finance.design_basis", basis=_ui.markdown_text(report["design_basis"])))
    assumptions = report.get("decisive_assumptions") or []
    if assumptions:
        st.markdown(f"**{t('finance.decisive')}**")
        st.markdown("\n".join(f"- {_ui.markdown_text(_upper(str(a)))}" for a in assumptions))
    bits = []
    if report.get("price_year"):
        bits.append(t("finance.price_year", year=report["price_year"]))
    if report.get("n_resamples"):
        n = format_number(report["n_resamples"], 0, language=lang)
        bits.append(t("finance.resamples", n=n))
    if report.get("parameter_basis"):
        bits.append(t("finance.parameters", basis=_ui.markdown_text(report["parameter_basis"])))
    if bits:
        st.caption(" · ".join(bits))
    tables = report.get("tables") or {}
    for key, title_key in (("effect", "finance.effect_title"), ("design_checks", "finance.checks")):
        table = tables.get(key)
        if table and table.get("rows"):
            with st.expander(t(title_key), icon=":material/table_view:"):
                _table_body(session, table)
    parameters = tables.get("parameters")
    if parameters and parameters.get("rows"):
        with st.expander(t("finance.parameters_title"), icon=":material/table_view:"):
            # The sources are long citations, kept in the report's own words: the PDF and
            # the CSV have them; here the values, ranges and whether they are confirmed.
            _table_body(session, parameters, leave_out=("kilde", "source"))
            st.caption(t("finance.parameters_sources"))


def table_rows(
    table: JsonObject, label_title: str, *, leave_out: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """A report table as text rows, as the API formatted each cell (suppressed cells say
    so); columns named in ``leave_out`` are not shown. The column headers start with a
    capital, as in the dashboard's other tables (the report's column names are lower case)."""
    out = []
    for row in table.get("rows", []):
        line = {label_title: _upper(str(row.get("label", "")))}
        for key, cell in row.items():
            if key == "label" or key in leave_out:
                continue
            text = str(cell.get("text", MISSING)) if isinstance(cell, dict) else str(cell)
            line[_upper(key)] = text
        out.append(line)
    return out


def _table_body(
    session: _session.Session, table: JsonObject, *, leave_out: tuple[str, ...] = ()
) -> None:
    _ui.table(table_rows(table, session.t("finance.row"), leave_out=leave_out))
    if table.get("note"):
        st.caption(_ui.markdown_text(table["note"]))


def _table(session: _session.Session, report: JsonObject, key: str, title_key: str) -> None:
    table = (report.get("tables") or {}).get(key)
    st.subheader(session.t(title_key), anchor=False)
    if not table or not table.get("rows"):
        _ui.empty(session.t("finance.no_table"))
        return
    _table_body(session, table)


def _curves(session: _session.Session) -> None:
    t, lang = session.t, session.lang
    st.subheader(t("finance.km_title"), anchor=False)
    result = _ui.fetch(lambda: _session.api().savings_curves())
    if result is None:
        return
    curves = result.get("curves") or []
    if not curves:
        _ui.empty(t("finance.no_curves"))
        return
    rows = []
    for c in curves:
        for point in c.get("points", []):
            rows.append(
                {
                    "group": t(f"finance.group.{c['group'].replace('/', '_')}"),
                    "day": point["day"],
                    "survival": point["survival"],
                    "low": point.get("low"),
                    "high": point.get("high"),
                    "label": t(
                        "finance.km_point", day=format_number(point["day"], 0, language=lang),
                        share=format_percent(point["survival"], 0, language=lang),
                        n=format_number(point["at_risk"], 0, language=lang),
                    ),
                }
            )  # fmt: skip
    st.altair_chart(
        _charts.survival_curves(
            rows, x_title=t("finance.km_x"), y_title=t("finance.km_y"),
            group_title=t("finance.km_group"), lang=lang,
        ),
        width="stretch",
    )  # fmt: skip
    st.caption(t("finance.km_caption"))


def _tornado(session: _session.Session, report: JsonObject) -> None:
    t, lang = session.t, session.lang
    st.subheader(t("finance.tornado_title"), anchor=False)
    tornado = report.get("tornado")
    if not tornado or not tornado.get("bars"):
        _ui.empty(t("finance.no_tornado"))
        return
    base = float(tornado["base_value"]) / 1e6
    rows = []
    for bar in tornado["bars"]:
        low, high = float(bar["outcome_at_low"]) / 1e6, float(bar["outcome_at_high"]) / 1e6
        rows.append(
            {
                "input": _upper(str(bar.get("label") or bar["input"])),
                "low_x": low,
                "high_x": high,
                "base_x": base,
                "width": abs(high - low),
                "low_text": format_nok(bar["outcome_at_low"], language=lang),
                "high_text": format_nok(bar["outcome_at_high"], language=lang),
            }
        )
    st.altair_chart(
        _charts.tornado(
            rows, x_title=t("finance.tornado_x"), base=base, lang=lang,
            low_label=t("finance.tornado_low"), high_label=t("finance.tornado_high"),
            input_title=t("finance.tornado_input"),
        ),
        width="stretch",
    )  # fmt: skip
    st.caption(t("finance.tornado_caption", base=format_nok(tornado["base_value"], language=lang)))


def _scenario_form(session: _session.Session, report: JsonObject) -> Scenario | None:
    """The inputs, starting from the report's own values; a Scenario when submitted."""
    t = session.t
    base: dict[str, Any] = report.get("parameter_values") or {}
    with st.form("scenario"):
        st.markdown(t("finance.sc.intro"))
        cols = st.columns(len(SCENARIO_INPUTS) + 1)
        values: dict[str, float] = {}
        for col, spec in zip(cols, SCENARIO_INPUTS, strict=False):
            current = base.get(spec.param)
            default = float(current) if current is not None else spec.low
            default = min(max(default, spec.low), spec.high)
            if spec.unit == "share":
                pct = col.slider(
                    t(spec.label_key), int(spec.low * 100), int(spec.high * 100),
                    round(default * 100), int(spec.step * 100), format="%d %%",
                    key=f"sc_{spec.param}",
                )  # fmt: skip
                values[spec.param] = pct / 100
            else:
                values[spec.param] = col.number_input(
                    t(spec.label_key), spec.low, spec.high, default, spec.step,
                    format="%.0f", key=f"sc_{spec.param}",
                )  # fmt: skip
        low, high, step = EFFECT_RANGE
        effect_pct = cols[-1].slider(
            t("finance.sc.effect"), int(low * 100), int(high * 100), 100, int(step * 100),
            format="%d %%", key="sc_effect_share",
        )  # fmt: skip
        run = st.form_submit_button(t("finance.sc.run"), type="primary")
    if not run:
        return None
    session.touch()
    changed = tuple(
        (name, value)
        for name, value in values.items()
        if base.get(name) is None or abs(float(base[name]) - value) > 1e-9
    )
    return Scenario(overrides=changed, effect_share=effect_pct / 100)


def _comparison(session: _session.Session, published: JsonObject, scenario: JsonObject) -> None:
    """Published and scenario figures side by side (texts as the API formatted them)."""
    t, lang = session.t, session.lang
    a, b = published.get("headline"), scenario.get("headline")
    if a is None or b is None:
        for m in scenario.get("messages") or [t("finance.no_headline")]:
            _ui.empty(_ui.markdown_text(m))
        return
    rows = [
        {
            t("finance.row"): t(key),
            t("finance.sc.published"): str(_figure(a, name).get("text", MISSING)),
            t("finance.sc.scenario"): str(_figure(b, name).get("text", MISSING)),
        }
        for name, key in HEADLINE_ROWS
    ]
    rows.append(
        {
            t("finance.row"): t("finance.h.p_negative"),
            t("finance.sc.published"): _probability(a.get("probability_net_negative"), lang),
            t("finance.sc.scenario"): _probability(b.get("probability_net_negative"), lang),
        }
    )
    _ui.table(rows)


def _changed_text(session: _session.Session, report: JsonObject, scenario: Scenario) -> str:
    """What the scenario changed, with the report's own values: "Kostnad per liggedøgn
    3 500 kr (rapporten: 2 850 kr); effekt 50 % av den målte"."""
    t, lang = session.t, session.lang
    base: dict[str, Any] = report.get("parameter_values") or {}
    specs = {s.param: s for s in SCENARIO_INPUTS}
    parts = []
    for name, value in scenario.overrides:
        spec = specs.get(name)
        if spec is None:
            continue

        def shown(x: float, unit: str = spec.unit) -> str:
            if unit == "nok":
                return format_nok(x, language=lang)
            return format_percent(x, 0, language=lang)

        was = base.get(name)
        parts.append(
            t("finance.sc.changed_one", what=t(f"finance.sc.name.{name}"), value=shown(value),
              was=shown(float(was)) if was is not None else MISSING)
        )  # fmt: skip
    if scenario.effect_share != 1.0:
        share = format_percent(scenario.effect_share, 0, language=lang)
        parts.append(t("finance.sc.changed_effect", share=share))
    return "; ".join(parts) if parts else t("finance.sc.unchanged")


def _scenario_panel(session: _session.Session, report: JsonObject) -> Scenario | None:
    """The panel; returns the scenario in force (for the downloads), if any."""
    t = session.t
    with st.expander(t("finance.sc.title"), expanded=SCENARIO_STATE in st.session_state,
                     icon=":material/tune:"):  # fmt: skip
        if report.get("headline") is None:
            _ui.empty(t("finance.sc.no_effect"))
            return None
        asked = _scenario_form(session, report)
        if asked is not None:
            with st.spinner(t("finance.sc.running")):
                result = _ui.fetch(lambda: _session.api().savings_scenario(asked))
            if result is not None:
                st.session_state[SCENARIO_STATE] = (asked, result)
        if SCENARIO_STATE not in st.session_state:
            return None
        scenario, result = st.session_state[SCENARIO_STATE]
        n = format_number(result.get("n_resamples"), 0, language=session.lang)
        st.markdown(f"**{t('finance.sc.result')}**")
        st.html(f"<p class='sa-scenario-label'>{_ui.esc(t('finance.sc.label', n=n))}</p>")
        st.markdown(t("finance.sc.changed", what=_changed_text(session, report, scenario)))
        _comparison(session, report, result)
        if st.button(t("finance.sc.reset"), icon=":material/restart_alt:"):
            del st.session_state[SCENARIO_STATE]
            st.rerun()
        chosen: Scenario = scenario
        return chosen


def _downloads(session: _session.Session, scenario: Scenario | None) -> None:
    t, nb = session.t, session.lang == "nb"
    st.subheader(t("finance.downloads"), anchor=False)
    client = _session.api()
    stem = "besparelser" if nb else "savings"
    cols = st.columns(4 if scenario is not None else 2)
    cols[0].download_button(
        t("finance.csv"), data=lambda: client.savings_file("csv"), file_name=f"{stem}.csv",
        mime="text/csv", icon=":material/table:", width="stretch", on_click="ignore",
    )  # fmt: skip
    cols[1].download_button(
        t("finance.pdf"), data=lambda: client.savings_file("pdf"), file_name=f"{stem}.pdf",
        mime="application/pdf", icon=":material/picture_as_pdf:", width="stretch",
        on_click="ignore",
    )  # fmt: skip
    if scenario is not None:
        cols[2].download_button(
            t("finance.sc.csv"), data=lambda: client.savings_file("csv", scenario),
            file_name=f"{stem}-scenario.csv", mime="text/csv", icon=":material/table:",
            width="stretch", on_click="ignore",
        )  # fmt: skip
        cols[3].download_button(
            t("finance.sc.pdf"), data=lambda: client.savings_file("pdf", scenario),
            file_name=f"{stem}-scenario.pdf", mime="application/pdf",
            icon=":material/picture_as_pdf:", width="stretch", on_click="ignore",
        )  # fmt: skip


def render() -> None:
    """The page."""
    session = _session.current()
    t = session.t
    st.title(t("finance.title"), anchor=False)
    with st.spinner(t("finance.loading")):
        report = _ui.fetch(lambda: _session.api().savings())
    if report is None:
        return
    if report.get("status") == "no data":
        _ui.empty(t("finance.no_data"))
        return
    at = _format.parse_datetime(report.get("analysis_at"))
    day = (
        _format.long_date(at.astimezone(ZoneInfo(session.time_zone)).date(), session.lang)
        if at is not None
        else MISSING
    )
    st.caption(
        t(
            "finance.caption",
            tenant=_ui.markdown_text((session.me or {}).get("tenant_name", "")),
            day=day,
        )
    )
    _draft_banner(session, report)
    _headline(session, report)
    _design(session, report)
    scenario = _scenario_panel(session, report)
    _curves(session)
    _table(session, report, "readmission", "finance.readmissions_title")
    _tornado(session, report)
    _downloads(session, scenario)


if __name__ == "__main__":  # run as a page of st.navigation
    render()
