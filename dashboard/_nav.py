"""The menu: which pages a role sees, built on every run (``st.navigation`` + ``st.Page``).

care_staff: ward overview, resident, fleet. finance: the finance report only (aggregates).
admin: all four. integrator: no login (integrators use the API with a key; the API refuses
their password). Hiding is for comfort; the API
answers 403 to anything outside the role, and the pages show that as a sentence.

Each page is a script in ``dashboard/views/`` (so AppTest can switch to it by path); the
folder is not called ``pages/``, which Streamlit would take for an old-style multipage app.

Every page's address is known on every run, also to those who cannot use it: before login
``/fleet`` (a reload, a bookmark) shows the login and, once logged in, the fleet; an address
outside the role opens the role's first page. Otherwise Streamlit answers an unknown address
with its own English "Page not found" dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from dashboard import _session
from dashboard.views import account

PageKey = str
VIEWS = Path(__file__).parent / "views"

#: Pages per role, in menu order.
ROLE_PAGES: dict[str, tuple[PageKey, ...]] = {
    "care_staff": ("ward", "resident", "fleet"),
    "admin": ("ward", "resident", "fleet", "finance"),
    "finance": ("finance",),
}

_PAGES: dict[PageKey, tuple[str, str]] = {
    "ward": ("nav.ward", ":material/groups:"),
    "resident": ("nav.resident", ":material/person:"),
    "fleet": ("nav.fleet", ":material/devices:"),
    "finance": ("nav.finance", ":material/account_balance:"),
}

_BUILT = "stayactive_pages"


def page(key: PageKey) -> StreamlitPage:
    """The page ``key`` of this run's menu (to switch to it)."""
    pages: dict[PageKey, StreamlitPage] = st.session_state[_BUILT]
    return pages[key]


def menu() -> tuple[PageKey, ...]:
    """The keys of this run's pages (the login page before login)."""
    pages: dict[PageKey, StreamlitPage] = st.session_state.get(_BUILT, {})
    return tuple(pages)


def _hidden(target: str | Path | Callable[[], None], key: PageKey, title: str) -> StreamlitPage:
    """A page at ``/key`` that is in no menu."""
    return st.Page(target, title=title, url_path=key, visibility="hidden")


def build(session: _session.Session) -> StreamlitPage:
    """The navigation of this run: the login page, or the role's pages and the sidebar."""
    if not session.logged_in:
        title = session.t("nav.login")
        login = st.Page(VIEWS / "login.py", title=title, url_path="login")
        st.session_state[_BUILT] = {"login": login}
        # Every page's address shows the login too and, once logged in, that page.
        others = [_hidden(VIEWS / "login.py", key, title) for key in _PAGES]
        return st.navigation([login, *others], position="hidden")
    keys = ROLE_PAGES[session.role or ""]
    pages: dict[PageKey, StreamlitPage] = {}
    for i, key in enumerate(keys):
        title_key, icon = _PAGES[key]
        pages[key] = st.Page(
            VIEWS / f"{key}.py", title=session.t(title_key), icon=icon, url_path=key,
            default=i == 0,
        )  # fmt: skip
    st.session_state[_BUILT] = pages
    account.sidebar(session)
    first = next(iter(pages.values()))
    # An address outside the role opens the role's first page. Not the login's: the run
    # right after login asks for it, and would lose the address's ``?date=`` on the way.
    elsewhere = [
        _hidden(lambda: st.switch_page(first), key, first.title)
        for key in _PAGES
        if key not in pages
    ]
    return st.navigation([*pages.values(), *elsewhere])
