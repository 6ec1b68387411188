"""The benchmarks' CPU readings (unit tests: this process and a child of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from stayactive.tools.bench.cpu import cpu_used, read_cpu, tree_cpu_s

#: A child that burns about 0.4 s of CPU, says so, then waits to be told to end.
BURN = """
import sys, time
end = time.process_time() + 0.4
while time.process_time() < end:
    pass
print("done", flush=True)
sys.stdin.readline()
"""


def test_a_tree_counts_a_living_child_and_keeps_it_once_reaped() -> None:
    me = os.getpid()
    before = tree_cpu_s(me)
    with subprocess.Popen(
        [sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "done"
        alive = tree_cpu_s(me) - before
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(10)
    reaped = tree_cpu_s(me) - before
    assert alive >= 0.35, alive  # its own time, while it lives
    assert reaped >= alive - 0.02, (alive, reaped)  # then as this process's children's time
    assert tree_cpu_s(child.pid) == 0.0  # a process that is gone reads as nothing


def test_a_reading_says_what_a_group_used_over_the_wall_clock() -> None:
    start = read_cpu({"me": [os.getpid()]})
    end_at = time.process_time() + 0.2
    while time.process_time() < end_at:
        pass
    used, wall_s = cpu_used(start, read_cpu({"me": [os.getpid()]}))
    assert 0.18 <= used["me"] <= wall_s + 0.02, (used, wall_s)
