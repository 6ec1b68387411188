"""Each page for each role, run by AppTest against the real API with a seeded tenant."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import _nav, _ui
from dashboard.views.ward import resident_name
from stayactive import db
from stayactive.locale_format import format_nok
from tests.dashboard.conftest import (
    APP,
    MARKDOWN_TEXT,
    NOT_ESTIMABLE,
    DashWorld,
    log_in,
    page_text,
    shows_as_text,
    unescaped,
)


def _session(at: AppTest):  # type: ignore[no-untyped-def]
    return at.session_state["stayactive_session"]


def test_login_page_is_bokmal_by_default_and_switches_to_english(app: AppTest) -> None:
    assert [t.label for t in app.text_input] == ["Brukernavn", "Passord"]
    assert app.button[0].label == "Logg inn"
    app.button_group[0].set_value("en").run()
    assert [t.label for t in app.text_input] == ["Username", "Password"]
    assert not app.exception


def test_wrong_password_says_so_without_a_traceback(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("care"), "not the password at all")
    assert not app.exception
    assert any("Feil brukernavn eller passord" in e.value for e in app.error)
    assert not _session(app).logged_in


def test_care_staff_sees_ward_resident_and_fleet_only(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("care"))
    assert not app.exception
    assert _nav.ROLE_PAGES["care_staff"] == ("ward", "resident", "fleet")
    assert tuple(app.session_state["stayactive_pages"]) == ("ward", "resident", "fleet")
    # The ward overview: one row per resident, names for care staff, figures as text.
    ward = dash_world.tenant.seeded.ward_ids[0]
    n = len(dash_world.tenant.seeded.residents_by_ward[ward])
    assert app.title[0].value == "Korttid 1"
    assert f"Beboere ({n})" in [s.value for s in app.subheader]
    table = app.dataframe[0].value
    assert len(table) == n
    assert set(table["resident"]) == set(dash_world.tenant.named.values())
    # Norwegian numbers: "1 234" with a no-break space, or "Ingen data" — never "1,234"; the
    # change against the resident's own level in a column of its own ("+5 %", "−12 %").
    for steps in table["steps"]:
        assert steps == "Ingen data" or re.fullmatch(r"\d{1,3}(\u00a0\d{3})*", steps), steps
    for change in table["vs_level"]:
        assert change in ("Ingen data", "") or re.fullmatch(r"[+\u2212]?\d+\u00a0%", change), change
    # The alerts come right after the name, most urgent first (a tablet shows them unscrolled).
    assert list(table.columns[:2]) == ["resident", "alerts"]
    assert "Helsepersonell" in page_text(app)


def test_a_date_after_today_in_the_address_shows_today(app: AppTest, dash_world: DashWorld) -> None:
    # The API refuses a day not yet begun (422): the page showed that error instead of today.
    app.query_params["date"] = "2999-01-01"
    log_in(app, dash_world.user("care"))
    assert not app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.title[0].value == "Korttid 1"
    assert app.dataframe[0].value is not None


def test_an_alert_handled_with_a_note_shows_who_and_the_api_records_it(
    app: AppTest, dash_world: DashWorld
) -> None:
    log_in(app, dash_world.user("care"))
    overview = _session(app).client.ward_overview(dash_world.tenant.seeded.ward_ids[0])
    alert, resident = next(
        (a, r) for r in overview["residents"] for a in r["alerts"] if a.get("handled") is None
    )
    name = resident.get("display_name") or resident["pseudonym"]
    note = "Hjulpet opp, gikk en runde i gangen"
    before = datetime.now(UTC)
    app.button(key=f"handle_{alert['alert_id']}").click().run()
    app.text_area(key=f"note_{alert['alert_id']}").input(note)
    next(b for b in app.button if b.label == "Lagre").click().run()
    assert not app.exception, app.exception
    # The page says so, and lists the alert as handled by the logged-in user, with the note.
    assert any(f"Varselet for {name} er merket som håndtert" in t.value for t in app.toast)
    handled_html = [
        str(e.proto) for e in app.main if e.type == "html" and "sa-handled" in str(e.proto)
    ]
    shown = next(h for h in handled_html if alert["message"] in h)
    assert f"håndtert av {dash_world.user('care')}" in shown and note in shown
    assert f"handle_{alert['alert_id']}" not in [b.key for b in app.button]
    # Read back through the API (a fresh overview): who, when and the note were recorded.
    ward = dash_world.tenant.seeded.ward_ids[0]
    again = _session(app).client.ward_overview(ward)
    recorded = next(
        a["handled"] for r in again["residents"] for a in r["alerts"]
        if a["alert_id"] == alert["alert_id"]
    )  # fmt: skip
    assert recorded["by"] == dash_world.user("care")
    assert recorded["note"] == note
    at = datetime.fromisoformat(recorded["at"])
    assert before - timedelta(seconds=5) <= at <= datetime.now(UTC) + timedelta(seconds=5)
    # The resident's page lists it among the handled alerts (GET /residents/{id}/alerts).
    _session(app).resident_id = resident["resident_id"]
    app.switch_page("views/resident.py").run()
    assert not app.exception, app.exception
    # The list is markdown, its texts escaped (user input): look for them as escaped.
    text = "\n".join(m.value for m in app.markdown)
    md = _ui.markdown_text
    assert md(alert["message"]) in text and f"håndtert av {md(dash_world.user('care'))}" in text
    assert md(note) in text


def test_early_in_the_day_the_ward_shows_today_so_far_and_yesterday_against_the_level(
    app: AppTest, dash_world: DashWorld
) -> None:
    """At 07:00 today's steps so far against whole days read "0 (−100 %)" for everyone. The
    table shows today's count alone and, in a column of its own, yesterday against the
    resident's usual level; the resident page says the same in words. Today is in progress at
    any hour, so the test holds whenever it runs."""
    log_in(app, dash_world.user("care"))
    ward = dash_world.tenant.seeded.ward_ids[0]
    overview = _session(app).client.ward_overview(ward)
    yesterday = (date.fromisoformat(overview["date"]) - timedelta(days=1)).isoformat()
    by_name = {resident_name(r): r for r in overview["residents"]}
    table = app.dataframe[0].value
    for _, line in table.iterrows():
        row = by_name[line["resident"]]
        assert "%" not in line["steps"], line["steps"]
        full = row["last_full_day"]
        assert full["date"] == yesterday
        if not full["has_data"]:
            assert line["vs_level"] == "Ingen data"
        elif full["steps_vs_level"] is not None:
            assert line["vs_level"] == row["display"]["last_full_day_level"]
    assert any("%" in change for change in table["vs_level"]), list(table["vs_level"])
    columns = json.loads(app.dataframe[0].proto.columns)
    assert columns["vs_level"]["label"] == "I går mot nivå", columns["vs_level"]
    assert columns["vs_level"]["help"].startswith("I går mot vanlig nivå:")
    # The resident page: today's count without a change, yesterday against the level below.
    row = next(
        r for r in overview["residents"]
        if r["last_full_day"]["has_data"] and r["last_full_day"]["steps_vs_level"] is not None
    )  # fmt: skip
    _session(app).resident_id = row["resident_id"]
    app.switch_page("views/resident.py").run()
    assert not app.exception, app.exception
    steps = next(m for m in app.metric if m.label == "Skritt i dag")
    assert not steps.delta, steps.delta
    expected = (
        f"I går mot vanlig nivå: {row['display']['last_full_day_steps']} skritt "
        f"({row['display']['last_full_day_level']})"
    )
    assert expected in [c.value for c in app.caption]


def test_ward_overview_refreshes_itself(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("care"))
    assert any("oppdateres av seg selv" in c.value for c in app.caption)


def test_a_handled_alert_is_still_counted_and_the_count_says_it_is_handled(
    app: AppTest, dash_world: DashWorld
) -> None:
    log_in(app, dash_world.user("care"))
    ward = dash_world.tenant.seeded.ward_ids[0]
    overview = _session(app).client.ward_overview(ward)
    kinds = {"not_up_by_hour": "Ikke oppe innen", "declining_3_days": "Nedgang tre dager"}
    alert = next(a for r in overview["residents"] for a in r["alerts"] if a["kind"] in kinds)
    if alert.get("handled") is None:  # another test may have handled it already
        app.button(key=f"handle_{alert['alert_id']}").click().run()
        app.text_area(key=f"note_{alert['alert_id']}").input("Snakket med legen")
        next(b for b in app.button if b.label == "Lagre").click().run()
        assert not app.exception, app.exception
    after = _session(app).client.ward_overview(ward)
    handled = sum(
        1 for r in after["residents"] for a in r["alerts"]
        if a["kind"] == alert["kind"] and a.get("handled")
    )  # fmt: skip
    shown = next(m for m in app.metric if m.label.startswith(kinds[alert["kind"]]))
    # The condition still holds, so it is counted; the figure says how many are handled.
    assert shown.value == str(after["alert_counts"][alert["kind"]])
    assert handled >= 1 and shown.delta == f"{handled} håndtert", shown.delta


def test_a_past_day_says_it_is_past_and_does_not_claim_to_refresh(
    app: AppTest, dash_world: DashWorld
) -> None:
    app.query_params["date"] = (date.today() - timedelta(days=3)).isoformat()
    log_in(app, dash_world.user("care"))
    captions = [c.value for c in app.caption]
    assert any("en tidligere dag · hentet" in c for c in captions), captions
    assert not any("oppdateres av seg selv" in c for c in captions), captions


def test_todays_date_in_the_address_is_today_live(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("care"))
    today = _session(app).client.ward_overview(dash_world.tenant.seeded.ward_ids[0])["date"]
    app.query_params["date"] = today
    app.run()
    captions = [c.value for c in app.caption]
    assert any("oppdateres av seg selv" in c for c in captions), captions


def test_resident_page_shows_the_stay(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("care"))
    _session(app).resident_id = dash_world.tenant.robot_resident
    app.switch_page("views/resident.py").run()
    assert not app.exception, app.exception
    name = dash_world.tenant.named[dash_world.tenant.robot_resident]
    assert app.title[0].value == name
    labels = [m.label for m in app.metric]
    assert "Skritt i dag" in labels and "Ganghastighet" in labels
    assert "Robotøkter" in labels and "Repetisjoner" in labels
    text = page_text(app)
    assert "kan ferdes ute" in text  # the 0.8 m/s line is drawn and labelled
    assert "dag " in app.caption[0].value and "av oppholdet" in app.caption[0].value
    # Consent per purpose as the API states it (GET /residents/{id}/consents).
    assert re.search(r"Oppfølging: \*\*(gitt|ikke gitt|trukket tilbake|utløpt)\*\*", text)


def test_a_resident_no_longer_on_the_ward_is_not_replaced_by_another(
    app: AppTest, dash_world: DashWorld
) -> None:
    """Opened from a past day's overview, a resident who has left the ward since is said to be
    gone; the page shows no one (not the first of today's list) until a resident is chosen."""
    log_in(app, dash_world.user("care"))
    _session(app).resident_id = 987_654_321
    app.switch_page("views/resident.py").run()
    assert not app.exception, app.exception
    assert [w.value for w in app.warning] == [
        "Beboeren du åpnet er ikke på avdelingen i dag (utskrevet eller flyttet). "
        "Velg en beboer i listen."
    ]
    assert not app.title and not app.metric
    picker = app.selectbox(key="resident_pick")
    assert picker.value is None
    picker.select(dash_world.tenant.robot_resident).run()
    assert not app.exception, app.exception
    assert app.title[0].value == dash_world.tenant.named[dash_world.tenant.robot_resident]
    assert not app.warning


def test_fleet_page_names_the_quiet_walker(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("care"))
    app.switch_page("views/fleet.py").run()
    assert not app.exception
    text = page_text(app)
    quiet = dash_world.tenant.quiet_device
    # Quiet for three hours: "siden 21:29", or "siden i går 21:29" in the first hours of a day.
    assert re.search(rf"Ingen data fra denne rullatoren \({quiet}\) siden (i går )?\d\d:\d\d", text)
    assert dash_world.tenant.never_seen_device in text
    # Messages and rejects per device: the first walker sent three frames a day and had two
    # malformed messages this morning; the spare never sent anything.
    table = app.dataframe[0].value.set_index("device")
    first = dash_world.tenant.seeded.device_ids[0]
    assert table.loc[first, "messages_24h"] != "\u2013"
    assert table.loc[first, "rejects"].startswith("2 (")
    assert table.loc[dash_world.tenant.never_seen_device, "messages_24h"] == "0"
    assert table.loc[dash_world.tenant.never_seen_device, "rejects"] == "\u2013"
    app.toggle[0].set_value(True).run()
    shown = set(app.dataframe[0].value["device"])
    assert quiet in shown and dash_world.tenant.never_seen_device in shown
    assert all(p for p in app.dataframe[0].value["problems"])


def test_finance_user_sees_only_finance_and_never_a_pseudonym(
    app: AppTest, dash_world: DashWorld
) -> None:
    log_in(app, dash_world.user("finance"))
    assert not app.exception, app.exception
    assert tuple(app.session_state["stayactive_pages"]) == ("finance",)
    assert app.title[0].value.startswith("Økonomi")
    pseudonyms = _pseudonyms(dash_world)
    for path in ("views/finance.py", "views/ward.py", "views/resident.py", "views/fleet.py"):
        try:
            app.switch_page(path).run()
        except ValueError:
            continue  # not a page of the finance menu: it cannot be opened at all
        text = page_text(app)
        leaked = [p for p in pseudonyms if p in text]
        assert not leaked, f"{path} shows {leaked[:3]}"
        names = [n for n in dash_world.tenant.named.values() if n in text]
        assert not names, f"{path} shows {names}"


def test_finance_page_shows_curves_readmissions_and_downloads(
    app: AppTest, dash_world: DashWorld
) -> None:
    log_in(app, dash_world.user("finance"))
    assert not app.exception
    subheaders = [s.value for s in app.subheader]
    assert "Andel fortsatt i opphold" in subheaders
    assert "Reinnleggelser" in subheaders
    assert "Hva betyr mest for resultatet?" in subheaders
    assert [b.label for b in app.get("download_button")] == ["Tabeller (CSV)", "Rapport (PDF)"]
    kinds = [e.type for e in app.main]
    km = kinds.index("subheader", kinds.index("subheader") + 1)  # after the design's
    readmissions = kinds.index("subheader", km + 1)
    assert kinds[km:readmissions].count("vega_lite_chart") == 1  # the curves, then the table
    assert "Reinnlagt" in _html(app) or "reinnlagt" in _html(app)
    assert not any("Ingen kurver" in i.value for i in app.info)


def _html(at: AppTest) -> str:
    return "\n".join(str(getattr(e, "proto", "")) for e in at.main if e.type == "html")


#: Words of the estimator's and the money model's English: none may reach a bokmål page.
ENGLISH = ("Not enough", "not enough", "withheld", "suppressed", "Parallel trends", "bed-days",
           "Value of freed", "Scenario (not stored)", " stays", "NOK")  # fmt: skip
#: The report's English sentences about a group ("group intervention/after has 3 stays", "no
#: group has two wards", "group X is followed only to day 30"); a bare "group " also matched
#: the charts' Vega code the page carries ('datum.group + "; Fortsatt i opphold: "').
_ENGLISH_GROUP = re.compile(r"\bgroup (\S+ )?(has|is)\b")


def _english(shown: str) -> list[str]:
    """The report's English words and sentences in the page's texts."""
    return [w for w in ENGLISH if w in shown] + [m[0] for m in _ENGLISH_GROUP.finditer(shown)]


def test_finance_headline_keeps_capacity_and_cash_apart_with_the_draft_reasons(
    app: AppTest, dash_world: DashWorld
) -> None:
    log_in(app, dash_world.user("finance"))
    assert not app.exception
    html = _html(app)
    # The draft banner with its reasons comes first; the seeded tenant has one comparison ward.
    assert html.index("UTKAST – ikke for beslutning") < html.index("Verdi av frigjort kapasitet")
    assert "Svak sammenligning: antall sammenligningsavdelinger" in html
    # Capacity (bed-days and NOK with intervals) and cash side by side, P(netto < 0).
    assert "Frigjort kapasitet:</b>" in html and "døgn/år (95\u00a0% KI" in html
    assert "mill.\u00a0kr" in html and "Sikker kontanteffekt" in html
    assert "P(netto &lt; 0) = 0," in html
    # The design and its decisive assumptions directly under the headline.
    assert app.subheader[0].value == "Design og avgjørende forutsetninger"
    texts = "\n".join(unescaped(m.value) for m in app.markdown)
    assert "Forskjell-i-forskjeller" in texts
    assert "Frigjort kapasitet er ikke penger i kassen" in texts
    assert "95\u00a0% KI fra 10\u00a0000 bootstrap-trekninger" in "\n".join(
        c.value for c in app.caption
    )
    # Bokmål throughout: nothing of the report's English reaches the page.
    shown = page_text(app)
    found = _english(shown)
    assert not found, found


def test_scenario_recomputes_through_the_api_beside_the_published_figures(
    app: AppTest, dash_world: DashWorld
) -> None:
    log_in(app, dash_world.user("finance"))
    published = app.session_state["stayactive_session"].client.savings()["headline"]
    app.slider(key="sc_uptake_share").set_value(75)
    app.slider(key="sc_effect_share").set_value(50)
    app.number_input(key="sc_cost_per_bed_day_nok").set_value(4000)
    next(b for b in app.button if b.label == "Beregn scenario").click().run()
    assert not app.exception, app.exception
    html = _html(app)
    assert "Scenario: 1\u00a0000 trekninger, ikke for beslutning" in html
    assert "**Endret:** kostnad per liggedøgn 4\u00a0000\u00a0kr (rapporten: " in "\n".join(
        m.value for m in app.markdown
    )
    table = next(h for h in html.split("<table")[1:] if "<th>Scenario</th>" in h)
    assert "<th>Hva</th><th>Publisert</th><th>Scenario</th>" in table
    row = re.search(r"<tr><td>Frigjort kapasitet</td><td>([^<]*)</td><td>([^<]*)</td>", table)
    assert row is not None
    assert row.group(1) == escape(published["bed_days_freed"]["text"])
    assert row.group(2) != row.group(1)
    # The scenario can be downloaded too; removing it restores the published page.
    labels = [b.label for b in app.get("download_button")]
    assert labels == ["Tabeller (CSV)", "Rapport (PDF)", "Scenario (CSV)", "Scenario (PDF)"]
    next(b for b in app.button if b.label == "Fjern scenarioet").click().run()
    assert [b.label for b in app.get("download_button")] == ["Tabeller (CSV)", "Rapport (PDF)"]


def test_finance_page_in_english(app: AppTest, dash_world: DashWorld) -> None:
    app.button_group[0].set_value("en").run()
    log_in(app, dash_world.user("finance"))
    assert not app.exception
    html = _html(app)
    assert "DRAFT – not for decision" in html and "Value of freed capacity" in html
    assert "P(net &lt; 0) = 0." in html
    assert app.subheader[0].value == "Design and decisive assumptions"


def test_not_estimable_is_shown_honestly(app: AppTest, dash_world: DashWorld) -> None:
    """A tenant whose evaluation has no programme stays: no figure, the reason in words, the
    descriptive tables, and no scenario to play with."""
    log_in(app, dash_world.user("finance", NOT_ESTIMABLE))
    assert not app.exception
    html = _html(app)
    assert "Ingen gevinst er beregnet" in html
    assert "Effekten kan ikke beregnes: gruppen «avdelinger med utstyr, etter oppstart" in html
    assert "UTKAST – ikke for beslutning" in html and "Ingen effekt er beregnet" in html
    assert "Scenarioer krever en effektberegning" in "\n".join(i.value for i in app.info)
    assert "Reinnleggelser" in [s.value for s in app.subheader]
    shown = page_text(app)
    assert not _english(shown)


def test_admin_sees_all_four_pages(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("admin"))
    assert not app.exception
    assert tuple(app.session_state["stayactive_pages"]) == ("ward", "resident", "fleet", "finance")


def test_an_integrators_password_login_is_refused(app: AppTest, dash_world: DashWorld) -> None:
    # It opened a page saying the role has none; integrators use an API key, and the API
    # refuses such an account's password like a wrong one.
    log_in(app, dash_world.user("integrator"))
    assert not app.exception
    assert tuple(app.session_state["stayactive_pages"]) == ("login",)
    assert any("Feil brukernavn eller passord" in e.value for e in app.error), [
        e.value for e in app.error
    ]


def test_logout_ends_the_session_at_the_api(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("care"))
    client = _session(app).client
    token = client._token
    app.sidebar.button[0].click().run()
    assert not _session(app).logged_in
    assert any("logget ut" in i.value for i in app.info)
    import httpx

    r = httpx.get(dash_world.api.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_idle_session_is_logged_out(app: AppTest, dash_world: DashWorld) -> None:
    log_in(app, dash_world.user("care"))
    session = _session(app)
    session.last_touch -= 3600  # an hour without a touch
    app.run()
    assert not _session(app).logged_in
    assert any("ikke har vært brukt" in i.value for i in app.info)
    assert [t.label for t in app.text_input] == ["Brukernavn", "Passord"]


def test_a_new_browser_session_asks_for_login_again(app: AppTest, dashboard_env: DashWorld) -> None:
    log_in(app, dashboard_env.user("care"))
    assert _session(app).logged_in
    fresh = AppTest.from_file(app._script_path, default_timeout=60).run()
    assert [t.label for t in fresh.text_input] == ["Brukernavn", "Passord"]


def test_the_api_down_is_a_sentence(app: AppTest, dash_world: DashWorld, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    log_in(app, dash_world.user("care"))
    _session(app).client._http.base_url = "http://127.0.0.1:9/api/v1"
    app.run()
    assert not app.exception
    assert any("Får ikke kontakt" in e.value for e in app.error)


def _pseudonyms(world: DashWorld) -> list[str]:
    with world.settings and __import__("stayactive").db.connect(world.settings) as conn:
        return [str(r[0]) for r in conn.execute("SELECT pseudonym FROM residents")]


def test_finance_headline_is_the_published_report_of_the_cli(
    app: AppTest, dash_world: DashWorld
) -> None:
    """The page shows the figures `stayactive report savings` publishes (10,000 resamples,
    the same seed), not a figure of its own."""
    env = {
        **os.environ,
        "STAYACTIVE_DATABASE_NAME": dash_world.settings.database_name,
        "STAYACTIVE_DATABASE_SCHEMA": dash_world.settings.database_schema,
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("stayactive")), "report", "savings",
         "--tenant", "dash-a", "--format", "json", "--by", "test"],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    published = json.loads(done.stdout)
    assert published["n_resamples"] == 10_000
    head = published["headline"]
    log_in(app, dash_world.user("finance"))
    assert not app.exception
    html = _html(app)
    capacity, safe = head["capacity_value"], head["safe_cash_effect"]
    shown = [
        format_nok(capacity["value"]), capacity["interval_text"], head["bed_days_freed"]["text"],
        format_nok(safe["value"]), head["cash_effect"]["text"], head["net_value"]["text"],
    ]  # fmt: skip
    missing = [s for s in shown if escape(s, quote=False) not in html]
    assert not missing, missing


def _resident_reads(world: DashWorld, resident_id: int) -> dict[str, int]:
    """Audit rows naming ``resident_id``, per actor."""
    with db.connect(world.settings) as conn:
        rows = conn.execute(
            """SELECT actor, count(*) FROM audit_log
               WHERE tenant_id = 'dash-a' AND subject_kind = 'resident' AND subject_id = %s
               GROUP BY actor""",
            (str(resident_id),),
        ).fetchall()
    return {str(actor): int(n) for actor, n in rows}


def test_every_resident_read_is_an_audited_call_in_each_session(
    dashboard_env: DashWorld,
) -> None:
    """Nothing resident-level is cached across sessions (st.cache_data would be shared by
    every user of the server): two sessions opening the same resident make the same audited
    reads at the API twice."""
    world = dashboard_env
    resident = world.tenant.robot_resident
    grown = []
    for _ in range(2):
        before = _resident_reads(world, resident).get(world.user("care"), 0)
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
        log_in(at, world.user("care"))
        _session(at).resident_id = resident
        at.switch_page("views/resident.py").run()
        assert not at.exception, at.exception
        assert at.title[0].value == world.tenant.named[resident]
        _session(at).client.close()
        grown.append(_resident_reads(world, resident).get(world.user("care"), 0) - before)
    assert grown[0] > 0 and grown[1] == grown[0], grown


def test_a_name_full_of_markdown_is_shown_as_text_in_the_dialog_and_on_the_resident_page(
    app: AppTest, dash_world: DashWorld
) -> None:
    log_in(app, dash_world.user("care"))
    overview = _session(app).client.ward_overview(dash_world.tenant.seeded.ward_ids[0])
    alert, resident = next(
        (a, r) for r in overview["residents"] for a in r["alerts"]
        if a.get("handled") is None and r.get("display_name")
    )  # fmt: skip
    rid, old = resident["resident_id"], resident["display_name"]
    with db.connect(dash_world.settings) as conn:
        conn.execute(
            "UPDATE resident_details SET display_name = %s WHERE resident_id = %s",
            (MARKDOWN_TEXT, rid),
        )
    try:
        app.run()
        app.button(key=f"handle_{alert['alert_id']}").click().run()
        assert not app.exception, app.exception
        # The dialog's line: "**<name>** — <message>", the name inside the bold as text.
        lines = [m.value for m in app.markdown if "evil" in m.value]
        assert len(lines) == 1, lines
        bold = re.fullmatch(r"\*\*(.*)\*\* — (.*)", lines[0])
        assert bold is not None, lines[0]
        assert shows_as_text(bold.group(1), MARKDOWN_TEXT), lines[0]
        # The resident page: the name in the title.
        _session(app).resident_id = rid
        app.switch_page("views/resident.py").run()
        assert not app.exception, app.exception
        assert shows_as_text(app.title[0].value, MARKDOWN_TEXT), app.title[0].value
    finally:
        with db.connect(dash_world.settings) as conn:
            conn.execute(
                "UPDATE resident_details SET display_name = %s WHERE resident_id = %s", (old, rid)
            )
