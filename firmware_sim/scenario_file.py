"""The scenario file: a world's parameters and its devices' credentials, in one JSON document.

Written when the devices are provisioned and read by every later run, so that the simulated
devices are exactly the registered ones and the world is the same for the same seed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from firmware_sim.world import World, WorldConfig


@dataclass
class Scenario:
    """Everything a simulator run needs besides its options."""

    tenant: str
    broker_host: str
    broker_port: int
    start: datetime
    days: int
    n_stays: int
    seed: int = 0
    effect: float = 0.5
    intervention: float = 1.0
    wards: tuple[str, ...] = ("ward-a", "ward-b")
    walkers_per_ward: int = 6
    tz_name: str = "Europe/Oslo"
    passwords: dict[str, str] = field(default_factory=dict)
    #: The CA file the broker's certificate chains to: set, the devices connect with TLS.
    broker_ca_file: str | None = None

    def world(self) -> World:
        """The world this scenario describes (deterministic for its seed)."""
        return World(
            WorldConfig(
                start=self.start, days=self.days, n_stays=self.n_stays, seed=self.seed,
                effect=self.effect, intervention=self.intervention, wards=self.wards,
                walkers_per_ward=self.walkers_per_ward, tz_name=self.tz_name,
            )
        )  # fmt: skip

    def save(self, path: Path) -> None:
        """Write as JSON readable only by the owner (it holds device passwords)."""
        doc: dict[str, Any] = asdict(self)
        doc["start"] = self.start.isoformat()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=1)

    @classmethod
    def load(cls, path: Path) -> Scenario:
        """Read a scenario file written by :meth:`save`."""
        doc = json.loads(path.read_text())
        doc["start"] = datetime.fromisoformat(doc["start"])
        doc["wards"] = tuple(doc["wards"])
        return cls(**doc)
