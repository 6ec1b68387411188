"""Bland-Altman limits of agreement with their confidence intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from analytics.agreement._events import json_number

__all__ = ["BlandAltman", "bland_altman"]


@dataclass(frozen=True)
class BlandAltman:
    """Agreement of paired measurements with a reference.

    Differences are measured minus reference (in the unit of the data, or in percent of the
    reference when ``relative``). ``lower`` and ``upper`` are the limits of agreement, bias
    -/+ z SD, between which about ``level`` of the differences of a new pair fall; each figure
    comes with its ``level`` confidence interval.

    Attributes
    ----------
    n : int
        Pairs used (pairs with a missing or, when relative, zero reference are left out).
    bias, bias_ci : float, (float, float)
    sd : float
        Sample standard deviation of the differences.
    lower, lower_ci, upper, upper_ci : float, (float, float)
    level : float
    relative : bool
    """

    n: int
    bias: float
    bias_ci: tuple[float, float]
    sd: float
    lower: float
    lower_ci: tuple[float, float]
    upper: float
    upper_ci: tuple[float, float]
    level: float
    relative: bool

    def as_json(self) -> dict[str, object]:
        """The figures as JSON values (NaN becomes None)."""

        return {
            "n": self.n,
            "bias": json_number(self.bias),
            "bias_ci": [json_number(v) for v in self.bias_ci],
            "sd": json_number(self.sd),
            "lower": json_number(self.lower),
            "lower_ci": [json_number(v) for v in self.lower_ci],
            "upper": json_number(self.upper),
            "upper_ci": [json_number(v) for v in self.upper_ci],
            "level": self.level,
            "relative": self.relative,
        }


def bland_altman(
    measured: npt.ArrayLike,
    reference: npt.ArrayLike,
    *,
    level: float = 0.95,
    relative: bool = False,
) -> BlandAltman:
    """Bias and limits of agreement of ``measured`` against ``reference``.

    The bias interval is the t interval of a mean. The intervals of the limits use the
    approximate standard error of Bland & Altman (1999), ``SD sqrt(1/n + z^2 / (2 (n - 1)))``,
    with the t quantile. With fewer than two pairs the SD and every interval are NaN.

    Parameters
    ----------
    measured, reference : array_like, shape (n,)
        Paired values (e.g. steps counted by the device and by a physiotherapist per trial).
    level : float, optional
        Coverage of the limits and of the confidence intervals.
    relative : bool, optional
        Differences in percent of the reference, for trials of different lengths.

    References
    ----------
    .. [1] Bland JM, Altman DG. Statistical methods for assessing agreement between two
       methods of clinical measurement. Lancet 1986;327(8476):307-310.
       doi:10.1016/S0140-6736(86)90837-8
    .. [2] Bland JM, Altman DG. Measuring agreement in method comparison studies. Stat Methods
       Med Res 1999;8(2):135-160. doi:10.1177/096228029900800204
    """
    m = np.asarray(measured, dtype=np.float64).reshape(-1)
    r = np.asarray(reference, dtype=np.float64).reshape(-1)
    if len(m) != len(r):
        raise ValueError(f"{len(m)} measured values against {len(r)} reference values")
    ok = np.isfinite(m) & np.isfinite(r)
    if relative:
        ok &= r != 0.0
    m, r = m[ok], r[ok]
    d = 100.0 * (m - r) / r if relative else m - r
    n = len(d)
    nan2 = (math.nan, math.nan)
    if n == 0:
        return BlandAltman(0, math.nan, nan2, math.nan, math.nan, nan2, math.nan, nan2, level,
                           relative)  # fmt: skip
    bias = float(np.mean(d))
    if n < 2:
        return BlandAltman(n, bias, nan2, math.nan, math.nan, nan2, math.nan, nan2, level,
                           relative)  # fmt: skip
    sd = float(np.std(d, ddof=1))
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    t = float(stats.t.ppf(0.5 + level / 2.0, n - 1))
    se_bias = sd / math.sqrt(n)
    se_limit = sd * math.sqrt(1.0 / n + z * z / (2.0 * (n - 1)))
    lower, upper = bias - z * sd, bias + z * sd
    return BlandAltman(
        n=n,
        bias=bias,
        bias_ci=(bias - t * se_bias, bias + t * se_bias),
        sd=sd,
        lower=lower,
        lower_ci=(lower - t * se_limit, lower + t * se_limit),
        upper=upper,
        upper_ci=(upper - t * se_limit, upper + t * se_limit),
        level=level,
        relative=relative,
    )
