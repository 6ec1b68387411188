"""Starting an ingest worker on this machine: its own broker account, and no root.

``stayactive ingest run`` calls :func:`prepare_worker` before it connects: on the local broker
the worker gets an account of its own, bound to its client id (created on first start, its
password kept in the data directory). Started as root (the demo, a hand-started worker), the
process then reads the secrets it needs and switches to the unprivileged system user
``stayactive`` before it touches the network or the database; the secrets stay readable only
by root.
"""

from __future__ import annotations

import logging
import os
import pwd
import stat
import sys
from pathlib import Path

from pydantic import SecretStr

from stayactive.errors import ConfigurationError
from stayactive.parent_death import parent_death_signal, set_parent_death_signal
from stayactive.services import mosquitto
from stayactive.services._run import ensure_system_user
from stayactive.settings import Settings

log = logging.getLogger(__name__)

SERVICE_USER = "stayactive"


def prepare_worker(settings: Settings, worker_id: str, *, user: str = SERVICE_USER) -> Settings:
    """Settings the worker can run with after dropping root, with its broker account in place."""
    password: str | None = None
    if settings.mqtt_ingest_password is None and settings.uses_local_broker:
        password = mosquitto.ensure_worker_account(settings, worker_id)
    if os.geteuid() != 0:
        return settings
    # Resolve every secret now: after the switch the secrets folder is out of reach.
    _, password = settings.ingest_credentials(worker_id)
    # The worker connects as the ingest role (docs/privacy.md): its URL and password only, not
    # the owner's.
    resolved = settings.model_copy(
        update={
            "database_url": settings.dsn(role="ingest"),
            "database_ingest_password": SecretStr(settings.role_password("ingest")),
            "mqtt_ingest_password": SecretStr(password),
        }
    )
    ensure_system_user(user)
    blocked = unreachable_for_others([Path(sys.prefix), Path(__file__)])
    if blocked is not None:
        # Dropping root now would leave the worker unable to import the rest of its code (a
        # checkout in a private folder, e.g. one made by mktemp -d): it keeps root, loudly.
        log.warning(
            "ingest keeps running as root: %s (mode %04o) is not reachable by user %r; make the "
            "checkout world-readable, or run the worker as that user (deploy/systemd)",
            blocked, stat.S_IMODE(blocked.stat().st_mode), user,
        )  # fmt: skip
        return resolved
    drop_privileges(user)
    return resolved


def unreachable_for_others(paths: list[Path]) -> Path | None:
    """The first folder on the way to ``paths`` that other users cannot pass, or None."""
    for path in paths:
        for folder in reversed(path.resolve().parents):
            if not stat.S_IMODE(folder.stat().st_mode) & stat.S_IXOTH:
                return folder
    return None


def drop_privileges(user: str) -> None:
    """Switch this process to ``user`` for good (groups, gid, uid); refuse to stay root."""
    entry = pwd.getpwnam(user)
    # The kernel forgets the signal a process asked for at its parent's death when its user
    # changes: asked again below, so a supervised worker still goes with its supervisor.
    death_signal, parent = parent_death_signal(), os.getppid()
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    if os.geteuid() == 0 or os.getuid() == 0:
        raise ConfigurationError(f"could not give up root for {user!r}")
    if death_signal:
        set_parent_death_signal(death_signal)
        if os.getppid() != parent:  # the parent died in between: nobody would signal
            os.kill(os.getpid(), death_signal)
    log.info("running as %s (uid %d), not root", user, entry.pw_uid)
