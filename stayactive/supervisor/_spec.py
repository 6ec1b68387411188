"""What the supervisor runs: one :class:`ProcessSpec` per process, and how it restarts them."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProcessSpec:
    """One supervised process.

    Attributes
    ----------
    name
        Short name: the log file is ``<name>.log``.
    argv
        The command line. :func:`stayactive_command` makes one for a ``stayactive`` command.
    health_url
        An HTTP URL that answers 200 once the process is ready (None: ready when started).
    env
        Variables set for this process on top of the supervisor's environment.
    stop_timeout_s
        How long the process may take to stop after SIGTERM before it is killed.
    confined
        The process needs no secret and no file of the data directory (the dashboard, which
        only calls the API): its systemd unit runs it as a user of its own, with a settings
        file of its own instead of the shared one (which holds the database and broker
        passwords), and without a view of the data directory, where the secrets folder is.
    """

    name: str
    argv: tuple[str, ...]
    health_url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    stop_timeout_s: float = 30.0
    confined: bool = False


def stayactive_command(*args: str) -> tuple[str, ...]:
    """The command line of ``stayactive ARGS…`` with this interpreter (the same environment)."""
    return (sys.executable, "-m", "stayactive", *args)


@dataclass(frozen=True)
class RestartPolicy:
    """How a crashed process is restarted: after ``initial_delay_s``, doubling with each crash
    in a row up to ``max_delay_s``; a process that ran ``stable_after_s`` starts again from the
    initial delay. More than ``max_crashes`` crashes within ``window_s`` is a process that keeps
    crashing: it is reported, and restarted at ``max_delay_s`` until it runs stably again."""

    initial_delay_s: float = 1.0
    max_delay_s: float = 30.0
    stable_after_s: float = 60.0
    max_crashes: int = 5
    window_s: float = 300.0

    def delay_s(self, crashes_in_a_row: int) -> float:
        """The wait before restart number ``crashes_in_a_row`` (1 for the first)."""
        return min(self.max_delay_s, self.initial_delay_s * 2.0 ** max(0, crashes_in_a_row - 1))
