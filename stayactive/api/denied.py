"""Refused reads are audited: a 403 for a resident or a ward outside the caller's scope
(:class:`~stayactive.api.problems.AccessDenied`) writes an audit row with action ``denied``, so
that the review (``GET /audit/flags``, kind ``denied``) shows staff trying other wards.

The row is written on a connection of its own, after the request's transaction was rolled
back. If it cannot be written the answer is still 403 (nothing was read) and the log says so.
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.rows import TupleRow

from stayactive.api._audit import write_audit_sync
from stayactive.api.deps import api_state, endpoint_of
from stayactive.api.problems import AccessDenied, problem_response
from stayactive.errors import StayActiveError

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    """Register the handler of :class:`AccessDenied`."""

    @app.exception_handler(AccessDenied)
    async def _denied(request: Request, exc: AccessDenied) -> JSONResponse:
        endpoint = endpoint_of(request)

        def work(conn: psycopg.Connection[TupleRow]) -> None:
            write_audit_sync(
                conn,
                exc.principal,
                action="denied",
                endpoint=endpoint,
                subject_kind=exc.subject_kind,
                subject_ids=[exc.subject_id],
                detail={"reason": exc.detail},
            )

        try:
            await api_state(request).in_thread(exc.principal.tenant_id, work)
        except (psycopg.Error, StayActiveError) as err:
            log.error("%s: the refused access could not be audited: %s", endpoint, err)
        return problem_response(request, 403, exc.slug, exc.detail)
