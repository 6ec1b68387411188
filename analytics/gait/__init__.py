"""Signal layer: steps, walking bouts, turns, sit-to-stands and handle load from sensor arrays.

Pure functions and algorithm classes on numpy arrays, no database. Two entry points:

* :func:`detect_steps` -- the generic detector: 3-axis acceleration in any orientation (a
  walker frame or a lower-back sensor) to the sample indices of steps;
* :class:`WalkerSignals` -- a walker's samples binned onto a 10-Hz working grid (gaps, rate
  changes and missing values handled), which :class:`StepDetectorWalker`,
  :class:`BoutDetectorOdometry`, :class:`TurnDetectorGyro` and
  :class:`SitToStandDetectorForce` work on.

Each algorithm class is named for its task and method, takes keyword-only parameters, and has
one action method returning ``self`` with results in attributes ending in ``_``.
``docs/metrics.md`` describes every algorithm, its thresholds and its validation.
"""

from analytics.gait._bouts import BoutDetectorOdometry, Bouts, bout_intervals, stride_time_cv
from analytics.gait._load import HandleLoad, handle_load, walking_mask
from analytics.gait._motion import WalkerMotion
from analytics.gait._signals import MAX_GAP_S, WORK_RATE_HZ, Runs, WalkerSignals, split_runs
from analytics.gait._steps_acc import (
    StepDetectorVerticalAcc,
    detect_steps,
    group_steps,
    vertical_acceleration,
)
from analytics.gait._steps_walker import StepDetectorWalker
from analytics.gait._transitions import SitToStandDetectorForce, Transitions
from analytics.gait._turns import TurnDetectorGyro, Turns

__all__ = [
    "MAX_GAP_S",
    "WORK_RATE_HZ",
    "BoutDetectorOdometry",
    "Bouts",
    "HandleLoad",
    "Runs",
    "SitToStandDetectorForce",
    "StepDetectorVerticalAcc",
    "StepDetectorWalker",
    "Transitions",
    "TurnDetectorGyro",
    "Turns",
    "WalkerMotion",
    "WalkerSignals",
    "bout_intervals",
    "detect_steps",
    "group_steps",
    "handle_load",
    "split_runs",
    "stride_time_cv",
    "vertical_acceleration",
    "walking_mask",
]
