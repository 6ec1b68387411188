"""Fixtures of the dashboard tests: a seeded tenant served by the real API on a free loopback
port, and the dashboard run by Streamlit's AppTest against it (no browser)."""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow
from streamlit.testing.v1 import AppTest

from stayactive.api.serve import RunningApi
from stayactive.auth import hash_password
from stayactive.settings import Settings, get_settings
from tests.fixtures.browser import served_dashboard
from tests.fixtures.dashboard_seed import DashboardTenant, seed_dashboard_tenant
from tests.fixtures.served import served_schema

PASSWORD = "correct horse battery staple"
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TENANT = "dash-a"
#: A tenant whose evaluation walkers never sent data: its report honestly has no effect.
NOT_ESTIMABLE = "dash-n"


@dataclass
class DashWorld:
    """A seeded tenant in a schema of its own, served by a running API."""

    settings: Settings
    api: RunningApi
    tenant: DashboardTenant

    def user(self, role: str, tenant: str = TENANT) -> str:
        """The username of ``role`` (care = care staff of the first ward)."""
        return f"{tenant}-{role}"


@pytest.fixture(scope="package")
def dash_world(settings: Settings) -> Iterator[DashWorld]:
    """One world for the dashboard tests (they only read, apart from handling alerts)."""

    def seed(conn: psycopg.Connection[TupleRow]) -> DashboardTenant:
        hashed = hash_password(PASSWORD)
        tenant = seed_dashboard_tenant(conn, TENANT, password_hash=hashed)
        seed_dashboard_tenant(
            conn, NOT_ESTIMABLE, password_hash=hashed, wards=1, evaluation_walkers_used=False
        )
        return tenant

    with served_schema(settings, seed) as served:
        yield DashWorld(served.settings, served.api, served.seeded)


@pytest.fixture(scope="package")
def small_dashboard_url(dash_world: DashWorld) -> Iterator[str]:
    """`stayactive dashboard` on a free loopback port, pointed at the world's API (for the
    browser tests of the small tenant)."""
    artifacts = Path(os.environ.get("STAYACTIVE_TEST_ARTIFACTS", "var/test-artifacts"))
    with served_dashboard(
        dash_world.api.url, artifacts / "dashboard" / "streamlit-small.log"
    ) as url:
        yield url


@pytest.fixture
def dashboard_env(dash_world: DashWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[DashWorld]:
    """The process's settings point the dashboard at the world's API."""
    monkeypatch.setenv("STAYACTIVE_DASHBOARD_API_URL", dash_world.api.url)
    get_settings.cache_clear()
    yield dash_world
    get_settings.cache_clear()


@pytest.fixture
def app(dashboard_env: DashWorld) -> Iterator[AppTest]:
    """A fresh dashboard session (what a new browser tab gets), already run once."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    yield at
    session = (
        at.session_state["stayactive_session"]  # noqa: SIM401 (AppTest state has no .get)
        if "stayactive_session" in at.session_state
        else None
    )
    if session is not None and session.client is not None:
        session.client.close()


def log_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    """Fill in the login form and submit it."""
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click().run()
    return at


def page_text(at: AppTest) -> str:
    """Every text the page shows (main area and sidebar), for "never shows X" checks."""
    parts: list[str] = []
    for node in (*at.main, *at.sidebar):
        # The element's message holds everything sent to the browser: texts, chart data, help.
        parts.append(str(getattr(node, "proto", "")))
    for frame in (*at.dataframe, *at.table):
        parts.append(frame.value.to_csv())
    shown = "\n".join(parts)
    # Texts escaped for markdown ("bed\\-days", written with its backslash doubled in the
    # message) are also there as they read.
    return shown + "\n" + shown.replace("\\\\", "")


#: A text full of markdown (a display name, a reason): bold, a link, emphasis, HTML and a
#: Streamlit icon directive.
MARKDOWN_TEXT = "**Kari** [klikk](https://evil.example) _Nord*mann_ <b>x</b> :material/warning:"


def shows_as_text(markdown: str, text: str) -> bool:
    """Whether ``markdown`` is ``text`` with every ASCII punctuation mark backslash-escaped
    (CommonMark then shows each one as itself: no bold, no link, no tag)."""
    out, i = [], 0
    while i < len(markdown):
        c = markdown[i]
        if c == "\\" and i + 1 < len(markdown):
            out.append(markdown[i + 1])
            i += 2
            continue
        if c in string.punctuation:
            return False  # an unescaped mark: markdown would act on it
        out.append(c)
        i += 1
    return "".join(out) == text


def unescaped(markdown: str) -> str:
    """``markdown`` as it reads: the backslash before each escaped punctuation mark removed."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)
