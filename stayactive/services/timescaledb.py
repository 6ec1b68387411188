"""Make the TimescaleDB extension available to the distribution's PostgreSQL.

Debian 12 ships PostgreSQL 15 but no TimescaleDB package. Debian 13's source package
``timescaledb`` (Apache-2 edition) builds against PostgreSQL 15, so when the extension is missing we
fetch that source through a private apt configuration (nothing is added to the system's sources),
build it with cmake and install it into the server's extension directory
(:mod:`stayactive.services._debian_source`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from stayactive.errors import ServiceError
from stayactive.services._debian_source import SOURCE_SUITE, fetch_source
from stayactive.services._run import apt_install, privileged_prefix, run

log = logging.getLogger(__name__)

PG_MAJOR = 15
PG_CONFIG = f"/usr/lib/postgresql/{PG_MAJOR}/bin/pg_config"
BUILD_PACKAGES = [
    f"postgresql-{PG_MAJOR}",
    f"postgresql-server-dev-{PG_MAJOR}",
    "cmake",
    "gcc",
    "make",
    "dpkg-dev",
    "xz-utils",
    "libssl-dev",
    "debian-archive-keyring",
]


def extension_dir() -> Path:
    """The server's directory of extension control files."""
    proc = run([PG_CONFIG, "--sharedir"], what="ask pg_config for the share directory")
    return Path(proc.stdout.strip()) / "extension"


def is_installed() -> bool:
    """True when PostgreSQL can load TimescaleDB."""
    if not Path(PG_CONFIG).exists():
        return False
    return (extension_dir() / "timescaledb.control").exists()


def ensure_installed(work_dir: Path) -> None:
    """Install PostgreSQL and, if missing, build and install TimescaleDB from Debian 13's source."""
    apt_install([f"postgresql-{PG_MAJOR}"])
    if is_installed():
        return
    log.info("TimescaleDB is missing: building it from Debian %s's source package", SOURCE_SUITE)
    apt_install(BUILD_PACKAGES)
    source_dir = fetch_source(work_dir, "timescaledb")
    _build_and_install(source_dir)
    if not is_installed():
        raise ServiceError(
            "TimescaleDB was built but its control file is not in " + str(extension_dir())
        )


def _build_and_install(source_dir: Path) -> None:
    build_dir = source_dir / "_build"
    run(
        [
            "cmake", "-S", str(source_dir), "-B", str(build_dir),
            "-DAPACHE_ONLY=1", "-DREGRESS_CHECKS=OFF", "-DTAP_CHECKS=OFF",
            "-DWARNINGS_AS_ERRORS=OFF", "-DLINTER=OFF", "-DSEND_TELEMETRY_DEFAULT=OFF",
            f"-DPG_CONFIG={PG_CONFIG}",
        ],
        what="configure the TimescaleDB build",
    )  # fmt: skip
    run(["make", "-C", str(build_dir), "-j2"], what="build TimescaleDB")
    run([*privileged_prefix(), "make", "-C", str(build_dir), "install"], what="install TimescaleDB")
