"""Finance: what the programme is worth, kept apart from what it certainly saves in cash.

First the headline box — the value of freed capacity (bed-days and NOK, 95 % intervals) beside
the certain cash effect (the programme cost unless beds are actually closed) and P(net < 0) —
then the design and its decisive assumptions directly under it, Kaplan-Meier curves of the
stays (intervention vs comparison), readmissions, a scenario panel that recomputes through the
API, the tornado chart and the downloads. Aggregates only: the API suppresses small cells
(fewer than 5, and the cells that would reveal them) before anything reaches this page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard import _charts, _session, _ui
from dashboard._client import JsonObject
from dashboard._i18n import Lang
from stayactive.locale_format import MISSING, format_nok, format_number, format_percent


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
    ScenarioInput("cost_per_bed_day_nok", "finance.sc.cost", "nok", 500.0, 10_000.0, 100.0),
    ScenarioInput("variable_cost_share", "finance.sc.variable", "share", 0.0, 1.0, 0.05),
    ScenarioInput("uptake", "finance.sc.uptake", "share", 0.0, 1.0, 0.05),
    ScenarioInput("effect_scale", "finance.sc.effect", "share", 0.0, 2.0, 0.05),
)


def value_text(v: JsonObject | None, lang: Lang, *, interval: bool = True) -> str:
    """A published figure as text: ``12,3 mill. kr (95 % KI 8,1 til 16,0)``; suppressed or
    missing figures say so."""
    if v is None or v.get("value") is None:
        note = (v or {}).get("note") or ""
        return MISSING + (f" ({note})" if note else "")
    unit = str(v.get("unit") or "")

    def one(x: float) -> str:
        if "NOK" in unit or unit == "kr":
            return format_nok(x, language=lang)
        if unit in ("", "stays", "bed-days", "days", "bed-days/year"):
            return format_number(x, 1 if abs(x) < 100 else 0, language=lang)
        if unit in ("share", "proportion", "%"):
            return format_percent(x, 1, language=lang)
        return f"{format_number(x, 2, language=lang)} {unit}"

    text = one(float(v["value"]))
    if interval and v.get("low") is not None and v.get("high") is not None:
        ci = "95 % KI" if lang == "nb" else "95% CI"
        to = "til" if lang == "nb" else "to"
        text += f" ({ci} {one(float(v['low']))} {to} {one(float(v['high']))})"
    return text


def _headline(session: _session.Session, report: JsonObject) -> None:
    t, lang = session.t, session.lang
    head = report.get("headline")
    if report.get("draft"):
        reasons = "; ".join(report.get("draft_reasons", []))
        st.html(
            f"<p><span class='sa-draft'>{_ui.esc(t('finance.draft'))}</span> "
            f"<span class='sa-muted'>{_ui.esc(reasons)}</span></p>"
        )
    if head is None:
        messages = report.get("messages") or [t("finance.no_headline")]
        for m in messages:
            _ui.empty(str(m))
        return
    left, right = st.columns(2)
    with left:
        st.html(
            "<div class='sa-headline'>"
            f"<h3>{_ui.esc(t('finance.capacity_title'))}</h3>"
            f"<p style='font-size:1.6rem;margin:0.2rem 0'><b>"
            f"{_ui.esc(value_text(head.get('capacity_value'), lang, interval=False))}</b>"
            f" {_ui.esc(t('finance.per_year'))}</p>"
            f"<p class='sa-muted'>{_ui.esc(value_text(head.get('capacity_value'), lang))}</p>"
            f"<p>{_ui.esc(t('finance.capacity_note'))}</p></div>"
        )
    with right:
        p = head.get("probability_net_negative")
        p_text = format_percent(p, 0, language=lang) if p is not None else MISSING
        st.html(
            "<div class='sa-cash'>"
            f"<h3>{_ui.esc(t('finance.cash_title'))}</h3>"
            f"<p style='font-size:1.6rem;margin:0.2rem 0'><b>"
            f"{_ui.esc(value_text(head.get('safe_cash_effect'), lang, interval=False))}</b>"
            f" {_ui.esc(t('finance.per_year'))}</p>"
            f"<p class='sa-muted'>{_ui.esc(t('finance.cash_with_variable'))}: "
            f"{_ui.esc(value_text(head.get('cash_effect'), lang))}</p>"
            f"<p>{_ui.esc(t('finance.p_negative', p=p_text))}</p></div>"
        )
    if head.get("sentence"):
        st.markdown(f"> {head['sentence']}")


def _design(session: _session.Session, report: JsonObject) -> None:
    t = session.t
    st.subheader(t("finance.design_title"))
    if report.get("design_description"):
        st.markdown(str(report["design_description"]))
    assumptions = report.get("decisive_assumptions") or report.get("assumptions") or []
    if assumptions:
        st.markdown("\n".join(f"- {a}" for a in assumptions))
    bits = []
    if report.get("price_year"):
        bits.append(t("finance.price_year", year=report["price_year"]))
    if report.get("n_resamples"):
        bits.append(
            t("finance.resamples", n=format_number(report["n_resamples"], 0, language=session.lang))
        )
    if bits:
        st.caption(" · ".join(bits))


def _curves(session: _session.Session) -> None:
    t, lang = session.t, session.lang
    st.subheader(t("finance.km_title"))
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


def table_rows(table: JsonObject, lang: Lang) -> list[dict[str, str]]:
    """A report table as text rows (suppressed cells say so)."""
    out = []
    for row in table.get("rows", []):
        line = {}
        for key, cell in row.items():
            line[key] = value_text(cell, lang) if isinstance(cell, dict) else str(cell)
        out.append(line)
    return out


def _table(session: _session.Session, report: JsonObject, key: str, title_key: str) -> None:
    table = (report.get("tables") or {}).get(key)
    st.subheader(session.t(title_key))
    if not table or not table.get("rows"):
        _ui.empty(session.t("finance.no_table"))
        return
    st.dataframe(table_rows(table, session.lang), hide_index=True, width="stretch")
    if table.get("note"):
        st.caption(str(table["note"]))


def _tornado(session: _session.Session, report: JsonObject) -> None:
    t, lang = session.t, session.lang
    st.subheader(t("finance.tornado_title"))
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
                "input": bar.get("label") or bar["input"],
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
        ),
        width="stretch",
    )  # fmt: skip
    st.caption(t("finance.tornado_caption", base=format_nok(tornado["base_value"], language=lang)))


def _scenario_form(session: _session.Session, report: JsonObject) -> dict[str, float] | None:
    t, lang = session.t, session.lang
    base: dict[str, Any] = report.get("scenario_inputs") or {}
    with st.form("scenario"):
        st.markdown(t("finance.sc.intro"))
        cols = st.columns(len(SCENARIO_INPUTS))
        values: dict[str, float] = {}
        for col, spec in zip(cols, SCENARIO_INPUTS, strict=True):
            current = base.get(spec.param)
            default = float(current) if current is not None else spec.low
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
        run = st.form_submit_button(t("finance.sc.run"), type="primary")
    if run:
        session.touch()
        return values
    del lang
    return None


def _downloads(session: _session.Session, scenario: dict[str, float] | None) -> None:
    t = session.t
    st.subheader(t("finance.downloads"))
    left, right, _ = st.columns([1, 1, 2])
    client = _session.api()
    left.download_button(
        t("finance.csv"), data=lambda: client.savings_file("csv", scenario),
        file_name="besparelser.csv" if session.lang == "nb" else "savings.csv",
        mime="text/csv", icon=":material/table:", width="stretch", on_click="ignore",
    )  # fmt: skip
    right.download_button(
        t("finance.pdf"), data=lambda: client.savings_file("pdf", scenario),
        file_name="besparelser.pdf" if session.lang == "nb" else "savings.pdf",
        mime="application/pdf", icon=":material/picture_as_pdf:", width="stretch",
        on_click="ignore",
    )  # fmt: skip


def render() -> None:
    """The page."""
    session = _session.current()
    t = session.t
    st.title(t("finance.title"))
    report = _ui.fetch(lambda: _session.api().savings())
    if report is None:
        return
    if report.get("status") == "no data":
        _ui.empty(t("finance.no_data"))
        return
    st.caption(t("finance.caption", tenant=(session.me or {}).get("tenant_name", "")))
    _headline(session, report)
    _design(session, report)
    with st.expander(t("finance.sc.title"), expanded=False, icon=":material/tune:"):
        if not report.get("scenario_inputs"):
            # The API's report names the inputs it can recompute with; without them a
            # "scenario" would only repeat the base figures.
            _ui.empty(t("finance.sc.unavailable"))
            scenario = None
        else:
            scenario = _scenario_form(session, report)
        if scenario is not None:
            recomputed = _ui.fetch(lambda: _session.api().savings(scenario))
            if recomputed is not None:
                st.session_state["finance_scenario"] = (scenario, recomputed)
        if "finance_scenario" in st.session_state:
            _scenario, result = st.session_state["finance_scenario"]
            st.markdown(f"**{t('finance.sc.result')}**")
            _headline(session, result)
    chosen = st.session_state.get("finance_scenario", (None, None))[0]
    _curves(session)
    _table(session, report, "readmission", "finance.readmissions_title")
    _tornado(session, report)
    _downloads(session, chosen)


if __name__ == "__main__":  # run as a page of st.navigation
    render()
