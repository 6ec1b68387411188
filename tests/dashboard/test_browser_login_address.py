"""The dashboard passes the browser's address on to the API, so that failed logins are counted
per person and not per dashboard (docs/api.md, "Lockout"): real Chromium, the real dashboard
and API on loopback.

The browser's requests carry ``X-Forwarded-For: 192.0.2.55``, as a reverse proxy on the same
machine would add it. Streamlit, which believes a loopback proxy, takes 192.0.2.55 as the
browser's address; the dashboard sends it on, and the API (believing the dashboard on loopback)
counts the failure against it. Without the forwarding every failure counts as 127.0.0.1. How
the chain is built from a header the browser wrote itself is tested in test_forwarded_for.
"""

from __future__ import annotations

import pytest

from stayactive import db
from tests.dashboard.conftest import DashWorld
from tests.fixtures.browser import log_in

pytestmark = pytest.mark.slow

BROWSER_ADDRESS = "192.0.2.55"


def _throttle(world: DashWorld, username: str) -> list[tuple[str, str, int]]:
    with db.connect(world.settings) as conn:
        rows = conn.execute(
            "SELECT scope, client, failures FROM login_throttle WHERE username = %s "
            "OR (scope = 'client' AND client IN (%s, '127.0.0.1')) ORDER BY scope, client",
            (username, BROWSER_ADDRESS),
        ).fetchall()
    return [(str(s), str(c), int(f)) for s, c, f in rows]


def test_a_failed_login_counts_against_the_browsers_address(
    browser: object, small_dashboard_url: str, dash_world: DashWorld
) -> None:
    user = dash_world.user("care")
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": BROWSER_ADDRESS})  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        before = _throttle(dash_world, user)
        log_in(page, small_dashboard_url, user, "not the password at all")
        page.get_by_text("Feil brukernavn eller passord").wait_for(timeout=30_000)
        rows = _throttle(dash_world, user)
        assert ("account_client", BROWSER_ADDRESS, 1) in rows, rows
        assert ("client", BROWSER_ADDRESS, 1) in rows, rows
        # Nothing counted against the dashboard's own address (earlier tests' logins from
        # 127.0.0.1 may have left rows of it: they are as they were).
        assert [r for r in rows if r[1] == "127.0.0.1"] == [
            r for r in before if r[1] == "127.0.0.1"
        ], (before, rows)
    finally:
        context.close()
        with db.connect(dash_world.settings, autocommit=True) as conn:
            conn.execute(
                "DELETE FROM login_throttle WHERE username = %s OR client = %s",
                (user, BROWSER_ADDRESS),
            )
