"""E-values: how strong unmeasured confounding would have to be to explain an effect away.

The E-value (VanderWeele & Ding 2017) is the minimum strength of association, on the risk-ratio
scale, that an unmeasured confounder would need with both the programme and the outcome, beyond
the measured covariates, to move the estimate to no effect; the E-value of the interval limit
closer to the null does the same for the interval (1 if the interval already includes no
effect). For a difference in means of a continuous outcome (bed-days per stay) the standardised
difference d = difference / SD is converted to an approximate risk ratio RR = exp(0.91 d)
(VanderWeele & Ding 2017, section on continuous outcomes; Chinn 2000).

References
----------
.. [1] VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the
   E-value. Ann Intern Med 2017;167(4):268-274. doi:10.7326/M16-2607
.. [2] Chinn S. A simple method for converting an odds ratio to effect size for use in
   meta-analysis. Stat Med 2000;19(22):3127-3131.
   doi:10.1002/1097-0258(20001130)19:22<3127::AID-SIM784>3.0.CO;2-M
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analytics.stays._common import Estimate


@dataclass(frozen=True)
class EValue:
    """How strongly an unmeasured confounder would have to be associated with both the
    programme and the outcome (risk-ratio scale) to explain the estimate away (``point``) or
    to move the interval to include no effect (``interval_limit``)."""

    point: float
    interval_limit: float


def e_value_of_ratio(rr: float) -> float:
    """E-value of a risk ratio (RR < 1 is inverted first): RR + sqrt(RR (RR - 1))."""
    if not math.isfinite(rr) or rr <= 0:
        return math.nan
    r = rr if rr >= 1 else 1.0 / rr
    return r + math.sqrt(r * (r - 1.0))


def e_value_ratio(ratio: float, low: float, high: float) -> EValue:
    """E-values of a ratio estimate and of its interval limit nearer to 1."""
    limit = 1.0 if low <= 1.0 <= high else e_value_of_ratio(low if ratio > 1 else high)
    return EValue(point=e_value_of_ratio(ratio), interval_limit=limit)


def e_value_difference(effect: Estimate, sd: float) -> EValue:
    """E-values of a difference in means with outcome standard deviation ``sd``."""
    to_rr = [math.exp(0.91 * x / sd) for x in (effect.value, effect.low, effect.high)]
    return e_value_ratio(*to_rr)
