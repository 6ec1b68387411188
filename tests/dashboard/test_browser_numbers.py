"""Numbers on the charts as a reader of bokmål sees them in a real browser (headless Debian
Chromium, Playwright): the axis labels are drawn by Vega, whose own format is English, so the
dashboard rewrites them; they must read like the texts beside them ("80 %", not "80%")."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import PASSWORD, DashWorld
from tests.fixtures.browser import SMALL_TABLET, logged_in

pytestmark = pytest.mark.slow


def test_the_percent_axis_of_the_finance_curves_reads_the_bokmal_way(
    browser: object, small_dashboard_url: str, dash_world: DashWorld
) -> None:
    user = dash_world.user("finance")
    url = small_dashboard_url + "/"
    with logged_in(browser, url, user, PASSWORD, "Rapport (PDF)", SMALL_TABLET) as page:
        chart = page.locator("[data-testid='stVegaLiteChart']").first
        chart.get_by_text("Fortsatt i opphold").first.wait_for(timeout=30_000)
        labels = chart.inner_text()
    assert "100\u00a0%" in labels and "20\u00a0%" in labels, labels
    assert "100%" not in labels, labels
