"""The login page: username and password against ``POST /api/v1/auth/token``."""

from __future__ import annotations

import streamlit as st

from dashboard import _session
from dashboard._client import ApiError, ApiUnavailable, LoginLocked, NotAuthenticated
from dashboard._i18n import LANGUAGES, Lang


def _language_picker(session: _session.Session) -> None:
    options: list[Lang] = list(LANGUAGES)
    choice = st.segmented_control(
        session.t("account.language"),
        options,
        default=session.lang,
        format_func=lambda code: LANGUAGES[code],
        key="login_lang",
        label_visibility="collapsed",
    )
    if choice and choice != session.lang:
        session.set_lang(choice)
        st.rerun()


def render() -> None:
    """The login form; a notice says why the previous session ended."""
    session = _session.current()
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title(session.t("login.title"), anchor=False)
        st.caption(session.t("login.subtitle"))
        _language_picker(session)
        if session.notice:
            st.info(session.notice, icon=":material/lock_clock:")
        with st.form("login", border=True):
            username = st.text_input(session.t("login.username"), autocomplete="username")
            password = st.text_input(
                session.t("login.password"), type="password", autocomplete="current-password"
            )
            submitted = st.form_submit_button(
                session.t("login.submit"), type="primary", width="stretch"
            )
        st.caption(session.t("login.shared_device"))
    if not submitted:
        return
    if not username.strip() or not password:
        middle.warning(session.t("login.missing"))
        return
    try:
        session.log_in(username.strip(), password)
    except LoginLocked as exc:
        middle.error(session.t("login.locked", minutes=max(1, round(exc.retry_after_s / 60))))
        return
    except NotAuthenticated:
        middle.error(session.t("login.failed"))
        return
    except ApiUnavailable:
        middle.error(session.t("error.unavailable"))
        return
    except ApiError as exc:
        middle.error(session.t("error.other", detail=exc.detail))
        return
    st.rerun()


if __name__ == "__main__":  # run as a page of st.navigation
    render()
