"""The menu: which pages a role sees, built on every run (``st.navigation`` + ``st.Page``).

care_staff: ward overview, resident, fleet. finance: the finance report only (aggregates).
admin: all four. integrator: none (integrators use the API). Hiding is for comfort; the API
answers 403 to anything outside the role, and the pages show that as a sentence.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from dashboard import _session
from dashboard.views import account, finance, fleet, login, resident, ward

PageKey = str

#: Pages per role, in menu order.
ROLE_PAGES: dict[str, tuple[PageKey, ...]] = {
    "care_staff": ("ward", "resident", "fleet"),
    "admin": ("ward", "resident", "fleet", "finance"),
    "finance": ("finance",),
    "integrator": (),
}

_PAGES: dict[PageKey, tuple[Callable[[], None], str, str]] = {
    "ward": (ward.render, "nav.ward", ":material/groups:"),
    "resident": (resident.render, "nav.resident", ":material/person:"),
    "fleet": (fleet.render, "nav.fleet", ":material/devices:"),
    "finance": (finance.render, "nav.finance", ":material/account_balance:"),
}

_BUILT = "stayactive_pages"


def page(key: PageKey) -> StreamlitPage:
    """The page ``key`` of this run's menu (to switch to it)."""
    pages: dict[PageKey, StreamlitPage] = st.session_state[_BUILT]
    return pages[key]


def build(session: _session.Session) -> StreamlitPage:
    """The navigation of this run: the login page, or the role's pages and the sidebar."""
    if not session.logged_in:
        st.session_state[_BUILT] = {}
        return st.navigation(
            [st.Page(login.render, title=session.t("nav.login"), url_path="login", default=True)],
            position="hidden",
        )
    keys = ROLE_PAGES.get(session.role or "", ())
    pages: dict[PageKey, StreamlitPage] = {}
    for i, key in enumerate(keys):
        render, title_key, icon = _PAGES[key]
        pages[key] = st.Page(
            render, title=session.t(title_key), icon=icon, url_path=key, default=i == 0
        )
    if not pages:
        pages["none"] = st.Page(
            account.no_pages, title=session.t("nav.none"), url_path="none", default=True
        )
    st.session_state[_BUILT] = pages
    account.sidebar(session)
    return st.navigation(list(pages.values()))
