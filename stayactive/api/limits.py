"""Request-size limits, before any route reads a body.

An ASGI middleware: a declared ``Content-Length`` over the limit is refused at once; a chunked
body is counted while it arrives and refused as soon as it passes the limit. Limits per path
prefix: imports take files, telemetry one protocol message (with room for the oversized ones
the protocol rejects with a reason), everything else small JSON documents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stayactive.api.problems import problem_body

#: Small JSON bodies (logins, registry changes).
DEFAULT_LIMIT_BYTES = 64 * 1024
#: The broker passes packets up to 1 MiB so that ingest can reject oversized ones with a
#: reason; the HTTP path does the same.
TELEMETRY_LIMIT_BYTES = 1024 * 1024


class BodyLimit:
    """Refuse request bodies over the limit of their path with 413 (a problem document; an
    OperationOutcome under ``/fhir``)."""

    def __init__(
        self, app: ASGIApp, *, limits: Sequence[tuple[str, int]], default_bytes: int
    ) -> None:
        self.app = app
        self.limits = sorted(limits, key=lambda item: -len(item[0]))
        self.default_bytes = default_bytes

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(scope, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await _refuse(scope, send, limit)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    document, media_type = problem_body(
        scope["path"],
        413,
        "too-large",
        f"the request body is larger than {limit} bytes, the limit of this path",
    )
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
