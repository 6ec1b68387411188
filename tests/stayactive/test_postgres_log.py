"""The server log holds no row contents: a constraint error's DETAIL and a slow statement's
bind values could carry personal data (docs/privacy.md, "Logs")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from stayactive import db, services
from stayactive.errors import ServiceError
from stayactive.services.postgres import PRIVATE_LOG_SETTINGS, add_missing_settings, check_port
from stayactive.settings import Settings
from tests.fixtures.streams import wait_until


def test_an_older_clusters_configuration_gets_the_missing_settings(tmp_path: Path) -> None:
    conf = tmp_path / "stayactive.conf"
    conf.write_text("port = 5432\nlog_error_verbosity = verbose  # the operator's own")
    assert add_missing_settings(conf) == ["log_parameter_max_length"]
    text = conf.read_text()
    assert "log_error_verbosity = verbose  # the operator's own\n" in text  # left alone
    assert text.endswith("log_parameter_max_length = 0\n")
    assert add_missing_settings(conf) == []  # a second run adds nothing
    assert conf.read_text() == text


def test_an_operators_value_without_an_equals_sign_is_left_alone(tmp_path: Path) -> None:
    """postgresql.conf takes ``name value`` as well as ``name = value``, in any case: a value
    set so is the operator's, not missing (appended after it, ours would override it)."""
    conf = tmp_path / "stayactive.conf"
    conf.write_text("log_error_verbosity verbose\nLOG_PARAMETER_MAX_LENGTH=64\n")
    assert add_missing_settings(conf) == []
    assert conf.read_text() == "log_error_verbosity verbose\nLOG_PARAMETER_MAX_LENGTH=64\n"


def test_a_cluster_on_another_port_than_the_settings_is_named(tmp_path: Path) -> None:
    """The configuration is written once: a port changed in ``.env`` afterwards made
    ``services up`` wait 30 s and say only "does not accept connections"."""
    conf = tmp_path / "stayactive.conf"
    conf.write_text("listen_addresses = '127.0.0.1'\nport = 55472\n# port = 1\n")
    check_port(conf, 55472)
    with pytest.raises(ServiceError, match=r"listens on port 55472 .* STAYACTIVE_PG_PORT is 55432"):
        check_port(conf, 55432)
    conf.write_text("PORT 6000\nport = 55432\n")  # the last one counts, as in PostgreSQL
    check_port(conf, 55432)


def test_a_constraint_error_leaves_no_row_contents_in_the_log(settings: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stayactive", "services", "up"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    log = services.paths_for(settings).pg_log
    start = log.stat().st_size
    with db.connect(settings) as conn:
        for key, value in PRIVATE_LOG_SETTINGS.items():
            row = conn.execute(f"SHOW {key}").fetchone()
            assert row is not None and row[0] == value, (key, row)
        conn.execute("CREATE TEMP TABLE probe (x text CHECK (x <> 'Kari Nordmann 01017012345'))")
        with pytest.raises(psycopg.errors.CheckViolation) as raised:
            conn.execute("INSERT INTO probe VALUES (%s)", ("Kari Nordmann 01017012345",))
        # The client still gets the whole error; only the log is terse.
        assert "Failing row contains" in str(raised.value.diag.message_detail)

    def logged() -> str:
        with log.open("rb") as fh:
            fh.seek(start)
            return fh.read().decode(errors="replace")

    wait_until(lambda: "probe_x_check" in logged())
    assert "Kari Nordmann" not in logged()
    assert "Failing row contains" not in logged()
