"""Deterministic random streams.

Every random draw in the world model comes from a :class:`numpy.random.Generator`
built here from an explicit root seed and a key path, never from global state.
Keys are small integers (indices, dates as ordinals, hashed identifiers), so the
stream for, say, one resident-day is the same whatever order days are simulated in.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["derive_rng", "derive_seed", "str_key"]


def str_key(text: str) -> int:
    """Return a stable 32-bit integer key for a string (not Python's salted ``hash``).

    Parameters
    ----------
    text : str
        Any identifier, e.g. a pseudonym or a device id.

    Returns
    -------
    int
        Integer in ``[0, 2**32)``.
    """
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest(), "big")


def _sequence(seed: int | np.random.SeedSequence, key: tuple[int, ...]) -> np.random.SeedSequence:
    base = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    # Extending spawn_key is exactly what SeedSequence.spawn does, but addressed by key
    # instead of by call order.
    return np.random.SeedSequence(base.entropy, spawn_key=(*base.spawn_key, *key))


def derive_rng(seed: int | np.random.SeedSequence, *key: int) -> np.random.Generator:
    """Return a generator for the stream ``seed / key[0] / key[1] / ...``.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        Root seed of the simulation.
    *key : int
        Non-negative integers naming the sub-stream.

    Returns
    -------
    numpy.random.Generator
        Independent of every other key path under the same seed.
    """
    return np.random.default_rng(_sequence(seed, tuple(int(k) for k in key)))


def derive_seed(seed: int | np.random.SeedSequence, *key: int) -> int:
    """Return a 63-bit integer seed for the stream ``seed / key...``.

    Used where a plain integer must be stored (e.g. in a frozen plan record) so that
    a later stage can rebuild the same stream.
    """
    state = _sequence(seed, tuple(int(k) for k in key)).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])
