"""Helpers shared by the world-model tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from firmware_sim.world import Stay, reference_resident

OSLO = ZoneInfo("Europe/Oslo")


def make_stay(speed_mps: float, admitted: date, days: int = 60, stay_id: str = "S-test") -> Stay:
    """A stay on the ward for ``days`` local days at a constant usual gait speed."""
    return Stay(
        stay_id=stay_id,
        resident=reference_resident(),
        ward="ward-a",
        stay_type=19,
        intervention=True,
        adherence=1.0,
        tz_name="Europe/Oslo",
        admitted_at=datetime(
            admitted.year, admitted.month, admitted.day, 0, 0, tzinfo=OSLO
        ).astimezone(UTC),
        discharged_at=None,
        destination=None,
        readmitted_within_30d=None,
        readmitted_at=None,
        daily_gait_speed_mps=np.full(days, speed_mps),
    )
