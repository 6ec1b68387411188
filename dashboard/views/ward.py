"""Ward overview for care staff: who needs someone now, and how everyone is doing today.

Alerts first, ranked by urgency (the API ranks them: not up → declining → no data → device
offline → battery low); "no data" is drawn apart from "no activity" (a grey card with a dark
grey bar and "Ingen data" in the table, never a zero). Below, one row per resident with
today's steps so far, the last whole day (yesterday) against their own recent level — a day
in progress is never set against whole days — and a 7-day sparkline. The whole part
refreshes itself every :attr:`Settings.dashboard_refresh_s` seconds; a row opens the resident
page. ``?date=YYYY-MM-DD`` in the address shows an earlier day the same way (a link to "how
the ward looked on Monday").
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import _format, _nav, _session, _ui
from dashboard._client import JsonObject
from stayactive.locale_format import format_clock
from stayactive.settings import get_settings

#: CSS class of an alert card, by kind: urgent, warning, device, no data.
_CARD = {
    "not_up_by_hour": "sa-urgent",
    "declining_3_days": "sa-warn",
    "no_data": "sa-nodata",
    "device_offline": "sa-device",
    "battery_low": "sa-device",
}
_ICON = {
    "not_up_by_hour": ":material/airline_seat_flat:",
    "declining_3_days": ":material/trending_down:",
    "no_data": ":material/signal_disconnected:",
    "device_offline": ":material/wifi_off:",
    "battery_low": ":material/battery_alert:",
}
_TREND = {"improving": "↗", "stable": "→", "declining": "↘", "unknown": ""}


_MESSAGE_SAYS_SINCE = frozenset({"no_data", "device_offline"})


def resident_name(row: JsonObject) -> str:
    """The name care staff know the resident by: the recorded name, else the pseudonym."""
    return str(row.get("display_name") or row["pseudonym"])


def _ward_choice(session: _session.Session) -> JsonObject | None:
    wards: list[JsonObject] = list((session.me or {}).get("wards", []))
    if not wards:
        _ui.empty(session.t("ward.no_wards"))
        return None
    ids = [int(w["ward_id"]) for w in wards]
    if session.ward_id not in ids:
        session.ward_id = ids[0]
    if len(wards) > 1:
        by_id = {int(w["ward_id"]): w for w in wards}
        chosen = st.selectbox(
            session.t("ward.choose"),
            ids,
            index=ids.index(session.ward_id),
            format_func=lambda i: f"{by_id[i]['name']} · {by_id[i]['site']}",
            key="ward_pick",
        )
        session.ward_id = int(chosen)
    return next(w for w in wards if int(w["ward_id"]) == session.ward_id)


#: Session key of the alert whose "handled" dialog is open. Kept in the session, not only in
#: the button's click, so that the dialog stays open through a rerun (the page refreshes
#: itself every minute, and AppTest reruns the whole script) until it is saved or dismissed.
_HANDLING = "ward_handling"


def _close_dialog() -> None:
    st.session_state.pop(_HANDLING, None)


@st.dialog(" ", width="medium", on_dismiss=_close_dialog)
def _handle_dialog(alert: JsonObject, who: str) -> None:
    session = _session.current()
    st.subheader(session.t("ward.handle_title"), anchor=False)
    # Name and message are user input / API text, not markdown: shown as they are.
    st.markdown(f"**{_ui.markdown_text(who)}** — {_ui.markdown_text(alert['message'])}")
    note = st.text_area(
        session.t("ward.handle_note"), placeholder=session.t("ward.handle_placeholder"),
        max_chars=2000, key=f"note_{alert['alert_id']}",
    )  # fmt: skip
    if st.button(session.t("ward.handle_save"), type="primary", width="stretch"):
        session.touch()
        # "Write what was done" (docs/dashboard.md): a handled alert without a note tells the
        # next shift nothing. The API takes an empty note (its contract); the dashboard asks.
        if not note.strip():
            st.error(session.t("ward.handle_note_required"), icon=":material/edit_note:")
            return
        done = _ui.fetch(lambda: _session.api().handle_alert(int(alert["alert_id"]), note))
        if done is not None:
            _close_dialog()
            st.session_state["ward_toast"] = session.t(
                "ward.handled_toast", who=_ui.markdown_text(who)
            )
            st.rerun()


def handle_label(session: _session.Session, alert: JsonObject, who: str) -> str:
    """The label of an alert's "Håndtert" button: "Håndtert" on the screen, and for a screen
    reader also which alert of which resident (``**…**``, hidden from sight by the CSS of
    ``_ui``: the button's accessible name is its whole text, so every button of the list no
    longer reads just "Håndtert")."""
    kind = session.t(f"alert.{alert['kind']}")
    whose = session.t("ward.handle_for", alert=kind, who=who)
    return f"{session.t('ward.handle')} **{_ui.markdown_text(whose)}**"


def _alert_cards(session: _session.Session, overview: JsonObject) -> None:
    rows = overview["residents"]
    alerts: list[tuple[JsonObject, JsonObject]] = [
        (a, r) for r in rows for a in r.get("alerts", [])
    ]
    open_ = sorted(
        (p for p in alerts if p[0].get("handled") is None),
        key=lambda p: (p[0]["urgency"], p[0]["since"]),
    )
    handled = [p for p in alerts if p[0].get("handled") is not None]
    st.subheader(session.t("ward.alerts_title", n=len(open_)), anchor=False)
    if not open_:
        st.success(
            session.t(_today_or("ward.no_alerts", "ward.no_alerts_on")),
            icon=":material/check_circle:",
        )
    now = datetime.now(UTC)
    for alert, row in open_:
        who = resident_name(row)
        room = f" · {session.t('ward.room')} {row['room']}" if row.get("room") else ""
        since = _format.since(
            _format.parse_datetime(alert["since"]), session.time_zone, session.lang, now=now
        )
        # The API's message already says since when for these kinds.
        when = (
            ""
            if alert["kind"] in _MESSAGE_SAYS_SINCE
            else f"<span class='sa-muted'> · {_ui.esc(session.t('ward.since', when=since))}</span>"
        )
        card, action = st.columns([5, 1.3], vertical_alignment="center")
        with card:
            st.html(
                f"<div class='sa-card sa-compact {_CARD.get(alert['kind'], 'sa-warn')}'>"
                f"<b>{_ui.esc(who)}</b>{_ui.esc(room)} — {_ui.esc(alert['message'])}{when}</div>"
            )
        with action:
            if st.button(
                handle_label(session, alert, who), key=f"handle_{alert['alert_id']}",
                icon=_ICON.get(alert["kind"]), width="stretch",
            ):  # fmt: skip
                session.touch()
                st.session_state[_HANDLING] = alert["alert_id"]
    handling = st.session_state.get(_HANDLING)
    pending = [(a, r) for a, r in open_ if a["alert_id"] == handling]
    if pending:
        _handle_dialog(pending[0][0], resident_name(pending[0][1]))
    else:  # handled meanwhile (on another tablet), or no longer open
        _close_dialog()
    if handled:
        with st.expander(session.t("ward.handled_title", n=len(handled))):
            for alert, row in handled:
                h = alert["handled"]
                at = _format.since(
                    _format.parse_datetime(h["at"]), session.time_zone, session.lang, now=now
                )
                note = f": {h['note']}" if h.get("note") else ""
                st.html(
                    f"<div class='sa-card sa-handled'><b>{_ui.esc(resident_name(row))}</b> — "
                    f"{_ui.esc(alert['message'])}<br><span class='sa-muted'>"
                    f"{_ui.esc(session.t('ward.handled_by', by=h['by'], when=at))}{_ui.esc(note)}"
                    "</span></div>"
                )


def chosen_day() -> date | None:
    """The day of ``?date=`` in the address; None (today, live) when absent, not a date, today
    itself, or after the tenant's today (the API refuses a day not yet begun)."""
    try:
        day = _format.parse_date(st.query_params.get("date"))
    except ValueError:
        return None
    if day is not None and day >= datetime.now(ZoneInfo(_session.current().time_zone)).date():
        return None
    return day


def _today_or(today: str, other: str) -> str:
    """``today`` when the overview is of today (no ``?date=``), else ``other``."""
    return today if chosen_day() is None else other


def table_rows(session: _session.Session, overview: JsonObject) -> list[dict[str, Any]]:
    """The table's rows: text formatted by the API; in the sparkline a day without data is an
    empty place (height 0: Streamlit's bar column shows the raw list as text when a value is
    missing, and the column's help says that empty means no data)."""
    out = []
    for row in overview["residents"]:
        today, display, gait = row["today"], row["display"], row["gait"]
        no_data = not today.get("has_data")
        # Most urgent first (the API's urgency), each kind once.
        open_ = sorted(
            (a for a in row.get("alerts", []) if a.get("handled") is None),
            key=lambda a: a["urgency"],
        )
        kinds = list(dict.fromkeys(a["kind"] for a in open_))
        # Today's steps so far stand alone: against whole days they read "−100 %" at 07:00. The
        # change is of the last whole day (yesterday), in a column of its own.
        full = row.get("last_full_day") or {}
        if not full.get("has_data"):
            vs_level = session.t("ward.no_data")
        elif full.get("steps_vs_level") is None:  # no "–" before a level exists
            vs_level = ""
        else:
            vs_level = display["last_full_day_level"]
        out.append(
            {
                "resident": resident_name(row),
                "alerts": ", ".join(session.t(f"alert.{k}") for k in kinds),
                "room": row.get("room") or "",
                "steps": session.t("ward.no_data") if no_data else display["steps"],
                "vs_level": vs_level,
                "walking": "" if no_data else display["walking"],
                "week": [
                    p["steps"] if p.get("has_data") and p.get("steps") is not None else 0
                    for p in row["series"]
                ],
                "gait": f"{display['gait_speed']} {_TREND.get(gait.get('trend', ''), '')}".strip(),
                "last": display["last_activity"],
                "coverage": display["coverage"],
            }
        )
    return out


def _table(session: _session.Session, overview: JsonObject) -> None:
    rows = overview["residents"]
    st.subheader(session.t("ward.residents_title", n=len(rows)), anchor=False)
    if not rows:
        _ui.empty(session.t("ward.no_residents"))
        return
    t = session.t
    event = st.dataframe(
        table_rows(session, overview),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="ward_table",
        # Fits a 10-inch tablet held landscape (1280 px) without a sideways scroll, every header
        # whole in bokmål and English (looked at in Chromium, 2026-12-02); the alerts column is
        # the one that gives way (they are listed in full under «Trenger oppfølging»). On a
        # narrower screen the alerts still come right after the name, before the figures.
        column_config={
            "resident": st.column_config.TextColumn(t("ward.col.resident")),
            "alerts": st.column_config.TextColumn(
                t("ward.col.alerts"), help=t("ward.help.alerts"), width=130
            ),
            "room": st.column_config.TextColumn(t("ward.col.room"), width=48),
            "steps": st.column_config.TextColumn(
                t(_today_or("ward.col.steps", "ward.col.steps_on")),
                help=t(_today_or("ward.help.steps", "ward.help.steps_on")),
                width=82,
            ),
            "vs_level": st.column_config.TextColumn(
                t(_today_or("ward.col.vs_level", "ward.col.vs_level_on")),
                help=t("ward.help.vs_level"),
                width=118,
            ),
            "walking": st.column_config.TextColumn(t("ward.col.walking"), width=60),
            "week": st.column_config.BarChartColumn(
                t("ward.col.week"), help=t("ward.help.week"), y_min=0, width=72
            ),
            "gait": st.column_config.TextColumn(
                t("ward.col.gait"), help=t("ward.help.gait"), width=98
            ),
            "last": st.column_config.TextColumn(t("ward.col.last"), width=72),
            "coverage": st.column_config.TextColumn(
                t("ward.col.coverage"), help=t("ward.help.coverage"), width=66
            ),
        },
    )
    st.caption(t("ward.open_hint"))
    selected = event.selection.rows if event is not None else []
    if selected:
        session.resident_id = int(rows[selected[0]]["resident_id"])
        session.touch()
        st.switch_page(_nav.page("resident"))


def _metrics(session: _session.Session, overview: JsonObject) -> None:
    rows = overview["residents"]
    counts: dict[str, int] = overview.get("alert_counts", {})
    no_data = sum(1 for r in rows if not r["today"].get("has_data"))
    cols = st.columns(4)
    cols[0].metric(session.t("ward.m.residents"), len(rows))
    for col, kind, label in (
        (cols[1], "not_up_by_hour", session.t("ward.m.not_up", hour=overview.get("not_up_by", ""))),
        (cols[2], "declining_3_days", session.t("ward.m.declining")),
    ):
        # A handled alert stays counted while its condition holds: say how many are handled,
        # so that the figure not dropping after "Håndtert" does not read as a fault.
        handled = sum(
            1 for r in rows for a in r.get("alerts", []) if a["kind"] == kind and a.get("handled")
        )
        col.metric(
            label, counts.get(kind, 0),
            delta=session.t("ward.m.handled", n=handled) if handled else None,
            delta_color="off", delta_arrow="off",
        )  # fmt: skip
    cols[3].metric(session.t(_today_or("ward.m.no_data", "ward.m.no_data_on")), no_data)


def _live(ward_id: int) -> None:
    session = _session.current()
    if session.idle_expired():
        session.log_out("login.idle_logged_out")
        st.rerun(scope="app")
    overview = _ui.fetch(lambda: _session.api().ward_overview(ward_id, chosen_day()))
    if overview is None:
        return
    day = _format.parse_date(overview["date"])
    updated = format_clock(_format.parse_datetime(overview["generated_at"]), session.time_zone)
    st.caption(
        session.t(
            _today_or("ward.updated", "ward.updated_past"),
            day=_format.long_date(day, session.lang) if day else "",
            time=updated,
            every=get_settings().dashboard_refresh_s,
        )
    )
    _metrics(session, overview)
    _alert_cards(session, overview)
    _table(session, overview)


def render() -> None:
    """The page."""
    session = _session.current()
    toast = st.session_state.pop("ward_toast", None)
    if toast:
        st.toast(toast, icon=":material/check:")
    ward = _ward_choice(session)
    if ward is None:
        return
    st.title(_ui.markdown_text(ward["name"]), anchor=False)
    st.caption(_ui.markdown_text(ward["site"]))
    # Built here, not at import, so the refresh interval follows the settings of this process.
    # A past day (``?date=``) is shown as fetched: it does not refresh by itself.
    every = get_settings().dashboard_refresh_s if chosen_day() is None else None
    live = st.fragment(_live, run_every=every)
    live(int(ward["ward_id"]))


if __name__ == "__main__":  # run as a page of st.navigation
    render()
