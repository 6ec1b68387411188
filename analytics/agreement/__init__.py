"""Agreement between a measurement and a reference: event matching and Bland-Altman.

Pure numpy, no files and no simulator, so that the validation harnesses (real recordings,
the field kit, the simulator) all score the same way:

* :func:`match_events` and :func:`score_events` -- detected against reference event times
  (steps), one-to-one within a tolerance; :func:`pool` sums scores over recordings;
* :func:`bland_altman` -- limits of agreement of paired measurements, with confidence
  intervals.
"""

from analytics.agreement._bland_altman import BlandAltman, bland_altman
from analytics.agreement._events import (
    EventScore,
    PooledScore,
    cadence_spm,
    json_number,
    match_events,
    pool,
    score_events,
)

__all__ = [
    "BlandAltman",
    "EventScore",
    "PooledScore",
    "bland_altman",
    "cadence_spm",
    "json_number",
    "match_events",
    "pool",
    "score_events",
]
