"""The signal the kernel sends a process when its parent dies (Linux ``prctl(2)``).

The supervisor asks for it in each child it starts, so no child outlives it holding a port;
an ingest worker that gives up root asks for it again, because the kernel clears it when a
process's user changes.
"""

from __future__ import annotations

import ctypes
import signal

_PR_SET_PDEATHSIG, _PR_GET_PDEATHSIG = 1, 2
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl


def set_parent_death_signal(signum: int) -> None:
    """Have the kernel send ``signum`` to this process when its parent (thread) ends."""
    _PRCTL(_PR_SET_PDEATHSIG, signum, 0, 0, 0)


def parent_death_signal() -> int:
    """The signal this process gets when its parent dies (0: none)."""
    value = ctypes.c_int(0)
    _PRCTL(_PR_GET_PDEATHSIG, ctypes.byref(value), 0, 0, 0)
    return value.value


def die_with_parent() -> None:
    """SIGTERM when the parent ends: a ``preexec_fn`` for children that must not outlive it."""
    set_parent_death_signal(signal.SIGTERM)
