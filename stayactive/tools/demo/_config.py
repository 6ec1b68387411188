"""What the demo simulates: Stavanger's short-term wards, their devices and their people."""

from __future__ import annotations

import math
from dataclasses import dataclass

from stayactive.auth import Role

TENANT = "stavanger"
TENANT_NAME = "Stavanger kommune"
#: (site, ward) of the four short-term wards: two sites, two wards each. Ward names become part
#: of device ids (``walker-<ward>-NN``, ``robot-<ward>``).
WARDS: tuple[tuple[str, str], ...] = (
    ("Stavanger helsehus", "helsehuset-k1"),
    ("Stavanger helsehus", "helsehuset-k2"),
    ("Lassa sykehjem", "lassa-k1"),
    ("Lassa sykehjem", "lassa-k2"),
)
#: Days the simulated world runs before the history starts, so that the wards are full on the
#: first day the devices send (residents present then get their walker on that day, go-live).
WARMUP_DAYS = 28
#: Days after today the simulated world goes on (the devices publish live until then).
HORIZON_DAYS = 120
#: Days of care-record history before the devices came (the comparison period).
COMPARISON_DAYS = 365
#: Admissions per walker and day: keeps most walkers in use (stays last ~3 weeks).
STAYS_PER_WALKER_DAY = 0.04


@dataclass(frozen=True)
class DemoUser:
    """A person who logs in to the demo: name, role and (for care staff) wards."""

    username: str
    role: Role
    wards: tuple[str, ...] = ()
    description: str = ""


USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "admin", description="administrator (hele kommunen)"),
    DemoUser(
        "pleier.helsehuset",
        "care_staff",
        ("helsehuset-k1", "helsehuset-k2"),
        "sykepleier, Stavanger helsehus",
    ),
    DemoUser("pleier.lassa", "care_staff", ("lassa-k1",), "fysioterapeut, Lassa korttid 1"),
    DemoUser("okonomi", "finance", description="økonomi (bare aggregater)"),
)


@dataclass(frozen=True)
class DemoConfig:
    """The size of the demo: ``residents`` walkers (about one resident each), ``days`` of
    history up to now, a robot per ward."""

    residents: int = 40
    days: int = 60
    seed: int = 1

    def __post_init__(self) -> None:
        if self.residents < len(WARDS):
            raise ValueError(f"--residents: at least {len(WARDS)} (one walker per ward)")
        if not 1 <= self.days <= 365:
            raise ValueError("--days: between 1 and 365")

    @property
    def walkers_per_ward(self) -> int:
        return math.ceil(self.residents / len(WARDS))

    @property
    def world_days(self) -> int:
        """The simulated period: warm-up, history, then the horizon the devices go on into."""
        return WARMUP_DAYS + self.days + HORIZON_DAYS

    @property
    def n_stays(self) -> int:
        walkers = self.walkers_per_ward * len(WARDS)
        return max(len(WARDS), round(STAYS_PER_WALKER_DAY * walkers * self.world_days))

    @property
    def wards(self) -> tuple[str, ...]:
        return tuple(w for _, w in WARDS)
