"""The resident page: the stay on one screen.

Daily steps and walking minutes (days without data drawn as "no data", never as zero), gait
speed with the 0.8 m/s community-ambulation line and the days a meaningful change from the
stay's baseline was reached (Perera et al. 2006: 0.05 m/s small, 0.10 m/s substantial), the
walking bouts of a chosen day, robot sessions and repetitions, sit-to-stand times, alerts
with who handled them, and consent status. Every call is an audited read at the API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import streamlit as st

from analytics.mobility import COMMUNITY_SPEED_MPS, SMALL_CHANGE_MPS, SUBSTANTIAL_CHANGE_MPS
from dashboard import _charts, _format, _session, _ui
from dashboard._client import JsonObject, NotFound
from dashboard._i18n import Lang
from dashboard.views.ward import resident_name
from stayactive.locale_format import MISSING, format_clock, format_number, format_unit

#: Longest stretch one page asks for (the API allows a year per call).
MAX_DAYS = 366


def _roster(session: _session.Session) -> list[JsonObject] | None:
    """The residents of the ward in view (from its overview), for the picker."""
    wards = (session.me or {}).get("wards", [])
    if not wards:
        _ui.empty(session.t("ward.no_wards"))
        return None
    ward_id = session.ward_id or int(wards[0]["ward_id"])
    session.ward_id = ward_id
    overview = _ui.fetch(lambda: _session.api().ward_overview(ward_id))
    if overview is None:
        return None
    rows: list[JsonObject] = sorted(overview["residents"], key=resident_name)
    return rows


def _pick(session: _session.Session, roster: list[JsonObject]) -> JsonObject | None:
    if not roster:
        _ui.empty(session.t("resident.none_on_ward"))
        return None
    ids = [int(r["resident_id"]) for r in roster]
    if session.resident_id is None:
        session.resident_id = ids[0]
    # A resident opened from a past day's overview may have left the ward since: no one is
    # preselected then, never the first of today's list in their place.
    gone = session.resident_id not in ids
    by_id = {int(r["resident_id"]): r for r in roster}

    def label(i: int) -> str:
        r = by_id[i]
        room = f" · {session.t('ward.room')} {r['room']}" if r.get("room") else ""
        return f"{resident_name(r)}{room}"

    chosen = st.selectbox(
        session.t("resident.choose"), ids, index=None if gone else ids.index(session.resident_id),
        format_func=label, key="resident_pick", placeholder=session.t("resident.choose_one"),
    )  # fmt: skip
    if chosen is None:
        st.warning(session.t("resident.not_on_ward"), icon=":material/person_off:")
        return None
    session.resident_id = int(chosen)
    return by_id[int(chosen)]


def _day_rows(days: list[JsonObject], lang: Lang, field: str, fmt: Any) -> list[dict[str, Any]]:
    out = []
    for d in days:
        day = date.fromisoformat(d["date"])
        value = d.get(field)
        has = bool(d.get("has_data")) and value is not None
        out.append(
            {
                "date": d["date"],
                "has_data": has,
                field: value,
                "label": _format.day_label(day, lang),
                "text": fmt(value) if has else MISSING,
            }
        )
    return out


def change_markers(
    days: list[JsonObject], baseline_mps: float | None, lang: Lang, texts: dict[str, str]
) -> list[dict[str, Any]]:
    """The first day each meaningful-change threshold from the baseline was reached: ``date``,
    ``speed``, ``label`` (the day and the change, in words) and ``text`` (the speed)."""
    if baseline_mps is None:
        return []
    marks: list[dict[str, Any]] = []
    reached: set[str] = set()
    for d in days:
        v = d.get("gait_speed_median_mps")
        if v is None:
            continue
        change = v - baseline_mps
        for key, threshold in (
            ("substantial_up", SUBSTANTIAL_CHANGE_MPS), ("small_up", SMALL_CHANGE_MPS),
            ("substantial_down", -SUBSTANTIAL_CHANGE_MPS), ("small_down", -SMALL_CHANGE_MPS),
        ):  # fmt: skip
            hit = change >= threshold - 1e-9 if threshold > 0 else change <= threshold + 1e-9
            if hit and key not in reached:
                reached.add(key)
                # A substantial change also passes the small threshold: mark it once.
                reached.add(key.replace("substantial", "small"))
                day = date.fromisoformat(d["date"])
                marks.append(
                    {
                        "date": d["date"],
                        "speed": v,
                        "label": f"{_format.day_label(day, lang)}: {texts[key]}",
                        "text": format_unit(v, 2, "m/s", language=lang),
                    }
                )
                break
    return marks


def _header(session: _session.Session, row: JsonObject, stay: JsonObject | None) -> None:
    t, lang = session.t, session.lang
    # Names, rooms and wards are user input: escaped for the markdown of title and caption.
    md = _ui.markdown_text
    st.title(md(resident_name(row)), anchor=False)
    bits = []
    if row.get("display_name"):
        bits.append(t("resident.pseudonym", p=md(row["pseudonym"])))
    if row.get("room"):
        bits.append(f"{t('ward.room')} {md(row['room'])}")
    if stay is not None:
        admitted = _format.parse_datetime(stay["admitted_at"])
        if admitted is not None:
            local = admitted.astimezone(ZoneInfo(session.time_zone)).date()
            bits.append(t("resident.admitted", day=_format.long_date(local, lang)))
        bits.append(t("resident.day_of_stay", n=row["stay"]["day_of_stay"]))
        bits.append(f"{md(stay['ward'])} · {md(stay['site'])}")
    st.caption(" · ".join(bits))


def _metrics(session: _session.Session, row: JsonObject, stay: JsonObject | None) -> None:
    t, lang = session.t, session.lang
    traj = (stay or {}).get("trajectory") or {}
    display, today = row["display"], row["today"]
    cols = st.columns(4)
    # Today's steps so far without a change: against whole days they read "−100 %" at 07:00.
    cols[0].metric(
        t("resident.m.steps_today"),
        display["steps"] if today.get("has_data") else t("ward.no_data"),
        help=t("ward.help.level"),
    )
    cols[1].metric(
        t("resident.m.walking_today"),
        display["walking"] if today.get("has_data") else t("ward.no_data"),
    )
    # The change of the figure shown (latest day's speed against the stay's first days), from
    # the same overview row, so the arrow agrees with the number and the chart beside it.
    change = row["gait"].get("change_mps")
    cols[2].metric(
        t("resident.m.gait"), display["gait_speed"],
        delta=format_unit(change, 2, "m/s", language=lang) if change is not None else None,
        help=t("resident.help.gait_change"),
    )  # fmt: skip
    reached = traj.get("days_to_community_speed")
    cols[3].metric(
        t("resident.m.community"),
        t("resident.community_day", n=reached) if reached is not None else t("resident.not_yet"),
        help=t("resident.help.community"),
    )
    st.caption(yesterday_text(session, row))


def yesterday_text(session: _session.Session, row: JsonObject) -> str:
    """The last whole day against the resident's usual level, e.g. "I går mot vanlig nivå:
    4 800 skritt (−20 %)": the fair comparison at any hour of today."""
    t, display = session.t, row["display"]
    full = row.get("last_full_day") or {}
    if not full.get("has_data") or full.get("steps") is None:
        return t("resident.yesterday_no_data")
    if full.get("steps_vs_level") is None:
        return t("resident.yesterday_no_level", steps=display["last_full_day_steps"])
    return t(
        "resident.yesterday_vs_level",
        steps=display["last_full_day_steps"],
        change=display["last_full_day_level"],
    )


def _activity(session: _session.Session, days: list[JsonObject], row: JsonObject) -> None:
    t, lang = session.t, session.lang
    if not any(d.get("has_data") for d in days):
        _ui.empty(t("resident.no_days"))
        return
    steps = _day_rows(days, lang, "steps", lambda v: format_number(v, 0, language=lang))
    level = row["level"].get("steps_median")
    st.markdown(f"**{t('resident.steps_title')}**")
    st.altair_chart(
        _charts.daily_bars(
            steps, field="steps", title=t("resident.steps_axis"), no_data_label=t("ward.no_data"),
            lang=lang, level=level, level_label=t("resident.own_level"),
            level_text=format_number(level, 0, language=lang),
        ),
        width="stretch",
    )  # fmt: skip
    walking = _day_rows(
        days, lang, "walking_min", lambda v: format_unit(v, 0, "min", language=lang)
    )
    st.markdown(f"**{t('resident.walking_title')}**")
    st.altair_chart(
        _charts.daily_bars(
            walking, field="walking_min", title=t("resident.walking_axis"),
            no_data_label=t("ward.no_data"), lang=lang, color=_charts.GREEN,
        ),
        width="stretch",
    )  # fmt: skip
    st.caption(t("resident.no_data_hint"))


def _gait(session: _session.Session, days: list[JsonObject], stay: JsonObject | None) -> None:
    t, lang = session.t, session.lang
    rows = [
        {
            "date": d["date"],
            "gait_speed": d.get("gait_speed_median_mps"),
            "label": _format.day_label(date.fromisoformat(d["date"]), lang),
            "text": format_unit(d.get("gait_speed_median_mps"), 2, "m/s", language=lang),
        }
        for d in days
        if d.get("gait_speed_median_mps") is not None
    ]
    if not rows:
        _ui.empty(t("resident.no_gait"))
        return
    traj = (stay or {}).get("trajectory") or {}
    texts = {k: t(f"resident.change.{k}") for k in
             ("substantial_up", "small_up", "substantial_down", "small_down")}  # fmt: skip
    markers = change_markers(days, traj.get("gait_speed_baseline_mps"), lang, texts)
    st.markdown(f"**{t('resident.gait_title')}**")
    st.altair_chart(
        _charts.gait_speed(
            rows, title=t("resident.gait_axis"), threshold_mps=COMMUNITY_SPEED_MPS,
            threshold_label=t("resident.community_line",
                              v=format_unit(COMMUNITY_SPEED_MPS, 1, "m/s", language=lang)),
            markers=markers, lang=lang, measure_title=t("resident.m.gait"),
        ),
        width="stretch",
    )  # fmt: skip
    baseline = traj.get("gait_speed_baseline_mps")
    if baseline is not None:
        st.caption(
            t("resident.gait_caption", baseline=format_unit(baseline, 2, "m/s", language=lang),
              small=format_unit(SMALL_CHANGE_MPS, 2, "m/s", language=lang),
              substantial=format_unit(SUBSTANTIAL_CHANGE_MPS, 2, "m/s", language=lang))
        )  # fmt: skip


def _bouts(session: _session.Session, resident_id: int, days: list[JsonObject]) -> None:
    t, lang = session.t, session.lang
    with_data = [date.fromisoformat(d["date"]) for d in days if d.get("walker_data")]
    if not with_data:
        _ui.empty(t("resident.no_bouts_days"))
        return
    options = sorted(with_data, reverse=True)
    # Bouts are computed from the raw walker data on request: only for a day the user picks.
    day = st.selectbox(
        t("resident.bouts_day"), options, index=None, placeholder=t("resident.bouts_pick"),
        format_func=lambda d: _format.long_date(d, lang), key=f"bouts_day_{resident_id}",
    )  # fmt: skip
    if day is None:
        return
    result = _ui.fetch(lambda: _session.api().resident_bouts(resident_id, day))
    if result is None:
        return
    bouts = result.get("bouts", [])
    if not bouts:
        _ui.empty(t("resident.no_bouts", day=_format.long_date(day, lang)))
        return
    tz = session.time_zone
    rows = []
    for b in bouts:
        start, end = _format.parse_datetime(b["start"]), _format.parse_datetime(b["end"])
        assert start is not None and end is not None
        # Vega reads naive times as local: give it the tenant's wall-clock time.
        start_local = start.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        end_local = end.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        rows.append(
            {
                "start": start_local.isoformat(),
                "end": end_local.isoformat(),
                "speed": b["speed_mps"],
                "label": t(
                    "resident.bout_label", start=format_clock(start, tz),
                    duration=format_unit(b["duration_s"], 0, "s", language=lang),
                    steps=format_number(b["steps"], 0, language=lang),
                    speed=format_unit(b["speed_mps"], 2, "m/s", language=lang),
                ),
            }
        )  # fmt: skip
    total_s = sum(b["duration_s"] for b in bouts)
    st.markdown(
        t(
            "resident.bouts_summary",
            n=len(bouts),
            minutes=format_unit(total_s / 60, 0, "min", language=lang),
        )
    )
    st.altair_chart(
        _charts.bouts_timeline(
            rows, speed_title=t("resident.gait_axis"), lang=lang, measure_title=t("resident.m.gait")
        ),
        width="stretch",
    )


def _robot(session: _session.Session, days: list[JsonObject]) -> None:
    t, lang = session.t, session.lang
    robot_days = [d for d in days if d.get("robot_data")]
    if not robot_days:
        _ui.empty(t("resident.no_robot"))
        return
    sessions = sum(int(d.get("robot_sessions") or 0) for d in robot_days)
    reps = sum(int(d.get("repetitions") or 0) for d in robot_days)
    cols = st.columns(3)
    cols[0].metric(t("resident.m.robot_sessions"), format_number(sessions, 0, language=lang))
    cols[1].metric(t("resident.m.repetitions"), format_number(reps, 0, language=lang))
    last_sts = next(
        (d["five_sts_s"] for d in reversed(robot_days) if d.get("five_sts_s") is not None), None
    )
    cols[2].metric(t("resident.m.five_sts"), format_unit(last_sts, 1, "s", language=lang))
    reps_rows = [
        {**r, "has_data": r["has_data"] or False}
        for r in _day_rows(days, lang, "repetitions", lambda v: format_number(v, 0, language=lang))
    ]
    for r, d in zip(reps_rows, days, strict=True):
        r["has_data"] = bool(d.get("robot_data")) and d.get("repetitions") is not None
    st.markdown(f"**{t('resident.reps_title')}**")
    st.altair_chart(
        _charts.daily_bars(
            reps_rows, field="repetitions", title=t("resident.reps_axis"),
            no_data_label=t("resident.no_session"), lang=lang, color=_charts.ORANGE,
        ),
        width="stretch",
    )  # fmt: skip
    sts = _day_rows(days, lang, "five_sts_s", lambda v: format_unit(v, 1, "s", language=lang))
    if any(r["has_data"] for r in sts):
        st.markdown(f"**{t('resident.sts_title')}**")
        st.altair_chart(
            _charts.series_points(sts, field="five_sts_s", title=t("resident.sts_axis"), lang=lang),
            width="stretch",
        )
        st.caption(t("resident.sts_caption"))


def _alerts_and_consent(session: _session.Session, resident_id: int) -> None:
    t, lang = session.t, session.lang
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('resident.alerts_title')}**")
        result = _optional(lambda: _session.api().resident_alerts(resident_id))
        alerts = (result or {}).get("alerts", [])
        handled = [a for a in alerts if a.get("handled")]
        if not handled:
            st.caption(t("resident.no_handled"))
        now = datetime.now(UTC)
        for a in handled:
            h = a["handled"]
            when = _format.since(_format.parse_datetime(h["at"]), session.time_zone, lang, now=now)
            # Message, user and note are text, not markdown (the note is free text).
            md = _ui.markdown_text
            note = f": {md(h['note'])}" if h.get("note") else ""
            by = t("ward.handled_by", by=md(h["by"]), when=when)
            st.markdown(f"- {md(a['message'])} — *{by}*{note}")
    with right:
        st.markdown(f"**{t('resident.consent_title')}**")
        consents = _optional(lambda: _session.api().resident_consents(resident_id)) or []
        if not consents:
            st.caption(t("resident.no_consent"))
        for c in consents:
            state = t(f"consent.state.{c['status']}")
            st.markdown(f"- {t('consent.purpose.' + c['purpose'])}: **{state}**")


_T = TypeVar("_T")


def _optional(call: Callable[[], _T]) -> _T | None:
    """The answer, or None when the API answers 404 (e.g. the resident left the ward)."""
    try:
        return call()
    except NotFound:
        return None


def render() -> None:
    """The page."""
    session = _session.current()
    roster = _roster(session)
    if roster is None:
        return
    row = _pick(session, roster)
    if row is None:
        return
    resident_id = int(row["resident_id"])
    stays = _ui.fetch(lambda: _session.api().resident_stays(resident_id))
    if stays is None:
        return
    stay = next((s for s in stays if s.get("stay_id") == row["stay"]["stay_id"]), None)
    _header(session, row, stay)
    tz = ZoneInfo(session.time_zone)
    today = datetime.now(tz).date()
    start = today - timedelta(days=13)
    if stay is not None:
        admitted = _format.parse_datetime(stay["admitted_at"])
        if admitted is not None:
            start = max(admitted.astimezone(tz).date(), today - timedelta(days=MAX_DAYS - 1))
    result = _ui.fetch(lambda: _session.api().resident_days(resident_id, start, today))
    if result is None:
        return
    days: list[JsonObject] = result.get("days", [])
    _metrics(session, row, stay)
    t = session.t
    tabs = st.tabs(
        [t("resident.tab.activity"), t("resident.tab.gait"), t("resident.tab.bouts"),
         t("resident.tab.robot"), t("resident.tab.alerts")]
    )  # fmt: skip
    with tabs[0]:
        _activity(session, days, row)
    with tabs[1]:
        _gait(session, days, stay)
    with tabs[2]:
        _bouts(session, resident_id, days)
    with tabs[3]:
        _robot(session, days)
    with tabs[4]:
        _alerts_and_consent(session, resident_id)


if __name__ == "__main__":  # run as a page of st.navigation
    render()
