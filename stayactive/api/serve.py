"""The API served by uvicorn in a thread of the calling process, on a free loopback port: for
the tests and the benchmark, which need the real service over a socket next to their own code."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from stayactive.api.main import create_app
from stayactive.settings import Settings


@dataclass
class RunningApi:
    """A served API: ``url`` ends without a slash."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        assert not self.thread.is_alive(), "the API did not stop within 15 s"


def start_api(settings: Settings, app: FastAPI | None = None) -> RunningApi:
    """Serve ``create_app(settings)`` (or ``app``, built for ``settings`` with more routes) on
    127.0.0.1 with a port the OS picks."""
    config = uvicorn.Config(
        app or create_app(settings), host="127.0.0.1", port=0, log_config=None, access_log=False,
        lifespan="on",
        proxy_headers=False,  # create_app has it, with the settings' trusted proxies
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the API did not start within 30 s")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return RunningApi(f"http://127.0.0.1:{port}", server, thread)
