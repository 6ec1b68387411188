"""The README's first screen: the two commands, then what `make demo` shows and where."""

from __future__ import annotations

from pathlib import Path

from stayactive.settings import Settings
from stayactive.tools.demo._config import USERS

README = Path(__file__).resolve().parents[2] / "README.md"
FIRST_SCREEN = 40  # lines


def test_the_readme_starts_with_the_two_commands() -> None:
    lines = README.read_text().splitlines()
    assert lines[:6] == [
        "# StayActive",
        "",
        "```sh",
        "make demo   # sets everything up and runs the whole system on simulated devices",
        "make test   # sets everything up and runs the test suite",
        "```",
    ]


def test_its_first_screen_says_where_to_look_and_who_can_log_in() -> None:
    screen = "\n".join(README.read_text().splitlines()[:FIRST_SCREEN])
    defaults = Settings.model_construct()
    assert f"http://127.0.0.1:{defaults.api_port}/api/v1/openapi.json" in screen
    assert "http://127.0.0.1:8501" in screen  # the dashboard's default port
    for user in USERS:
        assert f"`{user.username}`" in screen, user.username
    assert f"{defaults.data_dir}/demo/logins.txt" in screen
    # One screenshot of the dashboard, and it is there.
    shot = "docs/images/demo-ward-overview.png"
    assert f"]({shot})" in screen
    assert (README.parent / shot).stat().st_size > 10_000
