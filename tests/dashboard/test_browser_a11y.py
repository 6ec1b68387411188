"""What a screen reader and a nurse's eyes get from the ward overview in a real browser
(headless Debian Chromium, Playwright, a 1024 × 768 tablet): no English "Link to heading"
beside the headings, every "Håndtert" button named for its alert and resident, and the no-data
card marked by a solid bar (a dashed border on a rounded card drew as a few dashes). And what
the charts' SVG marks say as Vega draws them: bokmål sentences from the rows, never Vega's
field names or its English axis sentences."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dashboard._client import ApiClient
from dashboard._format import day_label
from dashboard.views.ward import resident_name
from stayactive.locale_format import format_number
from tests.dashboard.conftest import PASSWORD, DashWorld
from tests.fixtures.browser import SMALL_TABLET, TABLET, log_in, logged_in, settled

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
    user = dash_world.user("care")
    with logged_in(browser, url + "/", user, PASSWORD, "Trenger oppfølging", SMALL_TABLET) as page:
        yield page


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
        # Waited for, not read at once: Streamlit may draw the dialog again as the text appears.
        dialog.get_by_role("textbox", name="Hva ble gjort?").wait_for(timeout=30_000)
        assert page.get_by_text("er merket som håndtert").count() == 0
        _shot(page, "a11y-ward-note-required-1024x768")


#: What each chart's marks, axes and legends say to a screen reader, by kind: a list of
#: aria-labels per ``aria-roledescription`` (Vega's "bar", "tick", "axis", "rule mark", …).
_SPOKEN = """() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"] svg'))
    .map(svg => {
        const said = {};
        for (const e of svg.querySelectorAll('[aria-label]')) {
            const kind = e.getAttribute('aria-roledescription') || '';
            (said[kind] = said[kind] || []).push(e.getAttribute('aria-label'));
        }
        return said;
    })"""
#: Words of Vega's own descriptions: field names, time units and its English sentences.
_VEGA_WORDS = re.compile(r"date|steps|year-month|[XY]-axis|scale|legend titled|\bt:")


def _spoken(page: Any, n_charts: int) -> list[dict[str, list[str]]]:
    """What each chart on the page says, once ``n_charts`` charts are drawn."""
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] svg "
        "[aria-roledescription=\"axis\"]').length >= 2 * n",
        arg=n_charts, timeout=30_000,
    )  # fmt: skip
    said: list[dict[str, list[str]]] = page.evaluate(_SPOKEN)
    return said


def _first_resident_days(dash_world: DashWorld) -> tuple[str, list[dict[str, Any]]]:
    """The resident the page opens with (the first of the ward by name) and a year of days."""
    client = ApiClient(dash_world.api.url)
    try:
        client.log_in(dash_world.user("care"), PASSWORD)
        me = client.me()
        overview = client.ward_overview(int(me["wards"][0]["ward_id"]))
        first = sorted(overview["residents"], key=resident_name)[0]
        today = datetime.now(ZoneInfo(me["time_zone"])).date()
        resident_id, start = int(first["resident_id"]), today - timedelta(days=365)
        days: list[dict[str, Any]] = client.resident_days(resident_id, start, today)["days"]
    finally:
        client.close()
    return resident_name(first), days


def test_the_steps_chart_says_each_day_and_its_steps_in_bokmal(
    browser: object, small_dashboard_url: str, dash_world: DashWorld
) -> None:
    name, days = _first_resident_days(dash_world)
    with_data = {
        f"{day_label(date.fromisoformat(d['date']), 'nb')}; Skritt: "
        f"{format_number(d['steps'], 0, language='nb')}"
        for d in days if d.get("has_data") and d.get("steps") is not None
    }  # fmt: skip
    without = {
        f"{day_label(date.fromisoformat(d['date']), 'nb')}; Skritt: Ingen data"
        for d in days if not d.get("has_data") or d.get("steps") is None
    }  # fmt: skip
    context = browser.new_context(viewport=TABLET, locale="nb-NO")  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        log_in(page, small_dashboard_url + "/resident", dash_world.user("care"), PASSWORD)
        settled(page, "Grå markering: ingen data", timeout_s=120)
        assert page.get_by_role("heading", name=name).count() == 1  # the resident asked about
        steps, walking = _spoken(page, 2)
        # Each bar: the day and its steps as the page writes them ("tir. 10.11.; Skritt:
        # 1 320"), a day of the API's; never Vega's "date (year-month-date): …; steps: 1320".
        bars = steps["bar"]
        assert len(bars) >= 5 and set(bars) <= with_data, sorted(set(bars) - with_data)[:5]
        assert set(steps.get("tick", [])) <= without, steps.get("tick")
        assert steps["axis"] == ["Dato", "Skritt"], steps["axis"]
        # The own-level line says what it is and its value.
        (level,) = steps["rule mark"]
        assert re.fullmatch(r"eget nivå; Skritt: \d[\d\u00a0]*", level), level
        assert walking["axis"] == ["Dato", "Minutter"], walking["axis"]
        assert all(re.search(r"; Minutter: \d+\u00a0min$", b) for b in walking["bar"]), walking
        said = [
            label for chart in (steps, walking) for labels in chart.values() for label in labels
        ]
        assert not [s for s in said if _VEGA_WORDS.search(s)], said[:5]

        # Gait speed: the points say each day, the line is silent, the 0.8 m/s line its label.
        page.get_by_role("tab", name="Ganghastighet").click()
        page.get_by_text("Ganghastighet (median per dag)").wait_for(timeout=30_000)
        gait = _spoken(page, 3)[2]
        assert gait["rule mark"] == ["0,8\u00a0m/s: kan ferdes ute"], gait
        assert "line mark" not in gait and "text mark" not in gait, gait
        assert gait["point"] and all(
            re.fullmatch(r"\w{3}\. \d\d\.\d\d\.(: [^;]+)?; Ganghastighet: \d,\d\d\u00a0m/s", p)
            for p in gait["point"]
        ), gait["point"]
        assert gait["axis"] == ["Dato", "Ganghastighet"], gait["axis"]
    finally:
        context.close()


def test_the_finance_charts_say_groups_and_both_ends_in_bokmal(
    browser: object, small_dashboard_url: str, dash_world: DashWorld
) -> None:
    user = dash_world.user("finance")
    url = small_dashboard_url + "/"
    with logged_in(browser, url, user, PASSWORD, "Rapport (PDF)", TABLET) as page:
        curves, tornado = _spoken(page, 2)
        # A curve (one path) says its group and where it ends; the band is silent.
        lines = curves["line mark"]
        assert len(lines) >= 2 and "area mark" not in curves, curves
        assert all(
            re.fullmatch(
                r"[^;]+; Fortsatt i opphold: dag \d+: \d+\u00a0% \(fortsatt innlagt: \d+\)", x
            )
            for x in lines
        ), lines
        (legend,) = curves["legend"]
        assert legend.startswith("Gruppe: ") and all(x.split(";")[0] in legend for x in lines)
        assert curves["axis"] == ["Dager siden innleggelse", "Fortsatt i opphold"]
        # Each half of a tornado bar says the input and both ends; the base line is silent.
        bars = tornado["bar"]
        assert bars and len(bars) % 2 == 0 and "rule mark" not in tornado, tornado
        assert all(re.fullmatch(r".+: ved lav verdi .+kr, ved høy verdi .+kr", b) for b in bars), (
            bars
        )
        assert sorted(tornado["axis"]) == ["Forutsetning", "Nettoverdi (mill. kr per år)"]
        said = [
            label for chart in (curves, tornado) for labels in chart.values() for label in labels
        ]
        assert not [s for s in said if _VEGA_WORDS.search(s)], said[:5]
