"""Log files of supervised processes: one per process, rotated by size, readable by the group.

The standard library's rotating handler does the rotation; this module only opens the files
with mode 0640 (service logs may carry device ids and account names, not for every user).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
FILE_MODE = 0o640


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A :class:`~logging.handlers.RotatingFileHandler` whose files are 0640."""

    def _open(self):  # type: ignore[no-untyped-def]  # typeshed leaves the stream's type open
        # Made with its mode before the handler opens it: never readable by all, not even
        # for a moment; an older file keeps its lines and gets the mode.
        os.close(os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE))
        os.chmod(self.baseFilename, FILE_MODE)
        return super()._open()


def rotated_log(path: Path) -> PrivateRotatingFileHandler:
    """A handler writing into ``path``, rotated at ``MAX_BYTES`` with ``BACKUPS`` kept."""
    return PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )


def process_log(directory: Path, name: str) -> logging.Logger:
    """A logger that writes lines as they are into ``directory/name.log`` (rotated), and
    nowhere else."""
    directory.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"stayactive.supervisor.process.{directory}.{name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    path = str(directory / f"{name}.log")
    if not any(getattr(h, "baseFilename", None) == path for h in logger.handlers):
        handler = rotated_log(Path(path))
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    return logger


def close_process_log(logger: logging.Logger) -> None:
    """Close the files of a logger made by :func:`process_log`."""
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
