"""Fetching an upstream source tree from a Debian release's source package.

Debian 12 lacks (TimescaleDB) or has an old (Mosquitto 2.0.11) version of what we run, while
Debian 13 (trixie) carries the version we want. We read trixie's source index through a private
apt configuration below the build folder, so nothing is added to the system's sources, download
the source package (apt checks it against the signed index) and unpack its upstream tarball.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from stayactive.errors import ServiceError
from stayactive.services._run import run

SOURCE_SUITE = "trixie"


def fetch_source(work_dir: Path, package: str) -> Path:
    """Download ``package``'s source from Debian's :data:`SOURCE_SUITE` into ``work_dir`` and
    return the unpacked upstream tree (Debian's own patches are not applied)."""
    apt_dir = work_dir / "apt"
    lists = apt_dir / "lists"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    sources = apt_dir / "sources.list"
    sources.write_text(f"deb-src http://deb.debian.org/debian {SOURCE_SUITE} main\n")
    options = [
        "-o", f"Dir::Etc::SourceList={sources}",
        "-o", "Dir::Etc::SourceParts=/dev/null",
        "-o", f"Dir::State::Lists={lists}",
        "-o", "APT::Sandbox::User=root",
    ]  # fmt: skip
    run(["apt-get", *options, "update", "-qq"], what=f"read Debian {SOURCE_SUITE}'s source index")
    download = work_dir / "source" / package
    shutil.rmtree(download, ignore_errors=True)
    download.mkdir(parents=True)
    run(
        ["apt-get", *options, "source", "--download-only", package],
        what=f"download the {package} source package",
        cwd=str(download),
    )
    tarballs = sorted(download.glob(f"{package}_*.orig.tar.*"))
    if not tarballs:
        raise ServiceError(f"the {package} source package has no .orig tarball in {download}")
    run(["tar", "-xf", str(tarballs[0]), "-C", str(download)], what=f"unpack the {package} source")
    trees = [p for p in download.iterdir() if p.is_dir() and p.name.startswith(package)]
    if len(trees) != 1:
        raise ServiceError(f"expected one {package} source tree in {download}, found {trees}")
    return trees[0]
