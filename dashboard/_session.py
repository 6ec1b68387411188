"""The logged-in user's session, kept server-side in ``st.session_state`` only.

Nothing of it reaches the URL or a cookie: a reload of the browser tab starts a new Streamlit
session and so asks for the login again. The session ends

* on logout (the API revokes its server-side session, so the token is dead at once),
* after :attr:`Settings.dashboard_idle_timeout_s` without a touch — a tablet left in the
  corridor logs itself out; the pages' self-refreshing parts do not count as a touch,
* when the API answers 401 (expired, revoked, account disabled).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, cast

import streamlit as st

from dashboard._client import ApiClient, forwarded_for
from dashboard._i18n import DEFAULT_LANG, Lang, translate
from stayactive.settings import get_settings

log = logging.getLogger(__name__)

_KEY = "stayactive_session"


@dataclass
class Session:
    """What one browser session knows: language, and after login the client and the user."""

    lang: Lang = DEFAULT_LANG
    client: ApiClient | None = None
    me: dict[str, Any] | None = None
    last_touch: float = field(default_factory=time.monotonic)
    #: A message for the login page (why the last session ended), shown once.
    notice: str | None = None
    #: Page-to-page choices: the ward and resident in view.
    ward_id: int | None = None
    resident_id: int | None = None

    @property
    def logged_in(self) -> bool:
        """True while the client holds a token and ``/me`` was read."""
        return self.client is not None and self.client.logged_in and self.me is not None

    @property
    def role(self) -> str | None:
        """The user's role (``care_staff``, ``finance``, ``admin``, ``integrator``)."""
        return None if self.me is None else str(self.me["role"])

    @property
    def time_zone(self) -> str:
        """The tenant's time zone: every time on the pages is shown in it."""
        return "Europe/Oslo" if self.me is None else str(self.me["time_zone"])

    def t(self, key: str, **values: Any) -> str:
        """A text in the session's language."""
        return translate(self.lang, key, **values)

    def touch(self) -> None:
        """The user did something: the idle timeout starts again."""
        self.last_touch = time.monotonic()

    def idle_s(self) -> float:
        """Seconds since the last touch."""
        return time.monotonic() - self.last_touch

    def idle_expired(self) -> bool:
        """True if the session has been idle longer than the timeout."""
        return self.logged_in and self.idle_s() > get_settings().dashboard_idle_timeout_s

    def log_in(self, username: str, password: str) -> None:
        """Log in at the API and read who the user is; raises the client's errors."""
        # The browser's address, so that the API throttles failed logins per person and not
        # per dashboard (docs/api.md, "Logging in").
        # (Without a browser, under AppTest, the context's address is a stand-in, not text.)
        peer = st.context.ip_address
        forwarded = forwarded_for(
            st.context.headers.get_all("X-Forwarded-For"), peer if isinstance(peer, str) else None
        )
        client = ApiClient(get_settings().api_base_url(), lang=self.lang, forwarded=forwarded)
        try:
            client.log_in(username, password)
            me = client.me()
        except Exception:
            client.close()
            raise
        self.client, self.me, self.notice = client, me, None
        self.ward_id = self.resident_id = None
        self.touch()
        log.info("dashboard login of %s (%s)", me.get("username"), me.get("role"))

    def log_out(self, notice_key: str | None = None) -> None:
        """End the session at the API and here; ``notice_key`` says why on the login page."""
        if self.client is not None:
            self.client.log_out()
            self.client.close()
        self.client = self.me = None
        self.ward_id = self.resident_id = None
        self.notice = self.t(notice_key) if notice_key else None

    def set_lang(self, lang: Lang) -> None:
        """Switch language; the API is asked for texts in it from the next call on."""
        self.lang = lang
        if self.client is not None:
            self.client.lang = lang


def current() -> Session:
    """This browser session's :class:`Session` (created on first use)."""
    if _KEY not in st.session_state:
        st.session_state[_KEY] = Session()
    return cast(Session, st.session_state[_KEY])


def api() -> ApiClient:
    """The logged-in client; the pages run only after login, so it exists."""
    client = current().client
    if client is None:
        raise RuntimeError("a page ran without a login")
    return client
