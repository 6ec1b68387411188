"""What a role without dashboard pages (integrator) sees."""

from __future__ import annotations

import streamlit as st

from dashboard import _session


def render() -> None:
    """The page."""
    session = _session.current()
    st.title(session.t("nav.none"), anchor=False)
    st.info(session.t("account.no_pages"), icon=":material/api:")


if __name__ == "__main__":  # run as a page of st.navigation
    render()
