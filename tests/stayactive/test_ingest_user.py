"""Whether the ingest worker can give up root: its code must stay reachable for the user."""

from __future__ import annotations

import stat
from pathlib import Path
from tempfile import mkdtemp

from stayactive.services.ingest_user import unreachable_for_others


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
