"""Small shared pieces: array aliases, the ``Estimate`` result and argument checks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]
StrArray = npt.NDArray[np.str_]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    value
        The point estimate. ``math.inf`` means "not reached" (e.g. a median beyond follow-up).
    low, high
        The interval ends; ``math.inf`` for an end that the data cannot bound.
    confidence_level
        Nominal coverage of the interval, e.g. 0.95.
    unit
        Unit of all three numbers, e.g. ``"days"`` or ``"NOK/year"``.
    """

    value: float
    low: float
    high: float
    confidence_level: float
    unit: str

    def __str__(self) -> str:
        pct = round(100 * self.confidence_level)
        return f"{_fmt(self.value)} {self.unit} ({pct}% CI {_fmt(self.low)} to {_fmt(self.high)})"


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "not reached" if x > 0 else "-inf"
    if math.isnan(x):
        return "n/a"
    return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"


def check_confidence_level(confidence_level: float) -> float:
    """Return ``confidence_level`` as a float, or raise ValueError if it is not in (0, 1)."""
    level = float(confidence_level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence_level must be between 0 and 1, got {confidence_level}")
    return level


def check_horizon(horizon_days: float) -> float:
    """Return ``horizon_days`` as a float, or raise ValueError if not positive and finite."""
    horizon = float(horizon_days)
    if not (math.isfinite(horizon) and horizon > 0.0):
        raise ValueError(f"horizon_days must be a positive number of days, got {horizon_days}")
    return horizon


def percentile_interval(
    replicates: FloatArray, confidence_level: float
) -> tuple[FloatArray, FloatArray]:
    """Equal-tailed percentile interval over the last axis (linear interpolation).

    This is the same rule ``scipy.stats.bootstrap(method="percentile")`` applies, so money
    figures derived from the effect replicates get intervals computed the same way.
    """
    alpha = (1.0 - confidence_level) / 2.0
    low = np.quantile(replicates, alpha, axis=-1)
    high = np.quantile(replicates, 1.0 - alpha, axis=-1)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
