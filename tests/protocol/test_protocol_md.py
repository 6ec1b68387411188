"""Every mosquitto_pub/_sub command in protocol.md sends an existing example where it belongs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from firmware_sim import protocol as p
from tests.protocol.protocol_helpers import (
    DOCS,
    EXAMPLE_FILES,
    example,
)


def _shell_commands(markdown: str) -> list[str]:
    blocks = re.findall(r"```(?:sh|bash|shell)\n(.*?)```", markdown, flags=re.DOTALL)
    joined = "\n".join(blocks).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _mosquitto_commands() -> list[str]:
    commands = _shell_commands((DOCS / "protocol.md").read_text("utf-8"))
    # A command that runs a client (not the loop writing their options files).
    return [c for c in commands if re.search(r"(^|\| )\S*\s*mosquitto_(pub|sub) ", c)]


def _argv(command: str) -> list[str]:
    # The mosquitto part of a pipeline (`python3 … examples/x.json | mosquitto_pub … -s`).
    part = next(seg for seg in command.split(" | ") if "mosquitto_" in seg)
    return shlex.split(part)


def _option(argv: list[str], *names: str) -> str | None:
    for i, arg in enumerate(argv[:-1]):
        if arg in names:
            return argv[i + 1]
    return None


def _examples_in(command: str) -> list[str]:
    return re.findall(r"examples/[A-Za-z0-9._-]+", command)


def test_protocol_md_has_a_command_for_every_example() -> None:
    referenced = {path for c in _mosquitto_commands() for path in _examples_in(c)}
    assert referenced == {f"examples/{name}" for name in EXAMPLE_FILES}


@pytest.mark.parametrize("command", _mosquitto_commands())
def test_mosquitto_command_matches_its_example(command: str) -> None:
    """Each command, pasted as it stands in docs/, sends an existing example where it belongs."""
    (path,) = _examples_in(command)
    assert (DOCS / path).is_file(), f"{path} (the commands run from docs/)"
    msg = example(Path(path).name)
    argv = _argv(command)
    options_dir = argv.pop(0)  # XDG_CONFIG_HOME=…: the account's options file, password inside
    assert options_dir.startswith("XDG_CONFIG_HOME=~/.config/stayactive-"), options_dir
    user = options_dir.rsplit("stayactive-", 1)[1]
    assert _option(argv, "-h") == "127.0.0.1" and _option(argv, "-p") == "18830"
    assert not {"-P", "--pw", "-u", "-i"} & set(argv), "credentials come from the options file"
    assert _option(argv, "-q") == "1"
    if argv[0] == "mosquitto_sub":  # a device subscribing with its last will registered
        assert user == msg["device_id"] and msg["seq"] == 0
        assert _option(argv, "-t") == p.topic(user, "config")
        assert _option(argv, "--will-topic") == p.topic_of(msg)
        assert _option(argv, "--will-payload") == f"$(cat {path})"
        assert "--will-retain" in argv and _option(argv, "--will-qos") == "1"
        return
    assert user == ("ops-1" if msg["type"] == "config" else msg["device_id"])
    assert _option(argv, "-t") == p.topic_of(msg)
    assert ("-r" in argv) == (msg["type"] in ("status", "config"))
    assert (_option(argv, "-f") == path) != ("-s" in argv)
