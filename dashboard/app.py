"""The Streamlit entry script (``streamlit run dashboard/app.py``; ``stayactive dashboard``).

Each run builds the menu from the logged-in user's role (:mod:`dashboard._nav`); before login
the only page is the login form. Hiding pages is for comfort: the API enforces every role.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import _nav, _session, _ui

# The pages' modules (Altair, pandas, the analytics constants with scipy behind them) load
# once per server process, while the login page is shown, not when a nurse opens a page.
from dashboard.views import finance, fleet, resident, ward  # noqa: F401

# The icon is a file of ours: a Material icon as favicon is fetched from fonts.gstatic.com,
# which a ward's network may not reach.
_ICON = str(Path(__file__).parent / "static" / "favicon.svg")
st.set_page_config(page_title="StayActive", page_icon=_ICON, layout="wide")
_ui.apply_style()

session = _session.current()
_ui.page_language(session.lang)
if session.idle_expired():
    session.log_out("login.idle_logged_out")
elif session.logged_in:
    # A full run is a user's action (a click, a choice); the self-refreshing parts run as
    # fragments and do not come through here.
    session.touch()

_nav.build(session).run()
