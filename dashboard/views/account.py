"""The sidebar of a logged-in user: who, language, logout; and the idle-timeout guard."""

from __future__ import annotations

import math

import streamlit as st

from dashboard import _session, _ui
from dashboard._i18n import LANGUAGES, Lang
from stayactive.settings import get_settings

#: How often the guard looks at the idle time (a logged-out tablet shows nothing for longer).
GUARD_EVERY_S = 15

ROLE_KEYS = {
    "care_staff": "role.care_staff",
    "finance": "role.finance",
    "admin": "role.admin",
}


def _logout() -> None:
    _session.current().log_out("login.logged_out")


def _set_lang() -> None:
    session = _session.current()
    choice: Lang | None = st.session_state.get("sidebar_lang")
    if choice:
        session.set_lang(choice)
    session.touch()


@st.fragment(run_every=GUARD_EVERY_S)
def _idle_guard() -> None:
    """Logs an idle session out, even while nobody touches the screen."""
    session = _session.current()
    if session.idle_expired():
        session.log_out("login.idle_logged_out")
        st.rerun(scope="app")
    left_s = get_settings().dashboard_idle_timeout_s - session.idle_s()
    st.caption(session.t("account.idle", minutes=max(1, math.ceil(left_s / 60))))


def sidebar(session: _session.Session) -> None:
    """User, tenant, language and logout in the sidebar."""
    me = session.me or {}
    with st.sidebar:
        st.markdown(f"**{_ui.markdown_text(me.get('username', ''))}**")
        st.caption(
            f"{session.t(ROLE_KEYS.get(session.role or '', 'role.unknown'))} · "
            f"{_ui.markdown_text(me.get('tenant_name', ''))}"
        )
        options: list[Lang] = list(LANGUAGES)
        st.selectbox(
            session.t("account.language"),
            options,
            index=options.index(session.lang),
            format_func=lambda code: LANGUAGES[code],
            key="sidebar_lang",
            on_change=_set_lang,
        )
        st.button(
            session.t("account.logout"),
            icon=":material/logout:",
            on_click=_logout,
            width="stretch",
            key="logout",
        )
        _idle_guard()
