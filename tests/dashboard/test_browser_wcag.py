"""Each page of the dashboard against WCAG 2.1 A and AA, as axe-core checks it (Deque's
engine, bundled by axe-playwright-python), in a real browser (headless Debian Chromium) on a
tablet. Norwegian public bodies must meet WCAG 2.1 AA in their web
solutions (forskrift om universell utforming av IKT-løsninger, § 4)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.dashboard.conftest import PASSWORD, DashWorld
from tests.fixtures.browser import TABLET, log_in, open_expander, settled

pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("STAYACTIVE_TEST_ARTIFACTS", "var/test-artifacts")) / "dashboard"
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _handled_dialog(page: Any) -> None:
    page.get_by_role("button", name=re.compile("^Håndtert")).first.click()
    page.get_by_role("dialog").get_by_role("button", name="Lagre").wait_for(timeout=30_000)


def _finance_opened(page: Any) -> None:
    for title in ("Effekt per opphold", "Kontroll av sammenligningen", "Parametre",
                  "Scenario: endre forutsetningene"):  # fmt: skip
        open_expander(page, title)


PAGES = [
    # (role, address, a text the page shows when it is ready, then what is opened on it)
    (None, "/", "Logg inn", None),
    ("care", "/", "Trenger oppfølging", None),
    ("care", "/", "Trenger oppfølging", _handled_dialog),
    ("care", "/resident", "Varsler og samtykke", None),
    ("care", "/fleet", "Alt utstyr", None),
    ("finance", "/", "Rapport (PDF)", _finance_opened),
    ("admin", "/", "Trenger oppfølging", None),
]


def _says_language(page: Any, code: str, timeout_s: float = 30) -> None:
    """Wait until the page tells the browser it is in ``code``. Our script that says so is an
    ``st.html`` element, whose renderer Streamlit loads on demand: on a cold, busy browser the
    page's texts can show before it has run, so the language is waited for, not read once."""
    try:
        page.wait_for_function(
            "code => document.documentElement.lang === code", arg=code, timeout=timeout_s * 1000
        )
    except PlaywrightTimeout as error:
        found = page.evaluate("document.documentElement.lang")
        raise AssertionError(
            f"the page says lang={found!r}, not {code!r}, after {timeout_s:g} s"
        ) from error


def _violations(page: Any, name: str) -> list[str]:
    """What axe-core finds against WCAG 2.1 A and AA, one line per rule (all of it kept as
    JSON under the test artifacts)."""
    found = Axe().run(page, options=WCAG_21_AA).response["violations"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"wcag-{name}.json").write_text(json.dumps(found, indent=1, ensure_ascii=False))
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(n["target"]) for n in v["nodes"][:4])
        for v in found
    ]


@pytest.mark.parametrize(("role", "path", "ready", "opened"), PAGES)
def test_each_page_meets_wcag_21_aa(
    browser: Any, small_dashboard_url: str, dash_world: DashWorld, role: str | None, path: str,
    ready: str, opened: Callable[[Any], None] | None,
) -> None:  # fmt: skip
    context = browser.new_context(viewport=TABLET, locale="nb-NO")
    try:
        page = context.new_page()
        if role is None:
            page.goto(small_dashboard_url + path)
        else:
            log_in(page, small_dashboard_url + path, dash_world.user(role), PASSWORD)
        settled(page, ready, timeout_s=120)
        if opened is not None:
            opened(page)
        _says_language(page, "nb")
        state = opened.__name__.strip("_") if opened else path.strip("/") or "start"
        found = _violations(page, f"{role or 'login'}-{state}")
        assert not found, "\n".join(found)
    finally:
        context.close()


def test_the_english_login_page_says_it_is_english(browser: Any, small_dashboard_url: str) -> None:
    context = browser.new_context(viewport=TABLET, locale="nb-NO")
    try:
        page = context.new_page()
        page.goto(small_dashboard_url + "/")
        settled(page, "Logg inn", timeout_s=120)
        _says_language(page, "nb")
        page.get_by_text("English", exact=True).click()
        settled(page, "Log in", timeout_s=60)
        _says_language(page, "en")
        found = _violations(page, "login-en")
        assert not found, "\n".join(found)
    finally:
        context.close()
