"""What a screen reader and a nurse's eyes get from the ward overview in a real browser
(headless Debian Chromium, Playwright, a 1024 × 768 tablet): no English "Link to heading"
beside the headings, every "Håndtert" button named for its alert and resident, and the no-data
card marked by a solid bar (a dashed border on a rounded card drew as a few dashes)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import PASSWORD, DashWorld
from tests.fixtures.browser import SMALL_TABLET, log_in, settled

pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("STAYACTIVE_TEST_ARTIFACTS", "var/test-artifacts")) / "dashboard"

#: The left border of an alert card of each kind as the browser draws it (a card made for
#: the kinds the tenant has no open alert of; the page's own stylesheet styles it).
_BORDERS = """() => ['sa-urgent', 'sa-warn', 'sa-device', 'sa-nodata'].map(kind => {
    const card = document.createElement('div');
    card.className = 'sa-card sa-compact ' + kind;
    card.textContent = 'probe';
    document.querySelector('[data-testid="stMain"]').appendChild(card);
    const s = getComputedStyle(card);
    const out = {kind, style: s.borderLeftStyle, color: s.borderLeftColor,
                 width: parseFloat(s.borderLeftWidth), edge: s.borderTopColor};
    card.remove();
    return out;
})"""


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # type: ignore[attr-defined]


@contextlib.contextmanager
def _ward_overview(browser: Any, url: str, dash_world: DashWorld) -> Iterator[Any]:
    """A fresh context on a 1024 × 768 tablet, care staff logged in: the ward overview."""
    context = browser.new_context(viewport=SMALL_TABLET, locale="nb-NO")
    try:
        page = context.new_page()
        log_in(page, url + "/", dash_world.user("care"), PASSWORD)
        settled(page, "Trenger oppfølging", timeout_s=120)
        yield page
    finally:
        context.close()


def test_the_ward_overview_reads_well_to_a_screen_reader(
    browser: object, small_dashboard_url: str, dash_world: DashWorld
) -> None:
    with _ward_overview(browser, small_dashboard_url, dash_world) as page:
        page.locator(".sa-card").first.wait_for(timeout=30_000)
        page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=30_000)
        # The headings are there, with no anchor link beside them.
        assert page.get_by_role("heading", name=re.compile("^Trenger oppfølging")).count() == 1
        assert page.get_by_role("link", name="Link to heading").count() == 0
        assert page.locator("[data-testid='stHeaderActionElements'] a").count() == 0

        # Each card's button is named for the alert and the resident the card names.
        cards = page.locator(".sa-card.sa-compact")
        names = [cards.nth(i).locator("b").inner_text() for i in range(cards.count())]
        buttons = page.get_by_role("button", name=re.compile("^Håndtert"))
        assert buttons.count() == len(names) >= 1  # test_pages may have handled one
        for name in set(names):
            named = page.get_by_role(
                "button", name=re.compile(rf"^Håndtert – varselet «[^»]+» for {re.escape(name)}$")
            )
            assert named.count() == names.count(name), name
        # To the eye the button still says just "Håndtert": the rest takes no room.
        first = page.locator("[class*='st-key-handle_'] button").first
        shown = first.locator("[data-testid='stMarkdownContainer']").first
        assert shown.is_visible() and "Håndtert" in shown.inner_text()
        hidden = first.locator("strong").bounding_box()
        assert hidden is not None and hidden["width"] <= 1 and hidden["height"] <= 1
        box = first.bounding_box()
        assert box is not None and box["x"] + box["width"] <= SMALL_TABLET["width"]
        _shot(page, "a11y-ward-1024x768")

        # The no-data card: a solid bar of a colour no other alert has, unlike its edges.
        borders = {b["kind"]: b for b in page.evaluate(_BORDERS)}
        nodata = borders["sa-nodata"]
        assert nodata["style"] == "solid" and nodata["width"] >= 6, nodata
        others = {b["color"] for k, b in borders.items() if k != "sa-nodata"}
        assert nodata["color"] not in others | {nodata["edge"]}, borders
        if page.locator(".sa-nodata").count():
            page.locator(".sa-nodata").first.scroll_into_view_if_needed()
            _shot(page, "a11y-ward-nodata-1024x768")


def test_the_handled_dialog_asks_for_a_note(
    browser: object, small_dashboard_url: str, dash_world: DashWorld
) -> None:
    with _ward_overview(browser, small_dashboard_url, dash_world) as page:
        page.get_by_role("button", name=re.compile("^Håndtert")).first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("button", name="Lagre").click()
        dialog.get_by_text("Skriv hva som ble gjort før du lagrer.").wait_for(timeout=30_000)
        assert dialog.get_by_role("textbox", name="Hva ble gjort?").is_visible()
        assert page.get_by_text("er merket som håndtert").count() == 0
        _shot(page, "a11y-ward-note-required-1024x768")
