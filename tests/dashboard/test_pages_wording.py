"""What the pages say and how, run by AppTest against the real API with a seeded tenant: the
headings carry no anchor link, an alert's "Håndtert" button names the alert and the resident,
an alert is not marked handled without a note, and the finance page writes days the Norwegian
way and starts its column headers with a capital."""

from __future__ import annotations

import re
from html import unescape

from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import DashWorld, log_in, unescaped

#: An ISO 8601 date (2026-12-02) in running text.
_ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _session(at: AppTest):  # type: ignore[no-untyped-def]
    return at.session_state["stayactive_session"]


def _headings_with_an_anchor(at: AppTest) -> list[str]:
    return [h.value for h in (*at.title, *at.header, *at.subheader) if not h.proto.hide_anchor]


def test_no_heading_carries_an_anchor_link(app: AppTest, dash_world: DashWorld) -> None:
    # Streamlit's anchor is a link named "Link to heading" in English beside every heading:
    # noise for a screen reader on a bokmål page, and of no use on a tablet.
    assert _headings_with_an_anchor(app) == []  # the login
    log_in(app, dash_world.user("admin"))
    assert not app.exception, app.exception
    seen = 0
    for page in ("views/ward.py", "views/fleet.py", "views/finance.py"):
        app.switch_page(page).run()
        assert not app.exception, app.exception
        seen += len(app.title) + len(app.subheader)
        assert _headings_with_an_anchor(app) == [], page
    ward = dash_world.tenant.seeded.ward_ids[0]
    _session(app).resident_id = dash_world.tenant.seeded.residents_by_ward[ward][0]
    app.switch_page("views/resident.py").run()
    assert not app.exception, app.exception
    assert _headings_with_an_anchor(app) == []
    assert seen >= 10  # the check looked at the pages' headings


def _open_alert(app: AppTest, dash_world: DashWorld):  # type: ignore[no-untyped-def]
    overview = _session(app).client.ward_overview(dash_world.tenant.seeded.ward_ids[0])
    return next(
        (a, r) for r in overview["residents"] for a in r["alerts"] if a.get("handled") is None
    )


def test_the_handled_button_names_the_alert_and_the_resident(
    app: AppTest, dash_world: DashWorld
) -> None:
    log_in(app, dash_world.user("care"))
    alert, resident = _open_alert(app, dash_world)
    name = resident.get("display_name") or resident["pseudonym"]
    kind = {"not_up_by_hour": "Ikke oppe", "declining_3_days": "Nedgang 3 dager",
            "no_data": "Ingen data", "device_offline": "Enhet frakoblet",
            "battery_low": "Lavt batteri"}[alert["kind"]]  # fmt: skip
    label = app.button(key=f"handle_{alert['alert_id']}").label
    # "Håndtert" shows; the part in bold is hidden from sight and read as the button's name.
    assert label.startswith("Håndtert **")
    assert label.endswith("**")
    spoken = label.replace("**", "").replace("\\", "")
    assert spoken == f"Håndtert – varselet «{kind}» for {name}", label
    # Every button of the list has a name of its own (another test of the package may have
    # handled one of the tenant's alerts already).
    labels = [b.label for b in app.button if (b.key or "").startswith("handle_")]
    assert len(labels) == len(set(labels)) >= 1
    # In English too.
    _session(app).lang = "en"
    app.run()
    assert not app.exception, app.exception
    label = app.button(key=f"handle_{alert['alert_id']}").label
    assert label.startswith("Handled **– the “") and f"” alert for {name}**" in label.replace(
        "\\", ""
    )


def test_an_alert_is_not_marked_handled_without_a_note(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("care"))
    alert, _ = _open_alert(app, dash_world)
    app.button(key=f"handle_{alert['alert_id']}").click().run()
    for note in ("", "   \n "):
        app.text_area(key=f"note_{alert['alert_id']}").input(note)
        next(b for b in app.button if b.label == "Lagre").click().run()
        assert not app.exception, app.exception
        assert [e.value for e in app.error] == ["Skriv hva som ble gjort før du lagrer."]
        assert not app.toast
        # The dialog stays open with the note field, and the API recorded nothing.
        assert app.text_area(key=f"note_{alert['alert_id']}") is not None
        ward = dash_world.tenant.seeded.ward_ids[0]
        again = _session(app).client.ward_overview(ward)
        still = next(
            a for r in again["residents"] for a in r["alerts"]
            if a["alert_id"] == alert["alert_id"]
        )  # fmt: skip
        assert still.get("handled") is None


def _finance(app: AppTest, dash_world: DashWorld) -> AppTest:
    log_in(app, dash_world.user("finance"))
    assert not app.exception, app.exception
    return app


def test_finance_writes_the_day_the_design_was_chosen_the_norwegian_way(
    app: AppTest, dash_world: DashWorld
) -> None:
    _finance(app, dash_world)
    texts = [unescaped(c.value) for c in (*app.caption, *app.markdown)]
    basis = next(t for t in texts if "valgt av test-seed" in t)
    assert re.search(r"valgt av test-seed \d{2}\.\d{2}\.\d{4}: ", basis), basis
    assert [t for t in texts if _ISO_DAY.search(t)] == []


def test_finance_table_headers_start_with_a_capital(app: AppTest, dash_world: DashWorld) -> None:
    _finance(app, dash_world)
    tables = [str(e.proto) for e in app.main if e.type == "html" and "sa-table" in str(e.proto)]
    headers = [
        unescape(h) for t in tables for h in re.findall(r"<th>(.*?)</th>", t.replace("\\", ""))
    ]
    readmissions = next(t for t in tables if "Reinnlagt" in unescape(t))
    assert "Reinnlagt" in readmissions and "Risiko" in readmissions, readmissions
    assert headers and all(h[:1].isupper() for h in headers), headers
