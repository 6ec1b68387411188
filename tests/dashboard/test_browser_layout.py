"""What a nurse sees on a tablet, in a real browser (headless Debian Chromium, Playwright):
the labels of the controls are whole, not cut off with an ellipsis, held landscape and
portrait."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.dashboard.conftest import PASSWORD, DashWorld
from tests.fixtures.browser import SMALL_TABLET, log_in, settled

pytestmark = pytest.mark.slow

PORTRAIT = {"width": 768, "height": 1024}

#: The texts under the toggle cut off with an ellipsis: the text is wider than its box.
_CUT = """() => [...document.querySelectorAll('[data-testid="stCheckbox"] *')]
    .filter(e => getComputedStyle(e).textOverflow === 'ellipsis' && e.textContent.trim())
    .filter(e => {
        const range = document.createRange();
        range.selectNodeContents(e);
        return range.getBoundingClientRect().width > e.getBoundingClientRect().width + 0.5;
    })
    .map(e => e.textContent)"""


@pytest.mark.parametrize("viewport", [SMALL_TABLET, PORTRAIT], ids=["1024x768", "768x1024"])
def test_the_fleet_filter_label_is_whole_on_a_tablet(
    browser: object, small_dashboard_url: str, dash_world: DashWorld, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport, locale="nb-NO")  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        log_in(page, small_dashboard_url + "/fleet", dash_world.user("care"), PASSWORD)
        settled(page, "Bare utstyr med problemer", timeout_s=120)
        page.wait_for_timeout(500)  # the columns lay themselves out
        assert page.get_by_text("Bare utstyr med problemer").first.is_visible()
        assert page.evaluate(_CUT) == []
    finally:
        context.close()


def test_the_pages_ask_no_other_host_for_anything(
    browser: object, small_dashboard_url: str, dash_world: DashWorld
) -> None:
    """A ward's network may reach the dashboard and nothing else: the login page and the ward
    overview (charts, icons, favicon) load from the dashboard alone."""
    context = browser.new_context(viewport=SMALL_TABLET, locale="nb-NO")  # type: ignore[attr-defined]
    asked: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda request: asked.append(request.url))
        log_in(page, small_dashboard_url, dash_world.user("care"), PASSWORD)
        settled(page, "Trenger oppfølging", timeout_s=120)
        page.wait_for_timeout(1000)  # the favicon and the lazy parts
        host = urlsplit(small_dashboard_url).netloc
        elsewhere = [u for u in asked if urlsplit(u).scheme in {"http", "https", "ws", "wss"}
                     and urlsplit(u).netloc != host]  # fmt: skip
        assert asked and elsewhere == [], elsewhere
    finally:
        context.close()
