"""Errors raised by the stays analytics, as branches of the StayActive hierarchy::

    StayActiveError                     (stayactive.errors)
    ├── ConfigurationError
    │   └── InvalidParameter            stop: a money parameter is wrong; also a ValueError
    └── InsufficientData                report "not enough data" instead of a figure

Both live in :mod:`stayactive.errors`, the one tree of the project; they are re-exported here
so the statistics core can be read (and imported) on its own.

``InsufficientData`` is what every estimator raises when the stays given cannot support an
honest figure (an empty arm, fewer stays than the publication threshold, a Kaplan-Meier curve
that ends before the horizon). The estimators never return a made-up or silently suppressed
number: the caller decides how to show the gap.
"""

from __future__ import annotations

from stayactive.errors import InsufficientData, InvalidParameter

__all__ = ["InsufficientData", "InvalidParameter"]
