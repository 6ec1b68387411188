"""The supervisor with real child processes: restart after kill -9, back-off, give up, stop."""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path

import pytest

from stayactive.errors import ServiceError
from stayactive.supervisor import ProcessSpec, RestartPolicy, Supervisor, read_state
from tests.fixtures.streams import wait_until

FAST = RestartPolicy(initial_delay_s=0.1, max_delay_s=0.4, stable_after_s=60, max_crashes=3)


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


SLEEPER = python("import time; print('up', flush=True); time.sleep(600)")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state in /proc says it is gone.
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"


def pid_of(sup: Supervisor, name: str) -> int | None:
    return next(s.pid for s in sup.state() if s.name == name)


def test_restart_policy_doubles_up_to_the_cap() -> None:
    policy = RestartPolicy(initial_delay_s=1, max_delay_s=30)
    assert [policy.delay_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_kill_9_of_a_process_restarts_it_and_the_others_keep_running(tmp_path: Path) -> None:
    specs = [ProcessSpec("a", SLEEPER), ProcessSpec("b", SLEEPER)]
    with Supervisor(specs, log_dir=tmp_path, policy=FAST) as sup:
        sup.start()
        sup.wait_ready(timeout_s=10)
        log = tmp_path / "a.log"
        wait_until(lambda: log.read_text().count("up") == 1, 10, "a up")
        first_a, first_b = pid_of(sup, "a"), pid_of(sup, "b")
        assert first_a and first_b
        os.kill(first_a, signal.SIGKILL)
        wait_until(lambda: pid_of(sup, "a") not in (None, first_a), 10, "a restarted")
        wait_until(lambda: log.read_text().count("up") == 2, 10, "both runs logged")
        state = {s.name: s for s in sup.state()}
        assert state["a"].restarts == 1 and state["a"].last_exit == -signal.SIGKILL
        assert state["b"].pid == first_b and state["b"].restarts == 0
        on_disk = read_state(tmp_path)
        wait_until(lambda: read_state(tmp_path)["processes"]["a"]["restarts"] == 1, 5, "state")
        assert on_disk["pid"] == os.getpid()
    assert not alive(first_b)
    assert stat.S_IMODE(log.stat().st_mode) == 0o640


def test_a_process_that_keeps_crashing_is_restarted_at_the_longest_wait_and_reported(
    tmp_path: Path,
) -> None:
    """An outage looks like a broken process: it is restarted for as long as it takes (after
    the back-off, at the longest wait), reported, and the others go on."""
    specs = [
        ProcessSpec("steady", SLEEPER),
        ProcessSpec("broken", python("import sys; print('no config'); sys.exit(3)")),
    ]
    started = time.monotonic()
    stop = threading.Event()
    with Supervisor(specs, log_dir=tmp_path, policy=FAST) as sup:
        sup.start()
        wait_until(lambda: pid_of(sup, "steady") is not None, 10, "steady started")
        steady = pid_of(sup, "steady")
        assert steady is not None
        wait_until(lambda: sup.failing is not None, 10, "broken reported")
        assert sup.failing is not None and "broken keeps crashing" in sup.failing
        assert "code 3" in sup.failing
        # The state file follows the attribute a moment later (written by the supervising loop).
        failing = sup.failing
        wait_until(lambda: read_state(tmp_path)["failing"] == [failing], 5, "failing in the state")
        # 4 exits with waits of 0.1, 0.2, 0.4 s between them: back-off, not a tight loop
        assert time.monotonic() - started >= 0.7
        runs = (tmp_path / "broken.log").read_text().count("no config")
        wait_until(
            lambda: (tmp_path / "broken.log").read_text().count("no config") >= runs + 2, 10,
            "broken restarted again",
        )  # fmt: skip
        assert pid_of(sup, "steady") == steady and alive(steady)
        threading.Timer(0.3, stop.set).start()
        assert sup.supervise(stop) == 0
    assert not alive(steady)


def test_a_process_that_keeps_crashing_before_it_is_ready_is_an_error(tmp_path: Path) -> None:
    """A wrong setting or a port in use: waiting for it to be ready says which and where its
    log is, rather than waiting out the timeout."""
    specs = [
        ProcessSpec("broken", python("import sys; sys.exit(3)"), health_url="http://127.0.0.1:9/")
    ]
    with Supervisor(specs, log_dir=tmp_path, policy=FAST) as sup:
        sup.start()
        with pytest.raises(ServiceError, match=r"broken keeps crashing.*broken\.log"):
            sup.wait_ready(timeout_s=30)


def test_stop_sends_sigterm_then_kills_a_process_that_ignores_it(tmp_path: Path) -> None:
    stubborn = python(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(600)"
    )
    polite = python(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (print('bye', flush=True), sys.exit(0)))\n"
        "print('up', flush=True); time.sleep(600)"
    )
    specs = [
        ProcessSpec("polite", polite),
        ProcessSpec("stubborn", stubborn, stop_timeout_s=0.5),
    ]
    sup = Supervisor(specs, log_dir=tmp_path, policy=FAST)
    sup.start()
    wait_until(lambda: "up" in (tmp_path / "stubborn.log").read_text(), 10, "stubborn up")
    wait_until(lambda: "up" in (tmp_path / "polite.log").read_text(), 10, "polite up")
    pids = {s.name: s.pid for s in sup.state()}
    stop = threading.Event()
    stop.set()
    assert sup.supervise(stop) == 0
    state = {s.name: s for s in sup.state()}
    assert state["stubborn"].last_exit == -signal.SIGKILL
    assert state["polite"].last_exit == 0
    assert "bye" in (tmp_path / "polite.log").read_text()
    assert not any(alive(p) for p in pids.values() if p)


def test_a_second_supervisor_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    with Supervisor([ProcessSpec("a", SLEEPER)], log_dir=tmp_path) as first:
        first.start()
        with pytest.raises(ServiceError, match="another supervisor"):
            Supervisor([ProcessSpec("a", SLEEPER)], log_dir=tmp_path).start()


def test_children_die_with_the_supervisor(tmp_path: Path) -> None:
    """kill -9 of the supervisor leaves no child behind holding a port."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from stayactive.supervisor import ProcessSpec, Supervisor\n"
        f"spec = ProcessSpec('child', {SLEEPER!r})\n"
        "sup = Supervisor([spec], log_dir=Path(sys.argv[1]))\n"
        "sup.start(); time.sleep(600)\n"
    )
    import subprocess

    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)])
    try:
        wait_until(lambda: bool(read_state(tmp_path).get("processes", {}).get("child", {}).get(
            "pid")), 20, "child started")  # fmt: skip
        child = int(read_state(tmp_path)["processes"]["child"]["pid"])
        parent.kill()
        parent.wait()
        wait_until(lambda: not alive(child), 10, "child gone with its supervisor")
    finally:
        parent.kill()
