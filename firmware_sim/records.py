"""Simulated stays as the care-record system would export them: stays CSV and assignments CSV.

The backend imports care-record extracts (``stayactive records import``); this module writes
such extracts from the simulator's resident model, so the savings evaluation can be run end to
end on data with a known effect. It imports nothing from ``ingest`` or ``stayactive``.

The timeline (:func:`simulate_care_records`):

1. A *historical* period of ``before_days`` without devices on any ward, then go-live of the
   device wards and an *after* period of ``after_days``; the extract is taken at its end, so
   stays admitted in the last weeks are still going on (no discharge yet).
2. Device wards: one stream of admissions simulated twice with the same seed, out of the arm and
   in it; admissions before go-live take the first version, later ones the second. Walkers are
   handed to the after-period stays first come first served
   (:func:`firmware_sim.world.assign_walkers`); a stay that finds no free walker gets none.
3. Comparison wards: an independent stream, never in the arm (concurrent comparison).
4. Consent to evaluation and to open data, and whether admission gait speed was measured, are
   drawn per stay with the configured shares.

Care-record CSV columns (:data:`CARE_RECORD_COLUMNS`, UTF-8, comma-separated, one row per stay;
``docs/operations.md`` documents the format the importer accepts):

=========================  ======================================================================
external_ref               the stay's id in the care record (``S-`` + 8 hex digits)
resident                   the resident's pseudonym (``R-`` + 8 hex digits)
birth_year                 year of birth
sex                        ``female`` or ``male``
site, ward                 where the stay is
ward_go_live_on            go-live date of a device ward (YYYY-MM-DD); empty for other wards
admitted_at                ISO 8601 with UTC offset
discharged_at              ISO 8601 with UTC offset; empty while the stay goes on
stay_type                  KPR code 18, 19 or 20
discharge_destination      home, long_term_care, hospital or death; empty while ongoing
consent_evaluation         true/false
consent_open_data          true/false
consent_care               true (the devices' data used in the resident's care)
admission_gait_speed_mps   usual gait speed on the admission day (2 decimals), empty if not
                           measured
hospital_admission_at      the next hospital admission after a discharge home, if it happened
                           by the extract date (the simulator does not tell hospital stays from
                           new short-term stays elsewhere; both are written here)
=========================  ======================================================================

Assignments CSV (:data:`ASSIGNMENT_COLUMNS`): ``device_id, kind, resident, valid_from,
valid_to`` (``valid_to`` empty while the walker is still with the resident).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from firmware_sim.world import (
    DEFAULT_TZ,
    AssignmentTruth,
    Stay,
    World,
    assign_walkers,
    derive_rng,
    simulate_stays,
)

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "CARE_RECORD_COLUMNS",
    "CareRecordConfig",
    "SimulatedRecords",
    "assignment_rows",
    "care_record_rows",
    "records_from_world",
    "simulate_care_records",
    "write_assignments",
    "write_care_records",
]

CARE_RECORD_COLUMNS: Final = (
    "external_ref",
    "resident",
    "birth_year",
    "sex",
    "site",
    "ward",
    "ward_go_live_on",
    "admitted_at",
    "discharged_at",
    "stay_type",
    "discharge_destination",
    "consent_care",
    "consent_evaluation",
    "consent_open_data",
    "admission_gait_speed_mps",
    "hospital_admission_at",
)
ASSIGNMENT_COLUMNS: Final = ("device_id", "kind", "resident", "valid_from", "valid_to")
_MEAN_LOS_DAYS: Final = 20.0


@dataclass(frozen=True)
class CareRecordConfig:
    """What to simulate (see the module docstring for the timeline).

    Attributes
    ----------
    start
        Timezone-aware start of the historical period.
    before_days, after_days
        Lengths of the periods before and after go-live.
    device_ward_stays, comparison_ward_stays
        Admissions over the whole timeline on the device wards and on the comparison wards.
    device_wards, comparison_wards, site
        Names.
    ward_sites
        (ward, site) pairs for wards at another site than ``site``.
    effect
        The simulator's effect (relative increase of the recovery rate at full adherence).
    seed
        Root seed.
    walkers_per_ward
        Walkers per device ward; None sizes them to about 1.5 x the expected occupancy.
    consent_evaluation_share, consent_open_data_share, mobility_measured_share
        Share of stays with each consent, and with a measured admission gait speed.
    tz_name
        Time zone of the wards.
    """

    start: datetime
    before_days: int = 182
    after_days: int = 182
    device_ward_stays: int = 800
    comparison_ward_stays: int = 400
    device_wards: tuple[str, ...] = ("ward-a", "ward-b")
    comparison_wards: tuple[str, ...] = ("ward-c",)
    site: str = "site-1"
    ward_sites: tuple[tuple[str, str], ...] = ()
    effect: float = 0.5
    seed: int = 0
    walkers_per_ward: int | None = None
    consent_evaluation_share: float = 0.9
    consent_open_data_share: float = 0.8
    mobility_measured_share: float = 0.85
    tz_name: str = DEFAULT_TZ
    extract_on: datetime | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.before_days < 1 or self.after_days < 1:
            raise ValueError("before_days and after_days must be at least 1")
        for name in (
            "consent_evaluation_share",
            "consent_open_data_share",
            "mobility_measured_share",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if not self.device_wards and not self.comparison_wards:
            raise ValueError("at least one ward is needed")

    @property
    def go_live(self) -> datetime:
        """Local midnight of the go-live day."""
        local = self.start.astimezone(ZoneInfo(self.tz_name))
        day = local.date() + timedelta(days=self.before_days)
        return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(self.tz_name))

    def site_of(self, ward: str) -> str:
        """The site ``ward`` belongs to."""
        return dict(self.ward_sites).get(ward, self.site)

    @property
    def extract_at(self) -> datetime:
        """The instant the extract is taken: ``extract_on``, or the end of the after period."""
        if self.extract_on is not None:
            return self.extract_on
        local = self.start.astimezone(ZoneInfo(self.tz_name))
        day = local.date() + timedelta(days=self.before_days + self.after_days)
        return datetime.combine(day, local.timetz())


@dataclass(frozen=True)
class SimulatedRecords:
    """Simulated stays with what the care record and the device registry hold about them.

    ``consent_evaluation``, ``consent_open_data`` and ``gait_measured`` are keyed by stay id.
    """

    config: CareRecordConfig
    stays: tuple[Stay, ...]
    assignments: tuple[AssignmentTruth, ...]
    consent_evaluation: dict[str, bool]
    consent_open_data: dict[str, bool]
    gait_measured: dict[str, bool]

    @property
    def go_live_on(self) -> date:
        """Go-live date of the device wards."""
        return self.config.go_live.date()


def _unique(stays: list[Stay], taken_ids: set[str], taken_people: set[str]) -> list[Stay]:
    """Give the rare stay or pseudonym that collides with another stream a suffix."""
    out: list[Stay] = []
    for stay in stays:
        if stay.stay_id in taken_ids:
            stay = replace(stay, stay_id=stay.stay_id + "-c")
        if stay.resident.pseudonym in taken_people:
            resident = replace(stay.resident, pseudonym=stay.resident.pseudonym + "-c")
            stay = replace(stay, resident=resident)
        taken_ids.add(stay.stay_id)
        taken_people.add(stay.resident.pseudonym)
        out.append(stay)
    return out


def simulate_care_records(config: CareRecordConfig) -> SimulatedRecords:
    """Simulate the stays of a historical and an after period, with assignments and consents."""
    days = config.before_days + config.after_days
    go_live = config.go_live
    stays: list[Stay] = []
    assignments: list[AssignmentTruth] = []
    if config.device_wards:
        # 1.-2. one admission stream; the arm switches on at go-live
        n, seed, wards, tz = (
            config.device_ward_stays,
            config.seed,
            config.device_wards,
            config.tz_name,
        )
        control = simulate_stays(
            n, config.start, days, config.effect, False, seed, wards=wards, tz_name=tz
        )
        treated = simulate_stays(
            n, config.start, days, config.effect, True, seed, wards=wards, tz_name=tz
        )
        before = [s for s in control if s.admitted_at < go_live]
        after = [s for s in treated if s.admitted_at >= go_live]
        stays.extend(before + after)
        per_ward_per_day = config.device_ward_stays / len(config.device_wards) / days
        walkers = config.walkers_per_ward or max(
            2, math.ceil(1.5 * per_ward_per_day * _MEAN_LOS_DAYS)
        )
        by_ward = {
            ward: [f"walker-{ward}-{k:02d}" for k in range(1, walkers + 1)]
            for ward in config.device_wards
        }
        assignments = assign_walkers(after, by_ward, config.seed)
    if config.comparison_wards:
        # 3. an independent stream on the comparison wards
        comparison = simulate_stays(
            config.comparison_ward_stays,
            config.start,
            days,
            config.effect,
            False,
            config.seed + 1_000_003,
            wards=config.comparison_wards,
            tz_name=config.tz_name,
        )
        stays.extend(
            _unique(comparison, {s.stay_id for s in stays}, {s.resident.pseudonym for s in stays})
        )
    stays.sort(key=lambda s: (s.admitted_at, s.stay_id))
    return _with_consents(config, stays, assignments)


def records_from_world(
    world: World,
    *,
    extract_at: datetime,
    site: str,
    ward_sites: tuple[tuple[str, str], ...] = (),
    go_live: datetime | None = None,
) -> SimulatedRecords:
    """The care record of a simulated world's stays (all on device wards), as extracted at
    ``extract_at``: what the demo imports next to its devices' data.

    Go-live is the world's start unless ``go_live`` (a local midnight) says later, as when the
    world runs for a while before the devices come: then stays that ended before it are left
    out, and residents present on the day get their walker at go-live."""
    cfg = world.config
    start = go_live or cfg.start
    config = CareRecordConfig(
        start=start - timedelta(days=1), before_days=1,
        after_days=max(1, cfg.days - (start - cfg.start).days), device_wards=cfg.wards,
        comparison_wards=(), site=site, ward_sites=ward_sites, seed=cfg.seed,
        walkers_per_ward=cfg.walkers_per_ward, tz_name=cfg.tz_name, extract_on=extract_at,
    )  # fmt: skip
    stays = sorted(
        (
            s for s in world.stays
            if s.admitted_at <= extract_at and (s.discharged_at is None or s.discharged_at > start)
        ),
        key=lambda s: (s.admitted_at, s.stay_id),
    )  # fmt: skip
    assignments = [
        replace(a, valid_from=max(a.valid_from, start))
        for a in world.assignments
        if a.valid_to is None or a.valid_to > start
    ]
    return _with_consents(config, stays, assignments)


def _with_consents(
    config: CareRecordConfig, stays: list[Stay], assignments: list[AssignmentTruth]
) -> SimulatedRecords:
    # 4. consents and measured gait speed, drawn per stay from a stream of their own
    rng = derive_rng(config.seed, 71)
    draws = rng.random((len(stays), 3))
    return SimulatedRecords(
        config=config,
        stays=tuple(stays),
        assignments=tuple(assignments),
        consent_evaluation={
            s.stay_id: bool(u < config.consent_evaluation_share)
            for s, u in zip(stays, draws[:, 0], strict=True)
        },
        consent_open_data={
            s.stay_id: bool(u < config.consent_open_data_share)
            for s, u in zip(stays, draws[:, 1], strict=True)
        },
        gait_measured={
            s.stay_id: bool(u < config.mobility_measured_share)
            for s, u in zip(stays, draws[:, 2], strict=True)
        },
    )


def _iso(value: datetime | None, tz: ZoneInfo) -> str:
    """Local time with its UTC offset, as care-record systems export it."""
    return "" if value is None else value.astimezone(tz).isoformat(timespec="seconds")


def care_record_rows(records: SimulatedRecords) -> list[dict[str, str]]:
    """One row per stay in the columns of :data:`CARE_RECORD_COLUMNS`."""
    config = records.config
    tz = ZoneInfo(config.tz_name)
    extract_at = config.extract_at
    go_live = records.go_live_on.isoformat()
    rows: list[dict[str, str]] = []
    for stay in records.stays:
        discharged = stay.discharged_at is not None and stay.discharged_at <= extract_at
        hospital = (
            stay.readmitted_at
            if discharged and stay.readmitted_at is not None and stay.readmitted_at <= extract_at
            else None
        )
        rows.append(
            {
                "external_ref": stay.stay_id,
                "resident": stay.resident.pseudonym,
                "birth_year": str(stay.resident.birth_year),
                "sex": "female" if stay.resident.sex == "F" else "male",
                "site": config.site_of(stay.ward),
                "ward": stay.ward,
                "ward_go_live_on": go_live if stay.ward in config.device_wards else "",
                "admitted_at": _iso(stay.admitted_at, tz),
                "discharged_at": _iso(stay.discharged_at if discharged else None, tz),
                "stay_type": str(stay.stay_type),
                "discharge_destination": (stay.destination or "") if discharged else "",
                # Every simulated resident consents to the device data's use in their care.
                "consent_care": "true",
                "consent_evaluation": str(records.consent_evaluation[stay.stay_id]).lower(),
                "consent_open_data": str(records.consent_open_data[stay.stay_id]).lower(),
                "admission_gait_speed_mps": (
                    f"{float(stay.daily_gait_speed_mps[0]):.2f}"
                    if records.gait_measured[stay.stay_id]
                    else ""
                ),
                "hospital_admission_at": _iso(hospital, tz),
            }
        )
    return rows


def assignment_rows(records: SimulatedRecords) -> list[dict[str, str]]:
    """One row per walker assignment in the columns of :data:`ASSIGNMENT_COLUMNS`."""
    tz = ZoneInfo(records.config.tz_name)
    extract_at = records.config.extract_at
    return [
        {
            "device_id": a.device_id,
            "kind": "walker",
            "resident": a.pseudonym,
            "valid_from": _iso(a.valid_from, tz),
            "valid_to": _iso(a.valid_to if a.valid_to and a.valid_to <= extract_at else None, tz),
        }
        for a in records.assignments
        if a.valid_from <= extract_at
    ]


def _write(path: Path, columns: Sequence[str], rows: list[dict[str, str]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def write_care_records(records: SimulatedRecords, path: Path) -> int:
    """Write the care-record CSV; return the number of stays written."""
    return _write(path, CARE_RECORD_COLUMNS, care_record_rows(records))


def write_assignments(records: SimulatedRecords, path: Path) -> int:
    """Write the device-assignments CSV; return the number of assignments written."""
    return _write(path, ASSIGNMENT_COLUMNS, assignment_rows(records))
