"""The demo's state, kept with the services: ``DATA_DIR/demo/`` (and its database schema).

Two clones of the repository on one machine share the services, so they share this too: the
second ``make demo`` finds the first one's tenant, devices and logins instead of provisioning
the same device ids again behind its back. Files holding secrets are 0600 in a 0700 folder.

::

    demo.json      the size it was made with, the schema, when
    scenario.json  the simulated world and the devices' broker passwords (firmware_sim's format)
    logins.txt     the people's user names and passwords (printed once, kept here)
    fleet.json     how far the simulated devices have sent (written by `stayactive demo devices`)
    records/       the care-record extracts as imported (CSV)
    logs/          the supervised processes' logs
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from firmware_sim.scenario_file import Scenario
from stayactive.errors import ConfigurationError, ServiceError
from stayactive.paths import ServicePaths, write_private
from stayactive.settings import Settings
from stayactive.tools.demo._config import USERS, DemoConfig


def ingest_worker_id(settings: Settings) -> str:
    """The demo's one ingest worker (per demo schema): its broker session outlives a stop, so
    what the devices sent meanwhile waits for the next run."""
    return f"{settings.database_schema}-ingest-1"


@dataclass(frozen=True)
class DemoFiles:
    """Where each part of the demo's state lives."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "demo.json"

    @property
    def scenario(self) -> Path:
        return self.root / "scenario.json"

    @property
    def logins(self) -> Path:
        return self.root / "logins.txt"

    @property
    def fleet(self) -> Path:
        return self.root / "fleet.json"

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def prepare(self) -> None:
        """Create the folder (0700: it holds passwords)."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    @property
    def provisioned(self) -> bool:
        """True once the tenant, devices and logins exist (the last file written)."""
        return self.config.exists()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Hold the demo's lock: one ``stayactive demo`` at a time on these services."""
        self.prepare()
        with (self.root / "demo.lock").open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                raise ServiceError(
                    f"the demo is already running ({handle.read().strip() or 'another process'});"
                    " stop it with Ctrl-C there, or open what it printed"
                ) from None
            handle.truncate(0)
            handle.write(f"pid {os.getpid()}, started from {Path.cwd()}\n")
            handle.flush()
            yield

    def running_elsewhere(self) -> str | None:
        """Who holds the demo's lock (``pid N, started from …``), or None if nobody does."""
        path = self.root / "demo.lock"
        if not path.exists():
            return None
        with path.open("r") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "another process"
        return None

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Serialise changes of the files between the demo and its devices process."""
        self.prepare()
        with (self.root / "state.lock").open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield


def demo_files(settings: Settings) -> DemoFiles:
    """Where the demo keeps its state: ``STAYACTIVE_DEMO_DIR``, else ``DATA_DIR/demo``."""
    return DemoFiles(settings.demo_dir or ServicePaths(settings.data_dir).demo_dir)


#: The version of the simulated care records a demo imports. A demo made with another one
#: would get the new records beside its own (other stays, other people): it must start anew.
RECORDS_VERSION = 2


@dataclass(frozen=True)
class DemoRecord:
    """``demo.json``: what the demo was made with (``records``: :data:`RECORDS_VERSION`; a
    demo.json without it is of version 1)."""

    config: DemoConfig
    schema: str
    created_at: str
    records: int = RECORDS_VERSION

    def save(self, files: DemoFiles) -> None:
        doc = {
            "config": asdict(self.config), "schema": self.schema, "created_at": self.created_at,
            "records": self.records,
        }  # fmt: skip
        write_private(files.config, json.dumps(doc, indent=1) + "\n")

    @classmethod
    def load(cls, files: DemoFiles) -> DemoRecord:
        try:
            doc = json.loads(files.config.read_text())
            return cls(
                DemoConfig(**doc["config"]), str(doc["schema"]), str(doc["created_at"]),
                int(doc.get("records", 1)),
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"{files.config} is unreadable ({exc}); start again with `stayactive demo --reset`"
            ) from exc


def load_scenario(files: DemoFiles) -> Scenario:
    """The simulated world with its devices' passwords."""
    try:
        return Scenario.load(files.scenario)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"{files.scenario} is unreadable ({exc}); start again with `stayactive demo --reset`"
        ) from exc


def save_scenario(files: DemoFiles, scenario: Scenario) -> None:
    """Write the scenario (0600; it holds device passwords) atomically."""
    scenario.save(files.scenario.with_suffix(".new"))
    files.scenario.with_suffix(".new").replace(files.scenario)


def save_logins(files: DemoFiles, passwords: dict[str, str]) -> None:
    """``logins.txt``: one line per person, user name, password and role."""
    lines = ["# StayActive demo: log-ins (user name, password, role)"]
    lines += [f"{u.username}\t{passwords[u.username]}\t{u.description}" for u in USERS]
    write_private(files.logins, "\n".join(lines) + "\n")


def load_logins(files: DemoFiles) -> dict[str, str]:
    """User name → password, from ``logins.txt``."""
    out: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in files.logins.read_text().splitlines():
            if line and not line.startswith("#"):
                username, password, *_ = line.split("\t")
                out[username] = password
    return out


@dataclass
class FleetCheckpoint:
    """``fleet.json``: how far the simulated devices have sent.

    ``simulated_until``: every message the devices made up to this time (epoch seconds) has
    been acknowledged by the broker; a restarted fleet goes on after it, each device with a
    boot counter above ``boots``. ``live``: the history is sent, the devices follow the clock.
    """

    simulated_until: float | None = None
    boots: dict[str, int] = field(default_factory=dict)
    live: bool = False
    history_from: float | None = None
    updated_at: str = ""

    def save(self, files: DemoFiles) -> None:
        self.updated_at = datetime.now(UTC).isoformat(timespec="seconds")
        write_private(files.fleet, json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, files: DemoFiles) -> FleetCheckpoint:
        try:
            doc: dict[str, Any] = json.loads(files.fleet.read_text())
            return cls(**doc)
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"{files.fleet} is unreadable ({exc}); start again with `stayactive demo --reset`"
            ) from exc
