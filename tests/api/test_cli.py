"""Day one from the command line: tenants, wards, users, API keys and devices, as a person
would type them (the `stayactive` app, against a schema of the test's own)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

import ingest
from stayactive.cli import app
from stayactive.errors import StayActiveError
from stayactive.settings import get_settings
from tests.api.broker import accepts
from tests.fixtures.services import Schema
from tests.fixtures.streams import wait_until


@pytest.fixture
def cli(schema: Schema, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Run ``stayactive …`` in-process (the same Typer app as the console script) against the
    test's schema; returns what it printed."""
    monkeypatch.setenv("STAYACTIVE_DATABASE_NAME", schema.settings.database_name)
    monkeypatch.setenv("STAYACTIVE_DATABASE_SCHEMA", schema.name)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, stdin: str | bytes = "", ok: bool = True) -> str:
        result = runner.invoke(app, list(args), input=stdin)
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
            return result.stdout
        assert result.exit_code != 0, result.output
        # A refusal is ours (the console script prints "error: …", exit 1) or a usage error
        # (exit 2), never an exception the console script would show as a traceback.
        assert result.exception is None or isinstance(
            result.exception, StayActiveError | SystemExit
        ), (args, result.output, result.exc_info)
        return result.output + str(result.exception or "")

    yield run
    get_settings.cache_clear()
    ingest.remove(schema.settings, ["W-cli-1"])


def test_bootstrap_a_tenant(cli, schema: Schema) -> None:  # type: ignore[no-untyped-def]
    assert "created tenant 't-cli'" in cli("tenants", "add", "t-cli", "--name", "CLI kommune")
    assert "exists already" in cli("tenants", "add", "t-cli", "--name", "Again")
    out = cli("wards", "add", "--tenant", "t-cli", "--site", "Hinna", "--ward", "Korttid 1",
              "--go-live-on", "2026-01-01")  # fmt: skip
    ward_id = re.search(r"ward (\d+):", out).group(1)  # type: ignore[union-attr]
    assert "Hinna / Korttid 1" in cli("wards", "list", "--tenant", "t-cli")
    assert "unknown tenant" in cli(
        "wards", "add", "--tenant", "nope", "--site", "x", "--ward", "y", ok=False
    )
    cli("users", "add", "nurse", "--tenant", "t-cli", "--role", "care_staff", "--ward",
        "Korttid 1", "--password-stdin", stdin="a long password here\n")  # fmt: skip
    assert "at least 12 characters" in cli(
        "users", "add", "short", "--tenant", "t-cli", "--role", "admin", "--password-stdin",
        stdin="short\n", ok=False,
    )  # fmt: skip
    assert "care staff need at least one --ward" in cli(
        "users", "add", "x2", "--tenant", "t-cli", "--role", "care_staff", "--password-stdin",
        stdin="a long password here\n", ok=False,
    )  # fmt: skip
    # Integrators use an API key: a password user of that role is refused, naming the command.
    refused = cli(
        "users", "add", "sync", "--tenant", "t-cli", "--role", "integrator", "--password-stdin",
        stdin="a long password here\n", ok=False,
    )  # fmt: skip
    assert "API-nøkkel" in refused and "API key" in refused and "apikeys add" in refused
    assert "sync" not in cli("users", "list", "--tenant", "t-cli")
    assert "apikeys add" in cli("users", "set-role", "nurse", "--role", "integrator", ok=False)
    listed = cli("users", "list", "--tenant", "t-cli")
    assert re.search(rf"nurse\s+care_staff\s+wards {ward_id}\s+active", listed)
    cli("users", "disable", "nurse")
    assert "DISABLED" in cli("users", "list", "--tenant", "t-cli")
    cli("users", "passwd", "nurse", "--password-stdin", stdin="another long password\n")
    # Devices: the password is printed once and works on the broker at once.
    out = cli("devices", "add", "W-cli-1", "--tenant", "t-cli", "--kind", "walker", "--serial",
              "SN-cli-1", "--ward", ward_id)  # fmt: skip
    first = out.strip().splitlines()[-1]
    wait_until(lambda: accepts(schema.settings, "W-cli-1", first))
    assert "already registered" in cli(
        "devices", "add", "W-cli-1", "--tenant", "t-cli", "--kind", "walker", "--serial", "x",
        ok=False,
    )  # fmt: skip
    second = cli("devices", "rotate", "W-cli-1", "--tenant", "t-cli").strip().splitlines()[-1]
    assert second != first
    wait_until(lambda: accepts(schema.settings, "W-cli-1", second))
    wait_until(lambda: not accepts(schema.settings, "W-cli-1", first))
    assert re.search(r"W-cli-1\s+walker\s+SN-cli-1", cli("devices", "list", "--tenant", "t-cli"))
    cli("devices", "deactivate", "W-cli-1", "--tenant", "t-cli")
    assert "INACTIVE" in cli("devices", "list", "--tenant", "t-cli")
    wait_until(lambda: not accepts(schema.settings, "W-cli-1", second))
    # API keys.
    out = cli("apikeys", "add", "--tenant", "t-cli", "--name", "sync")
    key_id = re.search(r"key ([a-f0-9]{12})", out).group(1)  # type: ignore[union-attr]
    assert out.strip().splitlines()[-1].startswith("sa_" + key_id + "_")
    cli("apikeys", "revoke", key_id, "--tenant", "t-cli")
    assert "revoked" in cli("apikeys", "list", "--tenant", "t-cli")
    with schema.connect() as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY audit_id")]
    assert actions[:3] == ["tenant.create", "ward.create", "user.create"]
    assert "device.rotate" in actions and "user.disable" in actions


def test_a_national_id_typed_into_an_admin_command_is_refused_and_nothing_stored(  # type: ignore[no-untyped-def]
    cli, schema: Schema
) -> None:
    number = "15076500565"  # a published example with valid check digits, nobody's
    cli("tenants", "add", "t-fnr", "--name", "Fnr kommune")
    cli("wards", "add", "--tenant", "t-fnr", "--site", "Hinna", "--ward", "Korttid 1")
    password = "a long password here\n"
    refused = [
        ("tenants", "add", "t-fnr2", "--name", f"Ola {number}"),
        ("tenants", "add", number, "--name", "Fnr"),
        ("wards", "add", "--tenant", "t-fnr", "--site", "Hinna", "--ward",
         f"{number[:6]} {number[6:]}"),
        ("users", "add", number, "--tenant", "t-fnr", "--role", "admin", "--password-stdin"),
        ("devices", "add", "W-fnr-1", "--tenant", "t-fnr", "--kind", "walker", "--serial",
         f"{number[:6]}-{number[6:]}"),
        ("apikeys", "add", "--tenant", "t-fnr", "--name", f"sync for {number}"),
    ]  # fmt: skip
    for args in refused:
        out = cli(*args, stdin=password, ok=False)
        assert "fødselsnummer" in out and "national identity number" in out, (args, out)
        assert number not in out.replace(" ", "").replace("-", ""), args  # never repeated
    with schema.connect() as conn:
        stored = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("tenants", "wards", "users", "devices", "api_keys")
        }
    assert stored == {"tenants": 1, "wards": 1, "users": 0, "devices": 0, "api_keys": 0}


def test_records_import_is_in_the_residents_access_log(  # type: ignore[no-untyped-def]
    cli, schema: Schema, tmp_path
) -> None:
    """`stayactive records import` writes the file's audit row and one per resident change;
    `stayactive audit export` shows them to the resident."""
    header = (
        "external_ref,resident,birth_year,sex,site,ward,admitted_at,discharged_at,stay_type,"
        "discharge_destination,consent_evaluation\n"
    )
    row = "S-C1,R-cli-0001,1939,female,Hinna,Korttid 1,2026-04-01T10:00:00+02:00,,18,,{}\n"
    extract = tmp_path / "stays.csv"
    extract.write_text(header + row.format("ja"))
    cli("records", "import", "--tenant", "t-rec", "--csv", str(extract))
    extract.write_text(header + row.format("nei"))
    assert "1 imported consents withdrawn" in cli(
        "records", "import", "--tenant", "t-rec", "--csv", str(extract)
    )
    out = tmp_path / "log.csv"
    cli("audit", "export", "R-cli-0001", "--tenant", "t-rec", "--out", str(out))
    actions = [line.split(";")[3] for line in out.read_text().splitlines()[1:]]
    assert actions == [
        "opprettet", "samtykke registrert", "samtykke trukket tilbake", "endret",
    ]  # fmt: skip
    with schema.connect() as conn:
        last = conn.execute(
            "SELECT actor, detail->>'consents_withdrawn' FROM audit_log WHERE action = 'import' "
            "ORDER BY audit_id DESC LIMIT 1"
        ).fetchone()
    assert last is not None and last[0].startswith("cli:") and last[1] == "1"


def test_mistyped_input_is_a_one_line_error_and_nothing_is_stored(  # type: ignore[no-untyped-def]
    cli, schema: Schema, tmp_path
) -> None:
    """What a new operator mistypes on day one (a time zone, an empty name, a spreadsheet saved
    in the wrong encoding, a date, an output path) is refused with its reason, never a
    traceback, and nothing of it is stored."""
    assert "unknown time zone 'Mars/Olympus'" in cli(
        "tenants", "add", "t-bad", "--name", "Bad", "--time-zone", "Mars/Olympus", ok=False
    )
    cli("tenants", "add", "t-bad", "--name", "Bad kommune")
    empty = [
        ("tenants", "add", "t-bad2", "--name", " "),
        ("wards", "add", "--tenant", "t-bad", "--site", "", "--ward", "Korttid 1"),
        ("wards", "add", "--tenant", "t-bad", "--site", "Hinna", "--ward", ""),
        ("devices", "add", "W-bad-1", "--tenant", "t-bad", "--kind", "walker", "--serial", ""),
        ("apikeys", "add", "--tenant", "t-bad", "--name", ""),
    ]  # fmt: skip
    for args in empty:
        assert "must not be empty" in cli(*args, ok=False), args
    assert "at most 100 characters, not 101" in cli(
        "apikeys", "add", "--tenant", "t-bad", "--name", "k" * 101, ok=False
    )
    assert "not UTF-8 text" in cli(
        "users", "add", "p-bad", "--tenant", "t-bad", "--role", "admin", "--password-stdin",
        stdin=b"\xff\xfe a long password here\n", ok=False,
    )  # fmt: skip
    extract = tmp_path / "stays.csv"
    extract.write_bytes(
        b"external_ref,resident,site,ward,admitted_at,stay_type\nS-1,R-\xf8,a,b,,18\n"
    )
    assert "the CSV is not UTF-8 (byte 0xf8)" in cli(
        "records", "import", "--tenant", "t-bad", "--csv", str(extract), ok=False
    )
    extract.write_text(
        "external_ref,resident,site,ward,admitted_at,stay_type\n"
        "S-1,R-bad-0001,Hinna,Korttid 1,2026-04-01T10:00:00+02:00,18\n"
    )
    cli("records", "import", "--tenant", "t-bad", "--csv", str(extract))
    export = ("audit", "export", "R-bad-0001", "--tenant", "t-bad", "--out")
    assert "--from '2026-99-01' is not YYYY-MM-DD" in cli(
        *export, str(tmp_path / "log.csv"), "--from", "2026-99-01", ok=False
    )
    assert "--from 2026-05-01 is after --to 2026-01-01" in cli(
        *export, str(tmp_path / "log.csv"), "--from", "2026-05-01", "--to", "2026-01-01", ok=False
    )
    assert "cannot write" in cli(*export, str(tmp_path / "no-such-dir" / "log.csv"), ok=False)
    assert "cannot write" in cli(*export, str(tmp_path), ok=False)
    assert "--to must be after --from" in cli(
        "residents", "consent", "R-bad-0001", "--tenant", "t-bad", "--purpose", "care",
        "--from", "2026-02-01", "--to", "2026-01-01", ok=False,
    )  # fmt: skip
    # A mistyped tenant is said, not listed as a tenant without rows.
    for listing in ("wards", "devices", "apikeys", "users"):
        assert "unknown tenant 't-typo'" in cli(listing, "list", "--tenant", "t-typo", ok=False)
    with schema.connect() as conn:
        stored = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("tenants", "devices", "api_keys", "users")
        }
        exports = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'access_log.export'"
        ).fetchone()
    assert stored == {"tenants": 1, "devices": 0, "api_keys": 0, "users": 0}
    assert exports == (0,)  # an export that was not written is not logged as one


def test_an_output_path_that_cannot_be_written_is_a_one_line_error(  # type: ignore[no-untyped-def]
    cli, tmp_path
) -> None:
    cli("tenants", "add", "t-out", "--name", "Out kommune")
    out = tmp_path / "no-such-dir" / "savings.json"
    said = cli("report", "savings", "--tenant", "t-out", "--resamples", "100", "--out", str(out),
               ok=False)  # fmt: skip
    assert f"cannot write {out}: No such file or directory" in said
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    said = cli("report", "open-data", "--tenant", "t-out", "--out", str(a_file), ok=False)
    assert f"cannot write {a_file}: File exists" in said
    small = ("--before-days", "1", "--after-days", "1", "--device-ward-stays", "1",
             "--comparison-ward-stays", "1")  # fmt: skip
    said = cli("records", "simulate", "--out", str(a_file), *small, ok=False)
    assert f"cannot write {a_file}: File exists" in said
    said = cli("records", "simulate", "--out", str(tmp_path), "--start", "1. mars", ok=False)
    assert "--start '1. mars' is not YYYY-MM-DD" in said


def test_report_as_of_out_of_range_is_refused_as_the_api_refuses_it(  # type: ignore[no-untyped-def]
    cli,
) -> None:
    """`report savings|open-data --as-of` keeps to the API's range (2000-01-01 to today): a
    date in the future or before 2000 is a one-line usage error, not a report."""
    cli("tenants", "add", "t-asof", "--name", "As-of kommune")
    future = (date.today() + timedelta(days=30)).isoformat()
    refused = [
        ("savings", future),
        ("savings", "1999-12-31"),
        ("open-data", f"{future}T10:00"),
        ("savings", "1999-12-31T23:00"),
    ]
    for command, as_of in refused:
        result = CliRunner().invoke(
            app, ["report", command, "--tenant", "t-asof", "--as-of", as_of]
        )
        assert result.exit_code == 2, (command, as_of, result.output)
        assert "is out of range (2000-01-01 to today)" in result.output, result.output
    assert '"tenant"' in cli(
        "report", "savings", "--tenant", "t-asof", "--resamples", "100",
        "--as-of", date.today().isoformat(),
    )  # fmt: skip


def test_a_date_option_that_is_not_a_date_is_a_usage_error(  # type: ignore[no-untyped-def]
    cli,
) -> None:
    """Every YYYY-MM-DD option says so in one line; `report parameters --as-of bad` was a
    ValueError traceback."""
    cli("tenants", "add", "t-dates", "--name", "Dato kommune")
    for args in (
        ["report", "parameters", "--tenant", "t-dates", "--set", "cost_per_bed_day_nok=3000",
         "--source", "test", "--as-of", "bad"],
        ["wards", "add", "--tenant", "t-dates", "--site", "S", "--ward", "W",
         "--go-live-on", "2026-13-01"],
        ["audit", "flags", "--tenant", "t-dates", "--from", "yesterday"],
    ):  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert "is not YYYY-MM-DD" in result.output, result.output


def test_devices_add_prints_the_broker_devices_are_told(  # type: ignore[no-untyped-def]
    cli, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker line is a URL a person copies into the device: an IPv6 address in it is in
    brackets (``mqtts://fd00::5:8884`` names no port)."""
    cli("tenants", "add", "t-cli", "--name", "CLI kommune")
    added = cli("wards", "add", "--tenant", "t-cli", "--site", "S", "--ward", "W")
    ward = re.search(r"ward (\d+):", added).group(1)  # type: ignore[union-attr]
    monkeypatch.setenv("STAYACTIVE_DEVICE_BROKER_URL", "mqtts://[fd00::5]:8884")
    get_settings.cache_clear()
    out = cli("devices", "add", "W-cli-1", "--tenant", "t-cli", "--kind", "walker", "--serial",
              "SN-cli-1", "--ward", ward)  # fmt: skip
    assert "device W-cli-1: broker mqtts://[fd00::5]:8884, username W-cli-1" in out, out


def test_a_bad_scenario_is_refused_before_anything_is_read(  # type: ignore[no-untyped-def]
    cli,
) -> None:
    """`report savings --scenario` with a name that is no parameter, or a value out of its
    range, was refused only after the stays were loaded; it is a usage error now, said before
    the tenant is even looked up (this tenant does not exist)."""
    for pair, said in (
        ("cost_per_bed_day=3000", "unknown parameter 'cost_per_bed_day'; known: "),
        ("uptake_share=1,5", "uptake_share must be a share between 0 and 1"),
    ):
        out = cli("report", "savings", "--tenant", "t-nowhere", "--scenario", pair, ok=False)
        assert f"--scenario {said}" in out, out
        assert "unknown tenant" not in out


def test_a_name_with_a_line_break_is_refused(  # type: ignore[no-untyped-def]
    cli, schema: Schema
) -> None:
    """`tenants add --name $'Oslo\nkommune'` made a tenant whose `tenants list` line broke in
    two; a control character in a name is a usage error, and nothing is made."""
    said = cli("tenants", "add", "t-line", "--name", "Oslo\nkommune", ok=False)
    assert "must not hold a control character" in said, said
    assert "t-line" not in cli("tenants", "list")
    cli("tenants", "add", "t-line", "--name", "Oslo kommune")
    said = cli("wards", "add", "--tenant", "t-line", "--site", "S\tø", "--ward", "W", ok=False)
    assert "must not hold a control character" in said, said
    assert cli("wards", "list", "--tenant", "t-line").strip() == ""


def test_a_go_live_out_of_range_is_refused(  # type: ignore[no-untyped-def]
    cli, schema: Schema
) -> None:
    """`wards add --go-live-on 0001-01-01` made a ward whose every stay came after go-live; a
    go-live before 2000 or more than a year ahead is refused in one line, and no ward made."""
    cli("tenants", "add", "t-golive", "--name", "Golive kommune")
    for day in ("0001-01-01", (date.today() + timedelta(days=400)).isoformat()):
        said = cli("wards", "add", "--tenant", "t-golive", "--site", "S", "--ward", "W",
                   "--go-live-on", day, ok=False)  # fmt: skip
        assert f"go-live {day} is out of range (2000-01-01 to" in said, said
    assert cli("wards", "list", "--tenant", "t-golive").strip() == ""
    out = cli("wards", "add", "--tenant", "t-golive", "--site", "S", "--ward", "W",
              "--go-live-on", (date.today() + timedelta(days=30)).isoformat())  # fmt: skip
    assert "go-live" in out  # a go-live planned a month ahead is fine


def test_users_set_wards_keeps_care_staff_with_a_ward(  # type: ignore[no-untyped-def]
    cli, schema: Schema
) -> None:
    """`users set-wards` without --ward is refused for care staff, as `users add` refuses it,
    and says how to take the user's access away instead; the wards stay as they were."""
    cli("tenants", "add", "t-scope", "--name", "Scope kommune")
    out = cli("wards", "add", "--tenant", "t-scope", "--site", "Hinna", "--ward", "Korttid 1")
    ward_id = re.search(r"ward (\d+):", out).group(1)  # type: ignore[union-attr]
    cli("users", "add", "scope-nurse", "--tenant", "t-scope", "--role", "care_staff", "--ward",
        ward_id, "--password-stdin", stdin="a long password here\n")  # fmt: skip
    cli("users", "add", "scope-finance", "--tenant", "t-scope", "--role", "finance",
        "--password-stdin", stdin="a long password here\n")  # fmt: skip
    said = cli("users", "set-wards", "scope-nurse", ok=False)
    assert "care staff need at least one --ward" in said
    assert "stayactive users disable scope-nurse" in said
    assert re.search(rf"scope-nurse\s+care_staff\s+wards {ward_id}\s", cli("users", "list"))
    # Other roles have no ward scope to keep.
    assert "wards none" in cli("users", "set-wards", "scope-finance")
    # … but a user without wards does not become care staff.
    said = cli("users", "set-role", "scope-finance", "--role", "care_staff", ok=False)
    assert "give 'scope-finance' a ward first" in said
    assert re.search(r"scope-finance\s+finance\s", cli("users", "list"))


def test_records_import_with_a_bad_assignments_header_writes_nothing(  # type: ignore[no-untyped-def]
    cli, schema: Schema, tmp_path
) -> None:
    """Both files' headers are checked before anything is written: an assignments file that
    lacks a column refuses the whole import, and the stays file's good rows are not kept."""
    extract = tmp_path / "stays.csv"
    extract.write_text(
        "external_ref,resident,site,ward,admitted_at,stay_type\n"
        "S-H1,R-head-0001,Hinna,Korttid 1,2026-04-01T10:00:00+02:00,18\n"
    )
    assignments = tmp_path / "assignments.csv"
    assignments.write_text(
        "device,kind,resident,from,to\nW-head-1,walker,R-head-0001,2026-04-01T10:00:00+02:00,\n"
    )
    said = cli("records", "import", "--tenant", "t-head", "--csv", str(extract),
               "--assignments", str(assignments), ok=False)  # fmt: skip
    assert "lacks the column(s) device_id, valid_from, valid_to" in said
    assert str(assignments) in said
    with schema.connect() as conn:
        written = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("tenants", "stays", "residents", "audit_log")
        }
    assert written == {"tenants": 0, "stays": 0, "residents": 0, "audit_log": 0}
