"""Errors raised by the stays analytics, as branches of the StayActive hierarchy::

    StayActiveError                     (stayactive.errors)
    ├── ConfigurationError              (stayactive.errors)
    │   └── InvalidParameter            stop: a money parameter is wrong; also a ValueError
    └── InsufficientData                report "not enough data" instead of a figure

``InsufficientData`` is what every estimator raises when the stays given cannot support an
honest figure (an empty arm, fewer stays than the publication threshold, a Kaplan-Meier curve
that ends before the horizon). The estimators never return a made-up or silently suppressed
number: the caller decides how to show the gap.
"""

from __future__ import annotations

from stayactive.errors import ConfigurationError, StayActiveError


class InsufficientData(StayActiveError):
    """Too few stays or outcomes for the figure asked for.

    Parameters
    ----------
    what
        The figure that could not be computed, e.g. ``"effect on length of stay"``.
    n_available, n_required
        How many stays (or outcomes) there are and how many the figure needs.
    detail
        One sentence on why, for the person reading the report.
    """

    def __init__(self, what: str, *, n_available: int, n_required: int, detail: str = "") -> None:
        self.what = what
        self.n_available = n_available
        self.n_required = n_required
        self.detail = detail
        message = f"not enough data for the {what}: {n_available} available, {n_required} needed"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class InvalidParameter(ConfigurationError, ValueError):
    """A parameter of a money calculation is out of range or inconsistent.

    It is both a :class:`~stayactive.errors.ConfigurationError` (stop and fix the parameter
    set) and a :class:`ValueError`, so callers may catch either.
    """

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)
