"""A resident's days, stays and walking bouts."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class ResidentDayPublic(BaseModel):
    """One resident-day (docs/metrics.md). ``has_data`` false: unknown, never "inactive"."""

    date: dt.date
    has_data: bool
    walker_data: bool
    robot_data: bool
    coverage: float = Field(description="Monitored share of the day, 0-1.")
    in_use_s: float | None
    steps: int | None
    distance_m: float | None
    walking_min: float | None
    bouts: int | None
    bouts_10s: int | None
    bouts_30s: int | None
    bouts_60s: int | None
    bout_duration_median_s: float | None
    bout_duration_p90_s: float | None
    gait_speed_median_mps: float | None
    gait_speed_p90_mps: float | None
    cadence_spm: float | None
    stride_time_cv: float | None
    turns: int | None
    sit_to_stands: int | None
    handle_load_n: float | None
    handle_asymmetry: float | None
    robot_sessions: int | None
    exercise_min: float | None
    repetitions: int | None
    robot_sit_to_stands: int | None
    five_sts_s: float | None
    metric_version: str
    device_id: str | None


class ResidentDaysPublic(BaseModel):
    resident_id: int
    pseudonym: str
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    days: list[ResidentDayPublic] = Field(
        description="Computed days in the range a care consent covers, by date."
    )
    days_without_care_consent: int = Field(
        default=0, description="Days of the range not shown: no care consent covers them."
    )
    days_outside_ward_scope: int = Field(
        default=0,
        description="Days of the range not shown to care staff: no stay of the resident on "
        "their wards covers them (always 0 for admins).",
    )

    model_config = {"populate_by_name": True}


class TrajectoryPublic(BaseModel):
    """The stay's course (docs/metrics.md, "Stay trajectories")."""

    n_days: int
    n_days_with_data: int
    gait_speed_baseline_mps: float | None
    gait_speed_latest_mps: float | None
    gait_speed_change_mps: float | None
    gait_speed_slope_per_day: float | None
    gait_speed_slope_low: float | None
    gait_speed_slope_high: float | None
    gait_speed_change_class: str | None
    steps_baseline: float | None
    steps_latest: float | None
    steps_change: float | None
    steps_slope_per_day: float | None
    days_to_community_speed: int | None
    declining_3d: bool
    steps_declining_3d: bool
    flags: list[str]
    metric_version: str


class StayPublic(BaseModel):
    stay_id: int
    ward_id: int
    ward: str
    site: str
    admitted_at: dt.datetime
    discharged_at: dt.datetime | None
    stay_type: int = Field(description="KPR code: 18, 19 or 20.")
    discharge_destination: str | None
    external_ref: str | None
    trajectory: TrajectoryPublic | None


class BoutPublic(BaseModel):
    start: dt.datetime
    end: dt.datetime
    duration_s: float
    steps: int
    distance_m: float
    speed_mps: float
    cadence_spm: float
    stride_time_cv: float | None


class BoutsPublic(BaseModel):
    resident_id: int
    date: dt.date
    device_id: str | None = Field(description="The walker that covered most of the day.")
    bouts: list[BoutPublic]
    care_consent: bool = Field(
        default=True, description="False: no care consent covers the day, nothing computed."
    )
