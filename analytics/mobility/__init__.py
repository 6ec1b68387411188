"""Resident-day mobility metrics and stay trajectories (pure analytics, no database).

The database runner fills a :class:`WalkerDayInput` per device and resident-day window and
calls :func:`walker_day_metrics`; gives the robot's events to :func:`robot_day_metrics`;
joins both with :func:`resident_day`; and summarises a stay's days with
:func:`stay_trajectory`. Every result carries :data:`METRIC_VERSION`. Definitions,
thresholds and validation figures: ``docs/metrics.md``.
"""

from analytics.mobility._common import (
    DEFAULT_TZ,
    METRIC_VERSION,
    local_date_of,
    local_day_window,
)
from analytics.mobility._resident_day import ResidentDayMetrics, resident_day
from analytics.mobility._robot_day import RobotDayMetrics, RobotEvent, robot_day_metrics
from analytics.mobility._trajectory import (
    COMMUNITY_SPEED_MPS,
    SMALL_CHANGE_MPS,
    SUBSTANTIAL_CHANGE_MPS,
    Slope,
    StayTrajectory,
    stay_trajectory,
)
from analytics.mobility._walker_day import (
    BOUT_THRESHOLDS_S,
    CONTEXT_S,
    BoutRecord,
    WalkerDayInput,
    WalkerDayMetrics,
    WalkerFrame,
    walker_day_metrics,
)

__all__ = [
    "BOUT_THRESHOLDS_S",
    "COMMUNITY_SPEED_MPS",
    "CONTEXT_S",
    "DEFAULT_TZ",
    "METRIC_VERSION",
    "SMALL_CHANGE_MPS",
    "SUBSTANTIAL_CHANGE_MPS",
    "BoutRecord",
    "ResidentDayMetrics",
    "RobotDayMetrics",
    "RobotEvent",
    "Slope",
    "StayTrajectory",
    "WalkerDayInput",
    "WalkerDayMetrics",
    "WalkerFrame",
    "local_date_of",
    "local_day_window",
    "resident_day",
    "robot_day_metrics",
    "stay_trajectory",
    "walker_day_metrics",
]
