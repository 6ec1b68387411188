"""A resident's day: walker and robot figures side by side, with the metric version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from analytics.mobility._common import METRIC_VERSION
from analytics.mobility._robot_day import RobotDayMetrics
from analytics.mobility._walker_day import WalkerDayMetrics

__all__ = ["ResidentDayMetrics", "resident_day"]


@dataclass(frozen=True)
class ResidentDayMetrics:
    """Everything known about one resident's mobility on one local day.

    Walker fields are None when the resident had no walker data that day (no walker, or
    no data from it); robot fields are None when the robot was not in use. ``coverage`` is
    the walker's monitored share of the day (0 without walker data). See
    :class:`WalkerDayMetrics` and :class:`RobotDayMetrics` for the definitions.
    """

    pseudonym: str
    day: date
    walker_data: bool
    robot_data: bool
    coverage: float
    in_use_s: float | None
    steps_n: int | None
    distance_m: float | None
    walking_min: float | None
    bouts_n: int | None
    bouts_10s_n: int | None
    bouts_30s_n: int | None
    bouts_60s_n: int | None
    bout_duration_median_s: float | None
    bout_duration_p90_s: float | None
    gait_speed_median_mps: float | None
    gait_speed_p90_mps: float | None
    cadence_spm: float | None
    stride_time_cv: float | None
    turns_n: int | None
    sit_to_stands_n: int | None
    handle_load_n: float | None
    handle_asymmetry: float | None
    robot_sessions_n: int | None
    exercise_min: float | None
    repetitions_n: int | None
    robot_sit_to_stands_n: int | None
    five_sts_s: float | None
    metric_version: str = METRIC_VERSION

    @property
    def has_data(self) -> bool:
        """Walker or robot data exist for the day."""
        return self.walker_data or self.robot_data


def resident_day(
    walker: WalkerDayMetrics | None,
    robot: RobotDayMetrics | None,
    *,
    pseudonym: str | None = None,
    day: date | None = None,
) -> ResidentDayMetrics:
    """Combine a resident-day's walker and robot metrics.

    One walker result per resident-day: on the day a device is swapped, give the device
    that covered the longer part of the day (the other's samples are then not counted).

    Parameters
    ----------
    walker : WalkerDayMetrics or None
        None when no walker was assigned to the resident that day.
    robot : RobotDayMetrics or None
    pseudonym, day : optional
        Required when both results are None; otherwise taken from them.

    Raises
    ------
    ValueError
        If pseudonym or day cannot be determined, or the robot result is for another day.
    """
    who = pseudonym if pseudonym is not None else (robot.pseudonym if robot else None)
    when = day if day is not None else (walker.day if walker else (robot.day if robot else None))
    if who is None or when is None:
        raise ValueError("give pseudonym and day when there is no robot or walker result")
    if robot is not None and robot.day != when:
        raise ValueError(f"robot metrics are for {robot.day}, not {when}")
    w = walker if walker is not None and walker.has_data else None
    r = robot if robot is not None and robot.has_data else None
    return ResidentDayMetrics(
        pseudonym=who,
        day=when,
        walker_data=w is not None,
        robot_data=r is not None,
        coverage=walker.coverage if walker is not None else 0.0,
        in_use_s=w.in_use_s if w else None,
        steps_n=w.steps_n if w else None,
        distance_m=w.distance_m if w else None,
        walking_min=w.walking_min if w else None,
        bouts_n=w.bouts_n if w else None,
        bouts_10s_n=w.bouts_10s_n if w else None,
        bouts_30s_n=w.bouts_30s_n if w else None,
        bouts_60s_n=w.bouts_60s_n if w else None,
        bout_duration_median_s=w.bout_duration_median_s if w else None,
        bout_duration_p90_s=w.bout_duration_p90_s if w else None,
        gait_speed_median_mps=w.gait_speed_median_mps if w else None,
        gait_speed_p90_mps=w.gait_speed_p90_mps if w else None,
        cadence_spm=w.cadence_spm if w else None,
        stride_time_cv=w.stride_time_cv if w else None,
        turns_n=w.turns_n if w else None,
        sit_to_stands_n=w.sit_to_stands_n if w else None,
        handle_load_n=w.handle_load_n if w else None,
        handle_asymmetry=w.handle_asymmetry if w else None,
        robot_sessions_n=r.sessions_n if r else None,
        exercise_min=r.exercise_min if r else None,
        repetitions_n=r.repetitions_n if r else None,
        robot_sit_to_stands_n=r.sit_to_stands_n if r else None,
        five_sts_s=r.five_sts_s if r else None,
    )
