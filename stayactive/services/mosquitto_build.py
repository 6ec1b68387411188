"""Mosquitto 2.0.21 built from Debian 13's source package into a private prefix.

Debian 12 ships Mosquitto 2.0.11, which lacks the fixes of 2.0.12 to 2.0.21 (several CVEs,
session expiry restored from persistence, shared-subscription fixes). As with TimescaleDB
(:mod:`stayactive.services.timescaledb`) we fetch trixie's source package through a private apt
configuration and build it with cmake. Unlike TimescaleDB it is not installed over the system's
files: the broker, its clients and the dynamic-security plugin go into a versioned prefix of
their own (``/opt/stayactive/mosquitto-2.0.21`` as root, below the data directory otherwise),
so a system Mosquitto and other instances on the machine keep running what they run.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stayactive.errors import ServiceError
from stayactive.paths import ServicePaths
from stayactive.services._debian_source import SOURCE_SUITE, fetch_source
from stayactive.services._run import apt_install, ensure_system_user, run

log = logging.getLogger(__name__)

VERSION = "2.0.21"
BUILD_PACKAGES = [
    "cmake", "gcc", "make", "dpkg-dev", "xz-utils", "libssl-dev", "libcjson-dev",
    "debian-archive-keyring",
]  # fmt: skip
SERVICE_USER = "mosquitto"


@dataclass(frozen=True)
class MosquittoInstall:
    """Where one built Mosquitto lives."""

    prefix: Path

    @property
    def broker(self) -> Path:
        return self.prefix / "sbin" / "mosquitto"

    @property
    def dynsec_plugin(self) -> Path:
        return self.prefix / "lib" / "mosquitto_dynamic_security.so"

    def client(self, name: str) -> Path:
        """One of the bundled clients: ``mosquitto_pub``, ``mosquitto_sub``, ``mosquitto_ctrl``."""
        return self.prefix / "bin" / name

    def version(self) -> str | None:
        """The version the broker binary reports, or None when it is missing or broken."""
        if not self.broker.exists():
            return None
        proc = subprocess.run(
            [str(self.broker), "-h"], capture_output=True, text=True, check=False, timeout=10
        )
        match = re.search(r"mosquitto version (\S+)", proc.stdout + proc.stderr)
        return match.group(1) if match else None


def install_for(paths: ServicePaths) -> MosquittoInstall:
    """The prefix this data directory's broker runs from (it may not be built yet)."""
    if os.geteuid() == 0:
        return MosquittoInstall(Path("/opt/stayactive") / f"mosquitto-{VERSION}")
    return MosquittoInstall(paths.root / "opt" / f"mosquitto-{VERSION}")


def ensure_installed(paths: ServicePaths) -> MosquittoInstall:
    """Build and install Mosquitto :data:`VERSION` unless its prefix already holds it."""
    install = install_for(paths)
    apt_install(["libssl3", "libcjson1"])  # what the built broker and plugin link against
    ensure_service_user()
    if install.version() == VERSION:
        return install
    install.prefix.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(install.prefix.parent / f".mosquitto-{VERSION}.lock"):
        if install.version() == VERSION:  # another `services up` built it meanwhile
            return install
        log.info(
            "building Mosquitto %s from Debian %s's source package into %s (about a minute)",
            VERSION, SOURCE_SUITE, install.prefix,
        )  # fmt: skip
        apt_install(BUILD_PACKAGES)
        source = fetch_source(paths.build_dir, "mosquitto")
        _build(source, install.prefix)
    found = install.version()
    if found != VERSION:
        raise ServiceError(f"Mosquitto was built but {install.broker} reports version {found}")
    return install


def ensure_service_user() -> None:
    """As root the broker drops to the system user ``mosquitto``; create it if it is missing
    (the Debian package, which would create it, is not installed)."""
    if os.geteuid() == 0:
        ensure_system_user(SERVICE_USER)


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build(source: Path, prefix: Path) -> None:
    build = source / "_build"
    run(
        [
            "cmake", "-S", str(source), "-B", str(build), "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            f"-DCMAKE_INSTALL_PREFIX={prefix}", f"-DCMAKE_INSTALL_RPATH={prefix}/lib",
            # No man pages (they need xsltproc and docbook), websockets or SRV lookups.
            "-DDOCUMENTATION=OFF", "-DWITH_WEBSOCKETS=OFF", "-DWITH_SRV=OFF",
            "-DWITH_TLS=ON", "-DWITH_CJSON=ON", "-DWITH_BUNDLED_DEPS=ON",
        ],
        what="configure the Mosquitto build",
    )  # fmt: skip
    run(["make", "-C", str(build), "-j2"], what="build Mosquitto")
    # Install beside the final prefix, then rename: a half-installed prefix is never used.
    partial = prefix.with_name(prefix.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    run(["cmake", "--install", str(build), "--prefix", str(partial)], what="install Mosquitto")
    shutil.rmtree(prefix, ignore_errors=True)
    partial.rename(prefix)
