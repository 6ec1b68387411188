"""Fleet: the walkers and robots by ward — status, battery, firmware, last seen, message and
reject rates, and the assignment in force — with a filter to the devices that need a look.

A device that has gone quiet gets a sentence, not a code: "Ingen data fra denne rullatoren
siden 09:12".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from dashboard import _format, _session, _ui
from dashboard._client import JsonObject
from stayactive.locale_format import MISSING, format_number, format_percent

ALL = 0


def _ward_names(session: _session.Session) -> dict[int, str]:
    return {
        int(w["ward_id"]): f"{w['name']} · {w['site']}" for w in (session.me or {}).get("wards", [])
    }


def _quiet_sentence(session: _session.Session, d: JsonObject, now: datetime) -> str | None:
    """What a reader should know about a device with a problem, in one sentence."""
    t, lang = session.t, session.lang
    kind = t(f"fleet.kind_the.{d['kind']}")
    problems = d.get("problems", [])
    if "never_seen" in problems:
        return t("fleet.never_seen", device=kind, id=d["device_id"])
    if "offline" in problems:
        seen = _format.since(
            _format.parse_datetime(d.get("last_seen_at")), session.time_zone, lang, now=now
        )
        return t("fleet.quiet", device=kind, id=d["device_id"], since=seen)
    if "battery_low" in problems:
        return t(
            "fleet.battery", device=kind, id=d["device_id"],
            pct=format_percent((d.get("battery_pct") or 0) / 100, 0, language=lang),
        )  # fmt: skip
    if "clock_suspect" in problems:
        return t("fleet.clock", device=kind, id=d["device_id"])
    return None


def _reject_sentence(session: _session.Session, d: JsonObject) -> str | None:
    """A device whose messages were refused in the last day: worth a look at its firmware."""
    traffic = d.get("traffic") or {}
    n = int(traffic.get("rejects_24h") or 0)
    if n == 0:
        return None
    t, lang = session.t, session.lang
    return t(
        "fleet.rejected", n=format_number(n, 0, language=lang),
        device=t(f"fleet.kind_the.{d['kind']}"), id=d["device_id"],
        share=format_percent(traffic.get("reject_share_24h"), 1, language=lang),
    )  # fmt: skip


def table_rows(
    session: _session.Session, devices: list[JsonObject], names: dict[int, str]
) -> list[dict[str, Any]]:
    """One row per device, texts formatted for the reader."""
    t, lang, now = session.t, session.lang, datetime.now(UTC)
    out = []
    for d in devices:
        assignment = d.get("assignment") or {}
        traffic = d.get("traffic") or {}
        share = traffic.get("reject_share_24h")
        out.append(
            {
                "ward": names.get(d.get("ward_id") or 0, t("fleet.no_ward")),
                "device": d["device_id"],
                "kind": t(f"fleet.kind.{d['kind']}"),
                "state": t(f"fleet.state.{d.get('state') or 'unknown'}"),
                "battery": d.get("battery_pct"),
                "firmware": d.get("firmware") or MISSING,
                "last_seen": _format.since(
                    _format.parse_datetime(d.get("last_seen_at")), session.time_zone, lang,
                    now=now,
                ),
                "messages_1h": format_number(traffic.get("messages_1h"), 0, language=lang),
                "messages_24h": format_number(traffic.get("messages_24h"), 0, language=lang),
                "rejects": (
                    MISSING if share is None
                    else "0" if not traffic.get("rejects_24h")
                    else t("fleet.rejects", n=format_number(traffic.get("rejects_24h"), 0,
                                                            language=lang),
                           share=format_percent(share, 1, language=lang))
                ),
                "assigned": assignment.get("pseudonym", ""),
                "problems": ", ".join(t(f"fleet.problem.{p}") for p in d.get("problems", [])),
            }
        )  # fmt: skip
    return out


def render() -> None:
    """The page."""
    session = _session.current()
    t = session.t
    st.title(t("fleet.title"), anchor=False)
    names = _ward_names(session)
    options = [ALL, *names]
    ward = st.selectbox(
        t("fleet.ward"), options,
        format_func=lambda w: t("fleet.all_wards") if w == ALL else names[w], key="fleet_ward",
    )  # fmt: skip
    # Under the ward, not beside it: beside it, a 1024-pixel tablet cut the label off.
    problems_only = st.toggle(t("fleet.problems_only"), key="fleet_problems")
    devices = _ui.fetch(lambda: _session.api().fleet(ward or None, problems_only=problems_only))
    if devices is None:
        return
    if not devices:
        _ui.empty(t("fleet.none_problems") if problems_only else t("fleet.none"))
        return
    with_problem = [d for d in devices if d.get("problems")]
    cols = st.columns(4)
    cols[0].metric(t("fleet.m.devices"), len(devices))
    cols[1].metric(t("fleet.m.online"), sum(1 for d in devices if d.get("state") == "online"))
    cols[2].metric(t("fleet.m.problems"), len(with_problem))
    cols[3].metric(
        t("fleet.m.assigned"), sum(1 for d in devices if d.get("assignment") is not None)
    )
    now = datetime.now(UTC)
    sentences = [
        s[0].upper() + s[1:] for d in with_problem if (s := _quiet_sentence(session, d, now))
    ]
    sentences += [s[0].upper() + s[1:] for d in devices if (s := _reject_sentence(session, d))]
    if sentences:
        st.subheader(t("fleet.attention", n=len(sentences)), anchor=False)
        for s in sentences:
            st.html(f"<div class='sa-card sa-device'>{_ui.esc(s)}</div>")
    st.subheader(t("fleet.devices_title"), anchor=False)
    st.dataframe(
        table_rows(session, devices, names),
        hide_index=True,
        width="stretch",
        # What a look needs first, then what identifies the device (the ward has a filter).
        column_order=(
            "device",
            "state",
            "battery",
            "last_seen",
            "messages_1h",
            "messages_24h",
            "rejects",
            "problems",
            "assigned",
            "kind",
            "firmware",
            "ward",
        ),
        column_config={
            "ward": st.column_config.TextColumn(t("fleet.col.ward")),
            "device": st.column_config.TextColumn(t("fleet.col.device")),
            "kind": st.column_config.TextColumn(t("fleet.col.kind"), width="small"),
            "state": st.column_config.TextColumn(t("fleet.col.state"), width="small"),
            "battery": st.column_config.ProgressColumn(
                t("fleet.col.battery"), min_value=0, max_value=100, format="%.0f %%"
            ),
            "firmware": st.column_config.TextColumn(t("fleet.col.firmware"), width="small"),
            "last_seen": st.column_config.TextColumn(t("fleet.col.last_seen"), width="small"),
            "messages_1h": st.column_config.TextColumn(
                t("fleet.col.messages_1h"), help=t("fleet.help.messages_1h"), width="small"
            ),
            "messages_24h": st.column_config.TextColumn(
                t("fleet.col.messages_24h"), help=t("fleet.help.messages_24h"), width="small"
            ),
            "rejects": st.column_config.TextColumn(
                t("fleet.col.rejects"), help=t("fleet.help.rejects"), width="small"
            ),
            "assigned": st.column_config.TextColumn(t("fleet.col.assigned")),
            "problems": st.column_config.TextColumn(t("fleet.col.problems"), width="small"),
        },
    )


if __name__ == "__main__":  # run as a page of st.navigation
    render()
