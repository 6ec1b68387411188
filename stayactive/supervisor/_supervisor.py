"""The supervisor: start processes, restart a crashed one with back-off, stop them all cleanly.

One monitor thread owns the child processes: it starts them (in the order of their specs),
notices an exit within a fifth of a second, restarts after the policy's delay, and, when asked
to stop, stops them in the reverse order (SIGTERM to the process group, SIGKILL after the
spec's timeout). Each child runs in a session of its own, so a Ctrl-C in the terminal reaches
the supervisor only and the order of stopping is ours; each child also gets SIGTERM from the
kernel if the supervisor dies (``PR_SET_PDEATHSIG``), so no orphan keeps a port.

A child's standard output and error go through a pipe into its rotated log file. The state
(pids, start times, restarts) is written to ``supervisor.json`` beside the logs after every
change, for operators and tests; ``supervisor.lock`` keeps a second supervisor off the same
directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from stayactive.errors import ServiceError
from stayactive.parent_death import die_with_parent
from stayactive.supervisor._logs import close_process_log, process_log
from stayactive.supervisor._spec import ProcessSpec, RestartPolicy

log = logging.getLogger(__name__)

POLL_S = 0.2
#: A child's ``preexec_fn``: SIGTERM when the thread that started it ends (one system call
#: between fork and exec, the library resolved here, in the parent).


@dataclass
class _Child:
    spec: ProcessSpec
    log: logging.Logger
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    in_a_row: int = 0
    crashes: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    last_exit: int | None = None
    wanted: bool = False
    reader: threading.Thread | None = None
    failing: str | None = None


@dataclass(frozen=True)
class ProcessState:
    """What :meth:`Supervisor.state` reports of one process."""

    name: str
    pid: int | None
    running: bool
    restarts: int
    last_exit: int | None


class Supervisor:
    """Runs ``specs`` as child processes; see the module docstring.

    Making one takes ``log_dir``'s lock (a second supervisor of the same directory is refused
    before it touches a log). Use :meth:`start` (all or some by name), :meth:`wait_ready`,
    then :meth:`supervise` to block until ``stop`` is set; :meth:`close` stops everything
    (also on leaving the ``with`` block).
    """

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        log_dir: Path,
        policy: RestartPolicy | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"process names must be unique: {names}")
        self.log_dir = log_dir
        self.policy = policy or RestartPolicy()
        self._env = dict(os.environ if env is None else env)
        self._lock_file: IO[str] | None = self._take_lock()
        self._children = {s.name: _Child(s, process_log(log_dir, s.name)) for s in specs}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- control -------------------------------------------------------------------------

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self, names: Iterable[str] | None = None) -> None:
        """Start the named processes (default: all) in the order of the specs."""
        wanted = set(self._children) if names is None else set(names)
        unknown = wanted - set(self._children)
        if unknown:
            raise ValueError(f"no process named {sorted(unknown)}")
        if self._thread is None:
            self._thread = threading.Thread(target=self._monitor, name="supervisor", daemon=True)
            with self._lock:
                self._mark_wanted(wanted)
            self._thread.start()
        else:
            with self._lock:
                self._mark_wanted(wanted)

    def _mark_wanted(self, names: set[str]) -> None:
        for name in names:
            child = self._children[name]
            if not child.wanted:
                child.wanted, child.restart_at = True, 0.0

    def wait_ready(
        self,
        names: Iterable[str] | None = None,
        timeout_s: float = 60.0,
        stop: threading.Event | None = None,
    ) -> bool:
        """Wait until each named process (default: all started) answers its health URL; False
        if ``stop`` was set first.

        Raises :class:`~stayactive.errors.ServiceError` when one does not within
        ``timeout_s`` or the supervisor gives up on it."""
        pending = [
            c
            for c in self._children.values()
            if (c.wanted if names is None else c.spec.name in names)
        ]
        deadline = time.monotonic() + timeout_s
        for child in pending:
            while not self._healthy(child):
                if stop is not None and stop.is_set():
                    return False
                if child.failing is not None:
                    raise ServiceError(child.failing)
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"{child.spec.name} was not ready within {timeout_s:.0f} s; see "
                        f"{self.log_dir / (child.spec.name + '.log')}"
                    )
                time.sleep(POLL_S)
        return True

    def supervise(
        self, stop: threading.Event, before_stop: Callable[[Supervisor], None] | None = None
    ) -> int:
        """Block until ``stop`` is set; everything is stopped before this returns (0),
        ``before_stop`` (if given) is called first. A process that keeps crashing is restarted
        at the longest wait meanwhile (see :attr:`failing`)."""
        while not stop.wait(POLL_S):
            pass
        if before_stop is not None:
            before_stop(self)
        self.close()
        return 0

    def stop(self, names: Iterable[str]) -> None:
        """Stop the named processes now (SIGTERM, then SIGKILL after their timeout) and do not
        restart them; the others go on."""
        with self._lock:
            chosen = [self._children[n] for n in names]
            for child in chosen:
                child.wanted = False
        for child in chosen:
            proc = child.proc
            if proc is not None:
                _terminate(child.spec, proc)

    @property
    def failing(self) -> str | None:
        """Which process keeps crashing and where its log is (None: none does)."""
        with self._lock:
            return next((c.failing for c in self._children.values() if c.failing), None)

    def close(self) -> None:
        """Stop every process (reverse order) and release the directory."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        for child in self._children.values():
            close_process_log(child.log)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def state(self) -> list[ProcessState]:
        """Every process: pid, whether it runs, restarts so far, its last exit code."""
        with self._lock:
            return [
                ProcessState(
                    c.spec.name,
                    c.proc.pid if c.proc is not None else None,
                    c.proc is not None and c.proc.poll() is None,
                    c.restarts,
                    c.last_exit,
                )
                for c in self._children.values()
            ]

    # --- the monitor thread --------------------------------------------------------------

    def _monitor(self) -> None:
        try:
            while not self._stopping.is_set():
                with self._lock:
                    changed = self._step(time.monotonic())
                if changed:
                    self._write_state()
                self._stopping.wait(POLL_S)
        finally:
            self._stop_all()
            self._write_state()

    def _step(self, now: float) -> bool:
        changed = False
        for child in self._children.values():
            if child.proc is not None and (code := child.proc.poll()) is not None:
                self._exited(child, code, now)
                changed = True
            due = child.restart_at is not None and now >= child.restart_at
            if child.wanted and child.proc is None and due:
                self._spawn(child, now)
                changed = True
        return changed

    def _exited(self, child: _Child, code: int, now: float) -> None:
        ran_s = now - child.started_at
        if child.reader is not None:
            child.reader.join(timeout=5)
        child.proc, child.last_exit = None, code
        if not child.wanted:
            return  # stopped on purpose (:meth:`stop`)
        if ran_s >= self.policy.stable_after_s:
            child.in_a_row, child.failing = 0, None
        child.in_a_row += 1
        child.crashes.append(now)
        while child.crashes and child.crashes[0] < now - self.policy.window_s:
            child.crashes.popleft()
        delay = self.policy.delay_s(child.in_a_row)
        if len(child.crashes) > self.policy.max_crashes:
            # An outage (the database away for a minute) looks the same as a broken process,
            # so it is restarted for as long as it takes, at the longest wait, and reported.
            child.failing = (
                f"{child.spec.name} keeps crashing ({len(child.crashes)} exits within "
                f"{self.policy.window_s:.0f} s, the last: {_how_it_ended(code)}); see "
                f"{self.log_dir / (child.spec.name + '.log')}"
            )
            child.restart_at = now + self.policy.max_delay_s
            log.error("%s; restarting in %.0f s", child.failing, self.policy.max_delay_s)
            return
        child.restart_at = now + delay
        log.warning(
            "%s exited (%s) after %.0f s; restarting in %.0f s",
            child.spec.name, _how_it_ended(code), ran_s, delay,
        )  # fmt: skip

    def _spawn(self, child: _Child, now: float) -> None:
        spec = child.spec
        try:
            proc = subprocess.Popen(
                spec.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, env={**self._env, **spec.env},
                start_new_session=True, preexec_fn=die_with_parent,
            )  # fmt: skip
        except OSError as exc:
            log.error("%s could not be started: %s", spec.name, exc)
            child.started_at = now  # it ran for no time: a crash in a row, with back-off
            self._exited(child, 127, now)
            return
        if child.started_at:
            child.restarts += 1
        child.proc, child.started_at, child.restart_at = proc, now, None
        assert proc.stdout is not None
        child.reader = threading.Thread(
            target=_copy_lines, args=(proc.stdout, child.log), name=f"log-{spec.name}", daemon=True
        )
        child.reader.start()
        log.info("%s started (pid %d)", spec.name, proc.pid)

    def _stop_all(self) -> None:
        with self._lock:
            running = [c for c in self._children.values() if c.proc is not None]
        for child in reversed(running):
            assert child.proc is not None
            _terminate(child.spec, child.proc)
            child.last_exit = child.proc.returncode
            if child.reader is not None:
                child.reader.join(timeout=5)
            child.proc = None

    def _healthy(self, child: _Child) -> bool:
        with self._lock:
            running = child.proc is not None and child.proc.poll() is None
        if not running:
            return False
        if child.spec.health_url is None:
            return True
        try:
            with urllib.request.urlopen(child.spec.health_url, timeout=2) as response:
                return int(response.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    # --- files ---------------------------------------------------------------------------

    def _take_lock(self) -> IO[str]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.log_dir / "supervisor.lock").open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            other = _read_json(self.log_dir / "supervisor.json").get("pid", "?")
            raise ServiceError(
                f"another supervisor (pid {other}) runs these processes ({self.log_dir}); "
                "stop it first"
            ) from None
        return handle

    def _write_state(self) -> None:
        states = self.state()
        doc: dict[str, Any] = {
            "pid": os.getpid(),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "failing": [c.failing for c in self._children.values() if c.failing],
            "processes": {
                s.name: {
                    "pid": s.pid,
                    "running": s.running,
                    "restarts": s.restarts,
                    "last_exit": s.last_exit,
                }
                for s in states
            },
        }
        path = self.log_dir / "supervisor.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        tmp.replace(path)


def _copy_lines(stream: IO[bytes], logger: logging.Logger) -> None:
    with stream:
        for raw in stream:
            logger.info("%s", raw.decode("utf-8", errors="replace").rstrip("\n"))


def _how_it_ended(returncode: int) -> str:
    """``code 0``, or the signal's name: uvicorn ends a graceful stop by raising the SIGTERM it
    was sent again, so "-15" reads as a failure when it is not one."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"on {signal.Signals(-returncode).name}"
    return f"code {returncode}"


def _terminate(spec: ProcessSpec, proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group; SIGKILL after the spec's timeout."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(spec.stop_timeout_s)
        log.info("%s stopped (%s)", spec.name, _how_it_ended(proc.returncode))
    except subprocess.TimeoutExpired:
        log.warning(
            "%s did not stop within %.0f s of SIGTERM: killed", spec.name, spec.stop_timeout_s
        )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # The group may hold helpers the child started; they go with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def read_state(log_dir: Path) -> dict[str, Any]:
    """The last state a supervisor wrote into ``log_dir`` (empty if none)."""
    return _read_json(log_dir / "supervisor.json")
