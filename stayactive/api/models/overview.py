"""The ward overview: one row per resident for the care staff's daily round."""

from __future__ import annotations

import datetime as _dt
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

AlertKind = Literal[
    "not_up_by_hour", "declining_3_days", "no_data", "device_offline", "battery_low"
]

#: Urgency rank of each kind, 1 = most urgent: a resident who has not got up needs someone now;
#: a decline needs a plan today; missing data and device problems need a check; a low battery
#: needs a charger.
URGENCY: dict[AlertKind, int] = {
    "not_up_by_hour": 1,
    "declining_3_days": 2,
    "no_data": 3,
    "device_offline": 4,
    "battery_low": 5,
}


class Handled(BaseModel):
    at: datetime
    by: str
    note: str


class AlertPublic(BaseModel):
    """An alert: open from ``since`` until its condition clears (``resolved_at``)."""

    alert_id: int
    kind: AlertKind
    urgency: int = Field(description="1 = most urgent (not up) … 5 = least (battery low).")
    resident_id: int
    ward_id: int
    device_id: str | None
    since: datetime
    resolved_at: datetime | None
    handled: Handled | None
    message: str = Field(description="What it means, in the requested language.")


class DayPoint(BaseModel):
    """One day of the 7-day series. ``has_data`` false means unknown, not inactive."""

    date: date
    has_data: bool
    steps: int | None
    walking_min: float | None
    coverage: float


class Level(BaseModel):
    """The resident's own recent level: medians of the previous 7 days that have data."""

    steps_median: float | None
    walking_min_median: float | None
    days_with_data: int
    steps_vs_level: float | None = Field(
        description="The date's steps / level - 1 (-0.35 = 35 % below). While the date is "
        "today this compares the day so far with whole days (see `day_complete`); compare "
        "`last_full_day` instead."
    )
    walking_vs_level: float | None = Field(
        description="The date's walking minutes / level - 1; the same caveat for today."
    )
    day_complete: bool = Field(
        default=True,
        description="False while the date is today in the ward's time zone: the day is not over "
        "and its figures are so far.",
    )


class FullDayVsLevel(BaseModel):
    """The last complete day against the resident's level of the 7 days before it."""

    date: _dt.date = Field(
        description="Yesterday when the overview is of today; else the overview's date."
    )
    has_data: bool
    steps: int | None
    walking_min: float | None
    steps_median: float | None = Field(description="Median of the 7 days before `date`.")
    walking_min_median: float | None
    days_with_data: int
    steps_vs_level: float | None = Field(
        description="The day's steps / level - 1 (-0.35 = 35 % below); null without a level "
        "or data that day."
    )
    walking_vs_level: float | None


class Gait(BaseModel):
    speed_mps: float | None = Field(description="Gait speed of the latest day with walking.")
    speed_date: date | None
    baseline_mps: float | None = Field(description="First days of the stay.")
    change_mps: float | None
    slope_mps_per_day: float | None
    trend: Literal["improving", "stable", "declining", "unknown"]
    change_class: str | None


class DeviceBrief(BaseModel):
    device_id: str
    kind: Literal["walker", "robot"]
    state: str | None
    battery_pct: float | None
    charging: bool | None
    last_seen_at: datetime | None


class StayBrief(BaseModel):
    stay_id: int
    admitted_at: datetime
    day_of_stay: int
    stay_type: int


class Display(BaseModel):
    """The figures as text, formatted on the server in the requested language."""

    steps: str
    walking: str
    level: str = Field(description="`level.steps_vs_level` as text (today: the day so far).")
    last_full_day_steps: str = Field(default="–", description="`last_full_day.steps` as text.")
    last_full_day_level: str = Field(
        default="–", description='`last_full_day.steps_vs_level` as text, signed ("−12 %").'
    )
    gait_speed: str
    last_activity: str
    coverage: str


class ResidentRow(BaseModel):
    resident_id: int
    pseudonym: str
    display_name: str | None = Field(description="Only for care staff of the ward, if recorded.")
    room: str | None
    stay: StayBrief
    today: DayPoint
    level: Level
    last_full_day: FullDayVsLevel = Field(
        description="The last complete day against the level of the 7 days before it: what to "
        "compare early in the day, when today's steps so far are few."
    )
    series: list[DayPoint] = Field(description="The 7 days ending on the overview's date.")
    gait: Gait
    last_activity_at: datetime | None = Field(description="Newest walker frame of the resident.")
    coverage_7d: float = Field(description="Mean monitored share of the 7 days (0-1).")
    devices: list[DeviceBrief]
    alerts: list[AlertPublic]
    display: Display


class WardOverviewPublic(BaseModel):
    ward_id: int
    ward: str
    site: str
    date: date
    time_zone: str
    generated_at: datetime
    not_up_by: str = Field(description="Local time after which 'not up' is raised, HH:MM.")
    lang: Literal["nb", "en"]
    residents: list[ResidentRow] = Field(description="Most urgent first.")
    alert_counts: dict[str, int]
    residents_without_care_consent: int = Field(
        default=0,
        description="Residents of the ward that day who are not shown: no care consent covers "
        "the day (docs/privacy.md).",
    )
