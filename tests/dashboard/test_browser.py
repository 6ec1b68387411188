"""End to end in a real browser: the API and `stayactive dashboard` on loopback, a year of
history for 200 residents on 8 wards, headless Debian Chromium driven by Playwright.

Care staff log in, see the ward overview, open a resident and the fleet; finance log in and
see the finance page and nothing resident-level. Every page must be interactive in under 2 s
(printed); screenshots are saved as test artefacts (``var/test-artifacts/dashboard``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow

from stayactive.api.serve import RunningApi
from stayactive.auth import hash_password
from stayactive.settings import Settings
from tests.dashboard.conftest import PASSWORD
from tests.fixtures.browser import (
    SMALL_TABLET,
    TABLET,
    log_in,
    open_expander,
    served_dashboard,
    settled,
)
from tests.fixtures.dashboard_seed import DashboardTenant, seed_dashboard_tenant
from tests.fixtures.served import served_schema

pytestmark = pytest.mark.slow

BUDGET_S = 2.0
SCENARIO_BUDGET_S = 5.0
TENANT = "dash-big"
ARTIFACTS = Path(os.environ.get("STAYACTIVE_TEST_ARTIFACTS", "var/test-artifacts")) / "dashboard"


@pytest.fixture(scope="module")
def big_world(settings: Settings) -> Iterator[tuple[RunningApi, DashboardTenant]]:
    """200 residents on 8 wards with a year of resident-days, served by the real API."""

    def seed(conn: psycopg.Connection[TupleRow]) -> DashboardTenant:
        return seed_dashboard_tenant(
            conn, TENANT, password_hash=hash_password(PASSWORD), wards=8, residents_per_ward=25,
            days=365,
        )  # fmt: skip

    with served_schema(settings, seed) as served:
        yield served.api, served.seeded


@pytest.fixture(scope="module")
def dashboard_url(big_world: tuple[RunningApi, DashboardTenant]) -> Iterator[str]:
    """`stayactive dashboard` on a free loopback port, pointed at the world's API."""
    api, _ = big_world
    with served_dashboard(api.url, ARTIFACTS / "streamlit.log") as url:
        yield url


def _shot(page: object, name: str, height: int = 1500) -> Path:
    """A screenshot of the whole page (Streamlit scrolls inside its own container, so the
    viewport is made tall for the picture and set back after)."""
    path = ARTIFACTS / f"{name}.png"
    page.set_viewport_size({"width": TABLET["width"], "height": height})  # type: ignore[attr-defined]
    page.wait_for_timeout(400)  # type: ignore[attr-defined]
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    page.set_viewport_size(TABLET)  # type: ignore[attr-defined]
    return path


def _ward_overview_fits(page: Any, viewport: dict[str, int]) -> dict[str, Any]:
    """At ``viewport``: the alert list and the table's alerts column are visible without a
    sideways scroll. The table is drawn on a canvas; its accessibility tree holds a header
    for each column at least partly in view, and its scroller says how wide the whole is."""
    page.set_viewport_size(viewport)
    page.wait_for_timeout(600)  # the grid re-lays itself out
    table = page.evaluate(
        """() => {
        const frame = document.querySelector('[data-testid="stDataFrame"]');
        const scroller = frame.querySelector('.dvn-scroller');
        const box = frame.getBoundingClientRect();
        return {
            headers: [...frame.querySelectorAll('[role=columnheader]')].map(h => h.textContent),
            scroll_width: scroller.scrollWidth, client_width: scroller.clientWidth,
            left: box.left, right: box.right,
        };
    }"""
    )
    cards = [page.locator(".sa-card").nth(i).bounding_box() for i in range(2)]
    buttons = [page.get_by_role("button", name="Håndtert").nth(i).bounding_box() for i in range(2)]
    for box in (*cards, *buttons):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert table["left"] >= 0 and table["right"] <= viewport["width"], table
    # A column after the alerts is (partly) drawn, so the alerts column is wholly in view.
    assert table["headers"][:3] == ["Beboer", "Varsler", "Rom"], table
    page.set_viewport_size(TABLET)
    return dict(table)


def _finance_opened(browser: Any, url: str) -> tuple[Any, Any, float]:
    """A fresh browser context (another person), logged in as finance; the seconds until the
    finance page is settled."""
    context = browser.new_context(viewport=TABLET, locale="nb-NO")
    page = context.new_page()
    t0 = log_in(page, url + "/", f"{TENANT}-finance", PASSWORD)
    settled(page, "Rapport (PDF)", timeout_s=120)
    return context, page, time.perf_counter() - t0


def test_care_staff_and_finance_in_the_browser(
    browser: object,
    dashboard_url: str,
    big_world: tuple[RunningApi, DashboardTenant],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, tenant = big_world
    timings: dict[str, float] = {}
    context = browser.new_context(viewport=TABLET, locale="nb-NO")  # type: ignore[attr-defined]
    page = context.new_page()

    # Login page first: bokmål by default.
    page.goto(dashboard_url + "/")
    page.get_by_label("Brukernavn").wait_for(timeout=30_000)
    _shot(page, "01-login")

    # Care staff: the ward overview.
    t0 = log_in(page, dashboard_url + "/", f"{TENANT}-care", PASSWORD)
    settled(page, "Trykk på en rad for å åpne beboeren")
    timings["ward overview (after login)"] = time.perf_counter() - t0
    body = page.inner_text("body")
    assert "Beboere (25)" in body
    assert any(name in body for name in tenant.named.values())
    assert "Økonomi" not in page.inner_text("[data-testid='stSidebarNav']")
    # Readable on the tablet: at 1280 × 800 the whole table fits (no sideways scroll); at
    # 1024 × 768 the alerts still do, right after the name.
    page.locator("[data-testid='stDataFrame'] canvas").first.wait_for()
    wide = _ward_overview_fits(page, TABLET)
    assert wide["scroll_width"] <= wide["client_width"], wide
    assert "Dekning" in wide["headers"], wide
    _ward_overview_fits(page, SMALL_TABLET)
    _shot(page, "02-ward-overview")

    # An alert marked handled with a note: who and when are recorded and shown.
    page.get_by_role("button", name="Håndtert").first.click()
    page.get_by_label("Hva ble gjort?").fill("Hjulpet opp, gikk til stua")
    page.get_by_role("button", name="Lagre").click()
    page.get_by_text("er merket som håndtert").first.wait_for(timeout=30_000)
    # Opened once the rerun after saving is over (a click during it is lost on a busy box).
    settled(page, "Håndterte varsler (1)")
    open_expander(page, "Håndterte varsler (1)")
    handled = page.get_by_text(f"håndtert av {TENANT}-care").first
    handled.wait_for(timeout=30_000)
    assert "Hjulpet opp, gikk til stua" in handled.inner_text()

    # A resident.
    t0 = time.perf_counter()
    page.get_by_role("link", name="Beboer").click()
    settled(page, "Grå markering: ingen data")
    timings["resident"] = time.perf_counter() - t0
    body = page.inner_text("body")
    assert "dag " in body and "av oppholdet" in body
    _shot(page, "03-resident")
    page.get_by_role("tab", name="Ganghastighet").click()
    page.get_by_text("Ganghastighet (median per dag)").wait_for()
    _shot(page, "04-resident-gait")

    # The fleet.
    t0 = time.perf_counter()
    page.get_by_role("link", name="Utstyr").click()
    settled(page, "Alt utstyr", selector="[data-testid='stDataFrame']")
    timings["fleet"] = time.perf_counter() - t0
    body = page.inner_text("body")
    assert f"Ingen data fra denne rullatoren ({tenant.quiet_device}) siden" in body
    _shot(page, "05-fleet")

    # Back to the ward overview: a page switch with the session warm.
    t0 = time.perf_counter()
    page.get_by_role("link", name="Avdelingsoversikt").click()
    settled(page, "Trykk på en rad for å åpne beboeren")
    timings["ward overview"] = time.perf_counter() - t0

    # Log out: a reload asks for the login again.
    page.get_by_role("button", name="Logg ut").click()
    page.get_by_label("Brukernavn").wait_for()
    assert "Du er logget ut" in page.inner_text("body")
    context.close()

    # Finance, in a fresh browser context (a different person). The first open after new
    # data computes the published report (10,000 resamples) at the API.
    context, page, seconds = _finance_opened(browser, dashboard_url)
    timings["finance (after login, report computed)"] = seconds
    body = page.inner_text("body")
    assert "UTKAST – ikke for beslutning" in body
    assert "Verdi av frigjort kapasitet" in body and "Sikker kontanteffekt" in body
    assert "P(netto < 0) = 0," in body and "Frigjort kapasitet:" in body
    assert "Design og avgjørende forutsetninger" in body
    assert "Reinnleggelser" in body and "Last ned" in body
    nav = (
        page.inner_text("[data-testid='stSidebarNav']")
        if page.query_selector("[data-testid='stSidebarNav']")
        else ""
    )
    assert "Avdelingsoversikt" not in nav and "Beboer" not in nav
    html = page.content()
    assert f"{TENANT[:8]}-w" not in html  # no pseudonym (they start with the tenant id)
    assert not any(name in html for name in tenant.named.values())
    _shot(page, "06-finance", height=3000)

    # A scenario: half the measured effect, recomputed by the API.
    page.get_by_text("Scenario: endre forutsetningene").click()
    page.get_by_text("Beregn scenario").wait_for()
    page.get_by_label("Kostnad per liggedøgn (kr)").fill("3500")
    t0 = time.perf_counter()
    page.get_by_role("button", name="Beregn scenario").click()
    settled(page, "ikke for beslutning", selector="text=Publisert og scenario side om side")
    timings["finance scenario (1,000 resamples)"] = time.perf_counter() - t0
    page.get_by_text("Publisert og scenario side om side").scroll_into_view_if_needed()
    _shot(page, "07-finance-scenario", height=3000)
    page.reload()
    page.get_by_label("Brukernavn").wait_for(timeout=30_000)  # a reload asks for login again
    context.close()

    # Finance again (another person, or the next morning): the report comes from memory.
    context, page, seconds = _finance_opened(browser, dashboard_url)
    timings["finance (after login, report from memory)"] = seconds
    context.close()

    with capsys.disabled():
        print("\npage interactive in the browser (200 residents, 8 wards, 365 days):")
        for name, seconds in timings.items():
            print(f"  {name:32} {seconds:6.2f} s")
    # Logging in costs an argon2 verification at the API on top of the page, and a scenario
    # is a computation (1,000 resamples) rather than a page: printed, and the page switches
    # held to the 2 s budget; a scenario to SCENARIO_BUDGET_S.
    pages = {k: v for k, v in timings.items() if "login" not in k and "scenario" not in k}
    slow = {k: v for k, v in pages.items() if v > BUDGET_S}
    assert not slow, f"over {BUDGET_S} s: {slow}"
    scenario = timings["finance scenario (1,000 resamples)"]
    assert scenario < SCENARIO_BUDGET_S, f"scenario {scenario:.2f} s"
