"""A telemetry message's sample arrays, from their JSON text straight into one float64 array.

Decoding a walker message's 2,750 sample numbers into Python floats (msgspec) and then reading
them back into numpy was about half of the validation thread's time per message
(docs/performance.md). Here msgspec hands over each sample array as its JSON text
(``msgspec.Raw``, which it has already checked to be valid JSON) and simdjson parses all of them
in one call into a buffer of doubles: no Python object per value.

The values are bit for bit those of msgspec and of Python's ``json``: simdjson parses a JSON
number with a fraction or an exponent to the correctly rounded double, as they do, and an
integer to a 64-bit integer converted to the nearest double, as ``float(int)`` does (so ``-0``
is ``0.0`` and ``-0.0`` is ``-0.0`` everywhere). tests/ingest/test_sample_arrays.py holds it to
that on random and adversarial numbers.

Only what can be read without doubt is taken: arrays of numbers only, none nested, all of one
length. For anything else :func:`parse` returns None and the
caller decodes the message with typed lists, which decide as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
import simdjson

from ingest.schema_rules import Samples


def parse(arrays: Sequence[msgspec.Raw], sizes: tuple[int, int]) -> Samples | None:
    """The numbers of ``arrays`` (each a JSON array's text) as one flat float64 array, or None.

    None unless every one is an array of JSON numbers, none nested, all of the same length
    within ``sizes`` (least, most), and every number within a double's and, for an integer,
    a 64-bit integer's range.
    """
    k = len(arrays)
    joined = b",".join(arrays)
    # Each piece is valid JSON (msgspec checked); k "[" in all, and k arrays below, mean that
    # none is nested (a "[" inside a string means a string: refused below either way).
    if k == 0 or joined.count(b"[") != k:
        return None
    try:
        doc = simdjson.Parser().parse(b"[" + joined + b"]")
        assert isinstance(doc, simdjson.Array)  # the brackets put around it
        values = doc.as_buffer(of_type="d")
    except (ValueError, TypeError, RuntimeError):
        # A string, true, false, null or an object inside; a number beyond a double; an
        # integer beyond 64 bits: the typed decoder decides.
        return None
    samples: Samples = np.frombuffer(values, np.float64)
    n = len(samples) // k
    lengths = {len(piece) if isinstance(piece, simdjson.Array) else -1 for piece in doc}
    if lengths != {n} or not sizes[0] <= n <= sizes[1]:
        return None
    return samples
