"""Helpers of the admin commands: who runs them, async connections, one-line errors."""

from __future__ import annotations

import getpass
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import FrameType
from typing import TypeVar

import psycopg
import typer
from psycopg.rows import TupleRow

from stayactive import db
from stayactive.errors import ConfigurationError
from stayactive.records import NATIONAL_ID_IN_TEXT, looks_like_national_id
from stayactive.registry import NAME_CONTROL_CHARACTER, is_plain_name
from stayactive.settings import Settings

T = TypeVar("T")


def stop_on_signals(doing: str) -> threading.Event:
    """An event set by the first SIGINT or SIGTERM, saying ``doing`` (what happens now); a
    second Ctrl-C stops at once (KeyboardInterrupt: what is in hand is not finished)."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        again = " (Ctrl-C again stops at once)" if signum == signal.SIGINT else ""
        typer.echo(f"received {signal.Signals(signum).name}: {doing}{again}", err=True)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stop


def no_national_id(value: str) -> str:
    """A typer callback for text a person types (a name, a serial): refused, before anything is
    stored, if it holds a national identity number (docs/privacy.md), as the API refuses it."""
    if looks_like_national_id(value):
        raise typer.BadParameter(NATIONAL_ID_IN_TEXT)
    return value


def named(value: str) -> str:
    """A typer callback for a name or serial a person types: refused when blank (the database
    would refuse it with a less helpful message) or when it holds a control character (a line
    break would split every list that prints it), then as :func:`no_national_id`."""
    if not value.strip():
        raise typer.BadParameter("must not be empty")
    if not is_plain_name(value):
        raise typer.BadParameter(NAME_CONTROL_CHARACTER)
    return no_national_id(value)


def day_option(option: str, text: str) -> date:
    """The date an operator gave as ``option`` (YYYY-MM-DD); a usage error saying so if not."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"{option} {text!r} is not YYYY-MM-DD") from exc


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Around writing what the operator asked for at ``path`` (``--out``): a path that cannot be
    written (no such directory, a directory, a file where a directory should be, no space) is
    an error of the command line, said in one line, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_output(path: Path, content: str | bytes) -> None:
    """Write ``content`` to the file ``path`` (text as UTF-8), as :func:`writing` says."""
    with writing(path):
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def os_user() -> str:
    """The operator's login name, recorded as ``cli:<name>`` in the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


async def with_async_conn(
    settings: Settings, work: Callable[[psycopg.AsyncConnection[TupleRow]], Awaitable[T]]
) -> T:
    """Run ``work`` on an async connection in one transaction (committed if it returns)."""
    with db.translated():
        conn = await psycopg.AsyncConnection.connect(
            settings.dsn(), **db.connection_options(settings)
        )
        async with conn:
            return await work(conn)
