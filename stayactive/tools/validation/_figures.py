"""Figures shared by the validation harnesses: coverage intervals and JSON-ready values."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from scipy import stats

from analytics.agreement import json_number


def coverage_interval(covered: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) 95% interval of a coverage of ``covered`` in ``n``."""
    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(covered, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, recursively (JSON has neither):
    :func:`analytics.agreement.json_number` applied through dicts and lists."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, float):
        return json_number(value)
    return value


def spread_to_interval(estimates: Sequence[float], widths: Sequence[float]) -> float:
    """SD of the estimates over seeds / the SE the 95% intervals imply (mean width / 3.92):
    near 1 when the intervals are as wide as the estimates really spread, above 1 when they
    are too narrow. NaN with fewer than two estimates."""
    if len(estimates) < 2 or not widths:
        return math.nan
    implied_se = statistics.fmean(widths) / (2 * 1.96)
    return statistics.stdev(estimates) / implied_se if implied_se > 0 else math.nan
