"""CPU time of the processes a benchmark loads, read from ``/proc`` (Linux).

A benchmark on one machine shares its cores between the worker it measures, the database and
the broker. What each of them spent per unit of work, over the same window, says where a rate
is bounded: by one process's interpreter lock, or by the machine's cores. See proc(5) for the
fields of ``/proc/PID/stat``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (it may hold spaces), or None
    when the process is gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def readable(pid: int) -> bool:
    """Whether this user can read the CPU time of ``pid`` (it exists, and ``/proc`` is not
    mounted to hide it)."""
    return _stat_fields(pid) is not None


def tree_cpu_s(root: int) -> float:
    """CPU seconds of ``root`` and its direct children: the root's own and its reaped
    children's time (``utime stime cutime cstime``), plus each living child's own. A child that
    ends between two readings moves from the second term into the first, so differences stay
    right for direct children (PostgreSQL's backends are children of the postmaster); a
    grandchild counts only once its parent is reaped, and a child reaped during the scan is
    missed by that one reading."""
    fields = _stat_fields(root)
    if fields is None:
        return 0.0
    # After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    total = sum(int(v) for v in fields[11:15])
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == root:
            continue
        child = _stat_fields(int(entry.name))
        if child is not None and int(child[1]) == root:
            total += int(child[11]) + int(child[12])
    return total / _TICKS_PER_S


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds per named group of process trees, and the wall-clock time of the reading."""

    cpu_s: dict[str, float]
    wall_s: float


def read_cpu(groups: Mapping[str, Sequence[int]]) -> CpuReading:
    """A reading of every group (a group is the sum of its process trees)."""
    return CpuReading(
        {name: sum(tree_cpu_s(pid) for pid in pids) for name, pids in groups.items()},
        time.monotonic(),
    )


def cpu_used(before: CpuReading, after: CpuReading) -> tuple[dict[str, float], float]:
    """CPU seconds each group used between two readings, and the wall-clock seconds."""
    return (
        {name: after.cpu_s[name] - before.cpu_s[name] for name in before.cpu_s},
        after.wall_s - before.wall_s,
    )
