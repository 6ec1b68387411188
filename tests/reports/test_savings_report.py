"""The finance report end to end on a seeded tenant, and with empty and tiny cohorts."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow
from typer.testing import CliRunner

from analytics.stays import Design
from stayactive import registry
from stayactive.errors import InvalidParameter
from stayactive.reports import build_savings_report, render_csv, render_json, savings
from stayactive.reports.model import SavingsReport, Value
from stayactive.reports.notes import effect_note
from stayactive.reports.pdf import render_pdf
from stayactive.reports.render import spreadsheet_text
from stayactive.reports.savings_store import DesignChoice, change_parameters, choose_design
from stayactive.settings import get_settings
from tests.fixtures.services import Schema
from tests.reports.reports_helpers import OSLO, SeededTenant, seed_tenant

RESAMPLES = 200


def published_counts(report: SavingsReport) -> list[float]:
    """Every published count of stays (or outcomes) in the report's tables."""
    counts = []
    for table in report.tables:
        for row in table.rows:
            for cell in row.cells:
                counted = isinstance(cell, Value) and cell.unit in ("stays", "discharges home")
                if counted and cell.value is not None:  # type: ignore[union-attr]
                    counts.append(cell.value)  # type: ignore[union-attr]
    return counts


def test_report_end_to_end_json_csv_pdf(
    conn: psycopg.Connection[TupleRow], seeded: Callable[..., SeededTenant]
) -> None:
    tenant = seeded()
    choose_design(conn, "stavanger", "historical", chosen_by="analyst", reason="protocol v1")
    report = build_savings_report(
        conn, "stavanger", actor="test", analysis_at=tenant.extract_at, n_resamples=RESAMPLES
    )
    assert report.status == "complete", report.messages
    assert report.language == "nb"
    assert report.design == "historical" and "valgt av analyst" in report.design_basis
    # The day it was chosen, the Norwegian way (02.12.2026), not ISO, in the bokmål text.
    assert re.search(r"valgt av analyst \d{2}\.\d{2}\.\d{4}: protocol v1", report.design_basis)
    assert report.savings_kind == "freed capacity"
    assert min(published_counts(report)) >= 5
    # headline first, in bokmål with Norwegian numbers, and the assumptions that decide it
    assert report.headline is not None
    sentence = report.headline.sentence
    assert sentence.startswith("Verdi av frigjort kapasitet ")
    assert "mill.\u00a0kr/år (95\u00a0% KI " in sentence and "sikker kontanteffekt" in sentence
    assert "P(netto < 0) = " in sentence and "," in sentence.split("P(netto < 0) = ")[1]
    assert len(report.decisive_assumptions) >= 4
    assert any("ikke penger i kassen" in a for a in report.decisive_assumptions)
    # a draft: unconfirmed parameters and fewer than 10,000 resamples
    assert report.draft
    assert any(
        r.startswith("ubekreftede parametre: kostnad per liggedøgn") for r in report.draft_reasons
    )
    assert any("10 000 kreves" in r for r in report.draft_reasons)
    # JSON: one object with every section, no NaN, intervals next to every money figure.
    data = json.loads(render_json(report))
    assert list(data["tables"])[:4] == ["effect", "money", "budget_impact", "design_checks"]
    assert set(data["tables"]) >= {
        "flow", "groups", "balance", "destinations", "readmission", "scenarios", "parameters",
        "checklist",
    }  # fmt: skip
    effect = {r["label"]: r["anslag (95 % KI)"] for r in data["tables"]["effect"]["rows"]}
    bed = effect["liggedøgn spart per opphold"]
    assert bed["low"] < bed["value"] < bed["high"] and bed["unit"] == "bed-days avoided per stay"
    money = {r["label"]: r["anslag (95 % KI)"] for r in data["tables"]["money"]["rows"]}
    net = money["netto verdi"]
    assert net["unit"] == "NOK/year" and net["low"] < net["value"] < net["high"]
    assert "verdi av frigjort kapasitet (ikke kontanter)" in money
    assert data["headline"]["probability_net_negative"] == pytest.approx(
        money["sannsynlighet for netto tap"]["value"]
    )
    budget = data["tables"]["budget_impact"]["rows"]
    assert next(r["label"] for r in budget) == "andel av oppholdene i programmet"
    assert budget[0]["år 1"]["value"] == pytest.approx(0.25)  # half of 50 % in year 1
    params = {r["label"]: r for r in data["tables"]["parameters"]["rows"]}
    assert params["budsjett for korttidsopphold"]["verdi"]["value"] == 200e6
    assert data["tornado"]["bars"][0]["label"] != data["tornado"]["bars"][0]["input"]
    assert any("ISPOR" in a for a in data["assumptions"])
    checks = {r["label"] for r in data["tables"]["design_checks"]["rows"]}
    assert {"trend før oppstart", "placebo-oppstart"} <= checks
    # CSV: one figure per line; suppressed cells are empty with a note.
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert list(rows[0]) == ["section", "item", "column", "value", "low", "high", "unit", "note"]
    sections = {r["section"] for r in rows}
    assert {"report", "headline", "effect", "money", "budget_impact", "tornado"} <= sections
    net_row = next(r for r in rows if r["section"] == "money" and r["item"] == "netto verdi")
    assert float(net_row["low"]) < float(net_row["value"]) < float(net_row["high"])
    for r in rows:
        if r["unit"] == "stays" and r["value"]:
            assert float(r["value"]) >= 5
        if r["note"].startswith("skjult"):
            assert r["value"] == ""
    # PDF
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    # The read is audited.
    audited = conn.execute(
        "SELECT actor, detail->>'status' FROM audit_log WHERE action = 'report.savings'"
    ).fetchall()
    assert audited == [("test", "complete")]


def test_bokmal_report_has_no_english_iso_or_code_names(
    conn: psycopg.Connection[TupleRow], seeded: Callable[..., SeededTenant]
) -> None:
    """What the review of the demo's bokmål report found: English sources and CSV notes, ISO
    times, the tenant id in the title."""
    registry.ensure_tenant(conn, "stavanger", "Stavanger kommune")
    tenant = seeded()
    report = build_savings_report(
        conn, "stavanger", actor="test", analysis_at=tenant.extract_at, n_resamples=RESAMPLES
    )
    assert report.tenant_name == "Stavanger kommune"
    # The parameter table: a default's source and its day in bokmål.
    params = {r.label: r.cells for r in report.table("parameters").rows}
    assert params["kostnad per liggedøgn"][3] == "27.11.2026"
    assert str(params["kostnad per liggedøgn"][5]).startswith("Midtpunktet i planrammen")
    # Times as a Norwegian writes them: "31.08.2026 kl. 00.00", never "2026-08-31 00:00".
    admitted = report.table("flow").rows[0].label
    assert re.fullmatch(
        r"opphold innlagt til og med \d\d\.\d\d\.\d{4} kl\.\xa0\d\d\.\d\d", admitted
    )
    # The CSV's notes: withheld cells, destinations and the tornado in bokmål.
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    notes = {r["note"] for r in rows if r["section"] not in ("parameters", "assumption")}
    assert not any(n.startswith(("suppressed", "withheld")) or n.endswith(" stays") for n in notes)
    tornado = [r for r in rows if r["section"] == "tornado"]
    assert tornado and all(r["column"] == "netto verdi ved lav / høy" for r in tornado)
    assert not any("_" in r["note"] or " to " in r["note"] for r in tornado)
    # The PDF's title names the tenant as its people do (PDF metadata are UTF-16).
    assert "Stavanger kommune".encode("utf-16-be") in render_pdf(report)
    english = build_savings_report(
        conn, "stavanger", language="en", actor="test", analysis_at=tenant.extract_at,
        n_resamples=RESAMPLES,
    )  # fmt: skip
    en_params = {r.label: r.cells for r in english.table("parameters").rows}
    assert en_params["cost per bed-day"][3] == "2026-11-27"
    assert str(en_params["cost per bed-day"][5]).startswith("Mid-point of the planning range")
    # "Alle forutsetninger": every one of the core's assumptions in bokmål, none left English,
    # no parameter code name; the English report keeps the core's words.
    assert len(report.assumptions) == len(english.assumptions) >= 10
    for nb, en in zip(report.assumptions, english.assumptions, strict=True):
        assert nb != en, en
        assert not re.search(r"\b(the|of|and|stays?)\b|_", nb), nb
    assert any(a.startswith("UBEKREFTEDE parametre") for a in report.assumptions)
    assert any("4\xa0% reelt i året" in a for a in report.assumptions)


def test_the_cores_notes_read_as_bokmal() -> None:
    """The readmission effect not estimable: the note in bokmål, the group in plain words."""
    core = (
        "Readmission effect not estimable: fewer than 5 stays with complete 30-day follow-up in "
        "intervention/after (stays still going on or ended less than 30 days ago, or follow-up "
        "unknown)."
    )
    nb = effect_note(core, "nb")
    assert nb.startswith("Effekten på reinnleggelser kan ikke anslås ennå: færre enn 5 opphold")
    assert "«avdelinger med utstyr, etter oppstart (programmet)»" in nb
    assert "intervention/after" not in nb
    assert effect_note(core, "en") == core
    shortened = effect_note(
        "Horizon shortened from day 60 to day 42.5: group comparison/before is not followed "
        "further with at least 10 stays under observation. Bed-days after that day are not "
        "counted (neither used nor saved).",
        "nb",
    )
    assert shortened.startswith("Horisonten er forkortet fra dag 60 til dag 42,5: gruppen «")


def test_english_report_and_a_scenario_override(
    conn: psycopg.Connection[TupleRow], seeded: Callable[..., SeededTenant]
) -> None:
    tenant = seeded()
    report = build_savings_report(
        conn,
        "stavanger",
        {"uptake_share": 0.75},
        "en",
        actor="test",
        analysis_at=tenant.extract_at,
        n_resamples=RESAMPLES,
    )
    assert report.language == "en" and report.headline is not None
    assert report.headline.sentence.startswith("Value of freed capacity NOK\u00a0")
    assert "scenario with changed parameters" in report.draft_reasons
    assert "the comparison was not chosen in advance" in report.draft_reasons
    assert report.parameter_version.endswith("+ scenario")
    uptake = next(
        r for r in report.table("parameters").rows if r.label == "share of stays in the programme"
    )
    assert isinstance(uptake.cells[0], Value) and uptake.cells[0].value == 0.75
    assert report.table("effect").title == "Effect per programme stay"
    with pytest.raises(InvalidParameter, match="unknown parameter"):
        build_savings_report(conn, "stavanger", {"happiness": 1.0}, actor="test")


def test_design_chosen_after_a_result_was_shown_makes_a_draft(
    conn: psycopg.Connection[TupleRow], seeded: Callable[..., SeededTenant]
) -> None:
    tenant = seeded()
    first = build_savings_report(
        conn, "stavanger", actor="test", analysis_at=tenant.extract_at, n_resamples=RESAMPLES
    )
    assert first.status == "complete"
    choose_design(conn, "stavanger", "concurrent", chosen_by="analyst", reason="looked better")
    later = build_savings_report(
        conn, "stavanger", actor="test", analysis_at=tenant.extract_at, n_resamples=RESAMPLES
    )
    assert any("valgt etter at et resultat var vist" in r for r in later.draft_reasons)
    # one comparison ward: inference across wards is not estimable
    checks = {r.label: r.cells[0] for r in later.table("design_checks").rows}
    assert checks["antall sammenligningsavdelinger"] == "kan ikke vurderes"


def test_beds_closed_make_a_safe_cash_effect(
    conn: psycopg.Connection[TupleRow], seeded: Callable[..., SeededTenant]
) -> None:
    tenant = seeded(device_ward_stays=240, comparison_ward_stays=0)
    change_parameters(
        conn,
        "stavanger",
        {"cost_per_bed_day_nok": 3000.0, "beds_closed_count": 4.0},
        source="finance 2026",
        created_by="finance",
        beds_closed=True,
        beds_closed_note="city council 2026-09-15, case 42",
    )
    report = build_savings_report(
        conn, "stavanger", actor="test", analysis_at=tenant.extract_at, n_resamples=RESAMPLES
    )
    assert report.status == "complete"
    assert report.design == "historical"  # inferred: no comparison wards
    assert report.design_basis.startswith("utledet")
    assert report.savings_kind == "cash-releasing"
    assert report.parameter_version == "v1"
    assert report.headline is not None
    safe = report.headline.safe_cash_effect.value
    assert safe is not None and safe > 0  # four closed beds pay more than the programme costs
    money = {r.label: r.cells[0] for r in report.table("money").rows}
    roi = money["avkastning på kontanteffekten (kr per kr brukt)"]
    assert isinstance(roi, Value) and roi.value is not None
    closed = "Senger lagt ned: 4 (city council 2026-09-15, case 42); hver sparer "
    assert any(a.startswith(closed) for a in report.assumptions), report.assumptions


def test_empty_tenant_gives_a_clear_message(conn: psycopg.Connection[TupleRow]) -> None:
    registry.ensure_tenant(conn, "bergen", "Bergen kommune")
    report = build_savings_report(conn, "bergen", actor="test", n_resamples=RESAMPLES)
    assert report.status == "no data" and report.draft and report.headline is None
    assert "har ingen opphold" in report.messages[0]  # bokmål by default
    for rendered in (render_json(report), render_csv(report)):
        assert "har ingen opphold" in rendered
    assert render_pdf(report).startswith(b"%PDF")
    english = build_savings_report(
        conn, "bergen", language="en", actor="test", n_resamples=RESAMPLES
    )
    assert "has no stays" in english.messages[0]


def test_dollar_signs_in_what_people_typed_are_printed_not_typeset(
    conn: psycopg.Connection[TupleRow],
) -> None:
    """A design's reason and a parameter set's note are typed by people: matplotlib would read
    the text between two dollar signs as mathematics (and fail on a half-written command)."""
    registry.ensure_tenant(conn, "bergen", "Bergen kommune")
    typed = r"budsjett $\frac pris$ og $x^2$ per seng"
    choose_design(conn, "bergen", "historical", chosen_by="analyst", reason=typed)
    change_parameters(
        conn, "bergen", {"cost_per_bed_day_nok": 3100}, source=typed, created_by="analyst",
        note=typed,
    )  # fmt: skip
    report = build_savings_report(conn, "bergen", actor="test", n_resamples=RESAMPLES)
    assert typed in report.design_basis and typed in report.parameter_basis
    assert render_pdf(report).startswith(b"%PDF")


def test_typed_text_that_a_spreadsheet_would_run_is_text_in_the_csv(
    conn: psycopg.Connection[TupleRow],
) -> None:
    registry.ensure_tenant(conn, "bergen", "Bergen kommune")
    formula = '=HYPERLINK("https://evil.example";"SSB")'
    for name, source in (("cost_per_bed_day_nok", formula), ("stays_per_year", "- SSB 2024")):
        change_parameters(conn, "bergen", {name: 3100}, source=source, created_by="analyst")
    report = build_savings_report(conn, "bergen", actor="test", n_resamples=RESAMPLES)
    cells = [c for row in csv.reader(io.StringIO(render_csv(report))) for c in row]
    assert "'" + formula in cells and "'- SSB 2024" in cells
    # What still starts like a formula is a number.
    for cell in (c for c in cells if c[:1] in ("=", "+", "-", "@")):
        float(cell)
    # Numbers as the CSV writes them (repr of a float) stay numbers.
    for number in ("-0.25", "-1.5e-05", "-inf", "+3", "nan"):
        assert spreadsheet_text(number) == number
    assert spreadsheet_text("-0,25 kr") == "'-0,25 kr"


def test_tiny_cohort_gives_descriptive_tables_and_a_clear_message(
    conn: psycopg.Connection[TupleRow],
) -> None:
    tenant = seed_tenant(
        conn, "tiny", device_ward_stays=12, comparison_ward_stays=0, before_days=60, after_days=60
    )
    report = build_savings_report(
        conn, "tiny", actor="test", analysis_at=tenant.extract_at, n_resamples=RESAMPLES
    )
    assert report.status == "no effect estimate"
    # Bokmål names the group in plain words; English has the estimator's words.
    assert report.messages[0].startswith("Effekten kan ikke beregnes: gruppen «")
    assert "group " not in report.messages[0]
    english = build_savings_report(
        conn,
        "tiny",
        language="en",
        actor="test",
        analysis_at=tenant.extract_at,
        n_resamples=RESAMPLES,
    )
    assert "not enough data" in english.messages[0].lower()
    assert report.tornado is None and report.savings_kind is None
    keys = [t.key for t in report.tables]
    assert "money" not in keys and "groups" in keys
    # With so few stays every count is withheld.
    assert published_counts(report) == [] or min(published_counts(report)) >= 5
    assert json.loads(render_json(report))["status"] == "no effect estimate"
    assert render_pdf(report).startswith(b"%PDF")


def test_cli_import_parameters_design_report_and_open_data(
    schema: Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stayactive.cli import app

    for name, value in (
        ("STAYACTIVE_DATABASE_NAME", schema.settings.database_name),
        ("STAYACTIVE_DATABASE_SCHEMA", schema.name),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    try:
        run(
            "records", "simulate", "--out", str(tmp_path), "--device-ward-stays", "200",
            "--comparison-ward-stays", "80", "--before-days", "100", "--after-days", "100",
        )  # fmt: skip
        out = run(
            "records", "import", "--tenant", "kristiansand", "--csv", str(tmp_path / "stays.csv"),
            "--assignments", str(tmp_path / "assignments.csv"),
        ).output  # fmt: skip
        assert "280 rows: 280 created" in out
        out = run(
            "report", "parameters", "--tenant", "kristiansand", "--set",
            "cost_per_bed_day_nok=3 050", "--range", "cost_per_bed_day_nok=2900:3200",
            "--source", "KOSTRA 2025", "--by", "finance",
        ).output  # fmt: skip
        assert "stored version 1" in out and "3,050 NOK/bed-day (range 2900-3200)" in out
        bad = runner.invoke(
            app,
            ["report", "parameters", "--tenant", "kristiansand", "--set",
             "staff_cost_per_hour_nok=-650", "--source", "typo"],
        )  # fmt: skip
        assert bad.exit_code != 0 and "must be ≥ 0" in str(bad.exception)
        run("report", "design", "--tenant", "kristiansand", "--set", "concurrent", "--reason", "x")
        as_of = "2026-06-20"
        out = run(
            "report", "savings", "--tenant", "kristiansand", "--format", "json", "--as-of", as_of,
            "--resamples", "200",
        ).stdout  # fmt: skip
        data = json.loads(out)
        assert data["design"] == "concurrent" and data["parameter_version"] == "v1"
        assert data["language"] == "nb" and data["draft"] is True
        english = run(
            "report", "savings", "--tenant", "kristiansand", "--format", "csv", "--as-of", as_of,
            "--resamples", "200", "--language", "en", "--scenario", "uptake_share=0,75",
        ).stdout  # fmt: skip
        assert "headline,sentence,,Value of freed capacity" in english
        assert "scenario with changed parameters" in english
        pdf = tmp_path / "report.pdf"
        run(
            "report", "savings", "--tenant", "kristiansand", "--format", "pdf", "--out", str(pdf),
            "--as-of", as_of, "--resamples", "200",
        )  # fmt: skip
        assert pdf.read_bytes().startswith(b"%PDF")
        run("report", "open-data", "--tenant", "kristiansand", "--out", str(tmp_path), "--as-of",
            as_of)  # fmt: skip
        assert (tmp_path / "open-data-kristiansand.csv").exists()
    finally:
        get_settings.cache_clear()


def test_report_as_of_before_any_stay(
    conn: psycopg.Connection[TupleRow], seeded: Callable[..., SeededTenant]
) -> None:
    seeded(device_ward_stays=40, comparison_ward_stays=0)
    report = build_savings_report(
        conn, "stavanger", actor="test", analysis_at=datetime(2020, 1, 1, tzinfo=OSLO)
    )
    assert report.status == "no data"


def test_difference_in_differences_report(
    conn: psycopg.Connection[TupleRow], seeded: Callable[..., SeededTenant]
) -> None:
    tenant = seeded()
    choose_design(conn, "stavanger", "difference-in-differences", chosen_by="a", reason="b")
    report = build_savings_report(
        conn, "stavanger", actor="test", analysis_at=tenant.extract_at, n_resamples=RESAMPLES
    )
    assert report.status == "complete" and report.design == "difference-in-differences"
    balance = report.table("balance")
    assert sum(c.startswith("standardisert forskjell etter") for c in balance.columns) == 3
    assert any(a.startswith("Parallelle trender") for a in report.assumptions)


def test_report_as_of_more_than_a_year_after_the_last_stay(
    conn: psycopg.Connection[TupleRow], seeded: Callable[..., SeededTenant]
) -> None:
    """No stay admitted in the year before the as-of date is no count of stays per year: the
    report keeps the parameter it has (it was `stays_per_year must be > 0, got 0`, an error
    the finance reader cannot act on)."""
    tenant = seeded(device_ward_stays=40, comparison_ward_stays=0)
    report = build_savings_report(
        conn,
        "stavanger",
        actor="test",
        analysis_at=tenant.extract_at + timedelta(days=800),
        n_resamples=RESAMPLES,
    )
    assert report.status != "no data"
    assert report.parameter_values["stays_per_year"] > 0


def test_the_day_a_design_was_chosen_is_the_tenants_day() -> None:
    """Chosen at 00:30 in Oslo (23:30 UTC the day before): the report says the Oslo day."""
    at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    choice = DesignChoice(Design.CONCURRENT, at, "økonomi", "valgt før resultatet")
    basis, _ = savings._design_basis(choice, None, "nb", "Europe/Oslo")
    assert basis == "valgt av økonomi 02.03.2026: valgt før resultatet"
    english, _ = savings._design_basis(choice, None, "en", "Europe/Oslo")
    assert "on 2026-03-02" in english
