"""Running system commands with errors that say which command failed and what it printed."""

from __future__ import annotations

import logging
import os
import pwd
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from stayactive.errors import ServiceError

log = logging.getLogger(__name__)


def run(
    cmd: Sequence[str],
    *,
    what: str,
    as_user: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout_s: float = 900,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` and return the completed process; raise :class:`ServiceError` on failure.

    ``what`` names the step for the error message ("initialise the PostgreSQL cluster").
    ``as_user`` runs the command as that system user (we are root then).
    """
    argv = list(cmd)
    if as_user is not None and os.geteuid() == 0:
        argv = ["runuser", "-u", as_user, "--", *argv]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    printable = shlex.join(argv)
    log.debug("running: %s", printable)
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=full_env,
            cwd=cwd,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ServiceError(
            f"could not {what}: {argv[0]} is not installed", command=printable
        ) from exc
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or "") if isinstance(exc.stdout, str) else ""
        raise ServiceError(
            f"could not {what}: no answer within {timeout_s:.0f} s", command=printable, output=out
        ) from exc
    if check and proc.returncode != 0:
        raise ServiceError(
            f"could not {what} (exit code {proc.returncode})",
            command=printable,
            output=proc.stdout + proc.stderr,
        )
    return proc


def have(program: str) -> bool:
    """True when ``program`` is on PATH."""
    return shutil.which(program) is not None


def give_to(user: str | None, *paths: os.PathLike[str]) -> None:
    """Make ``user`` own ``paths`` (a no-op for None: not root, the files are ours already)."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def ensure_system_user(name: str) -> None:
    """Create the system user ``name`` (no home, no login shell) unless it exists; as root."""
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    run(
        ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", name],
        what=f"create the system user {name}",
    )  # fmt: skip


def privileged_prefix() -> list[str]:
    """``[]`` as root, ``["sudo", "-n"]`` otherwise (installing packages needs root)."""
    if os.geteuid() == 0:
        return []
    if not have("sudo"):
        raise ServiceError(
            "installing system packages needs root or sudo, and sudo is not installed"
        )
    return ["sudo", "-n"]


def apt_install(packages: Sequence[str]) -> None:
    """Install Debian packages that are missing (``apt-get update`` first, once per call)."""
    missing = [p for p in packages if not _dpkg_installed(p)]
    if not missing:
        return
    log.info("installing Debian packages: %s", " ".join(missing))
    prefix = privileged_prefix()
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run([*prefix, "apt-get", "update", "-qq"], what="refresh the package lists", env=env)
    run(
        [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        what="install " + " ".join(missing),
        env=env,
    )


def _dpkg_installed(package: str) -> bool:
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and proc.stdout.strip().endswith("installed")
