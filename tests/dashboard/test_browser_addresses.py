"""The dashboard's addresses in a real browser (headless Debian Chromium, Playwright): a page's
address opened before login (a reload, a bookmark, a link in a message) asks for the login in
bokmål, never with Streamlit's English "Page not found", and then opens that page or, outside
the role, the role's first page. The small seeded tenant of ``conftest.py``, served by the API.
"""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import PASSWORD, DashWorld
from tests.fixtures.browser import SMALL_TABLET, log_in, settled

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("role", "path", "lands_on", "text"),
    [
        ("care", "/fleet", "/fleet", "Alt utstyr"),
        # The address's day survives the login (a day with no data).
        ("care", "/?date=2020-01-01", "/?date=2020-01-01", "Uten data den dagen"),
        ("care", "/resident", "/resident", "Varsler og samtykke"),
        # Outside the role: the role's first page, at its own address.
        ("care", "/finance", "/", "Trenger oppfølging"),
        ("finance", "/ward", "/", "Rapport (PDF)"),
    ],
)
def test_a_page_address_before_login_asks_for_the_login_then_opens_the_page(
    browser: object,
    small_dashboard_url: str,
    dash_world: DashWorld,
    role: str,
    path: str,
    lands_on: str,
    text: str,
) -> None:
    context = browser.new_context(viewport=SMALL_TABLET, locale="nb-NO")  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(small_dashboard_url + path)
        page.get_by_label("Brukernavn").wait_for(timeout=30_000)
        settled(page, "Logg inn")
        assert page.get_by_text("Page not found").count() == 0
        log_in(page, small_dashboard_url + path, dash_world.user(role), PASSWORD)
        settled(page, text, timeout_s=120)
        assert page.get_by_text("Page not found").count() == 0
        assert page.url == small_dashboard_url + lands_on
    finally:
        context.close()
