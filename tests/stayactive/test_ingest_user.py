"""Whether the ingest worker can give up root: its code must stay reachable for the user."""

from __future__ import annotations

import os
import pwd
import signal
import stat
import subprocess
import sys
from pathlib import Path
from tempfile import mkdtemp

from stayactive.services._run import ensure_system_user
from stayactive.services.ingest_user import SERVICE_USER, unreachable_for_others


def test_a_path_under_a_private_folder_is_reported() -> None:
    # Found on a clean clone made with mktemp -d (mode 0700): after the switch the worker
    # could not import the rest of its code and stored nothing.
    private = Path(mkdtemp())  # 0700, like mktemp -d
    (private / "pkg").mkdir()
    code = private / "pkg" / "module.py"
    code.write_text("")
    found = unreachable_for_others([code])
    assert found is not None
    assert not stat.S_IMODE(found.stat().st_mode) & stat.S_IXOTH
    assert found == private or found in private.parents
    private.chmod(0o755)
    (private / "pkg").chmod(0o755)
    if all(stat.S_IMODE(p.stat().st_mode) & stat.S_IXOTH for p in private.parents):
        assert unreachable_for_others([code]) is None


def test_system_folders_are_reachable() -> None:
    assert unreachable_for_others([Path("/usr/bin/env")]) is None


def test_the_worker_still_goes_with_its_supervisor_after_giving_up_root() -> None:
    """The kernel forgets a process's parent-death signal when its user changes; a worker
    started as root by `stayactive run` asks for it again, so it does not outlive a killed
    supervisor (holding its metrics port)."""
    assert os.geteuid() == 0, "the suite runs as root (make test): this checks the switch"
    ensure_system_user(SERVICE_USER)
    code = (
        "import os, signal\n"
        "from stayactive.parent_death import parent_death_signal, set_parent_death_signal\n"
        "from stayactive.services.ingest_user import drop_privileges\n"
        "set_parent_death_signal(signal.SIGTERM)\n"
        f"drop_privileges({SERVICE_USER!r})\n"
        "print(os.getuid(), parent_death_signal())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    uid, death_signal = (int(v) for v in done.stdout.split())
    assert uid == pwd.getpwnam(SERVICE_USER).pw_uid
    assert death_signal == signal.SIGTERM
