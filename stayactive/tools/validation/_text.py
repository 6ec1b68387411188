"""Formatting shared by the validation reports."""

from __future__ import annotations

import math


def figure(v: float, spec: str = ".3f") -> str:
    """``v`` formatted with ``spec``, or a dash as wide as a number would be (NaN, inf)."""
    return format(v, spec) if math.isfinite(v) else "—".rjust(len(format(0.0, spec)))
