"""What the running service holds: settings, database pools, metrics. Built in the lifespan.

Two pools: the async pool serves the API's own reads and writes; the small sync pool serves the
shared synchronous code the API composes (registry writes, care-record import, reports, the
ingest path), which runs in worker threads so that it never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio.to_thread
import psycopg
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from psycopg.rows import TupleRow

from stayactive import auth, db
from stayactive.api.report_cache import ReportCache
from stayactive.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Longest a statement of the API may run; a read that takes longer is a bug or an overload.
STATEMENT_TIMEOUT_MS = 30_000


@dataclass
class Metrics:
    """Prometheus metrics of one app (its own registry: several apps in one test process)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    requests: Counter = field(init=False)
    latency: Histogram = field(init=False)
    audit_rows: Counter = field(init=False)
    logins: Counter = field(init=False)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "stayactive_api_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "stayactive_api_request_seconds",
            "Request latency",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.audit_rows = Counter(
            "stayactive_api_audit_rows", "Audit rows written", registry=self.registry
        )
        self.logins = Counter(
            "stayactive_api_logins", "Login attempts", ["outcome"], registry=self.registry
        )


@dataclass
class ApiState:
    """The service's shared objects (``app.state.api``)."""

    settings: Settings
    pool: db.AsyncPool
    sync_pool: db.Pool
    #: Connections as the ingest role, for ``POST /telemetry``: the API's own role reads raw
    #: data but does not write it (docs/privacy.md, "Least privilege").
    ingest_pool: db.Pool
    login_policy: auth.LoginPolicy
    keys: auth.KeyRing
    metrics: Metrics
    reports: ReportCache = field(default_factory=ReportCache)

    def run_sync(self, tenant_id: str, work: Callable[[psycopg.Connection[TupleRow]], T]) -> T:
        """Run ``work`` on a pooled sync connection in one transaction scoped to ``tenant_id``
        (blocking: call it from a worker thread, see :meth:`in_thread`)."""
        with db.pooled(self.sync_pool) as conn:
            set_tenant_sync(conn, tenant_id)
            return work(conn)

    async def in_thread(
        self, tenant_id: str, work: Callable[[psycopg.Connection[TupleRow]], T]
    ) -> T:
        """:meth:`run_sync` in a worker thread."""
        return await anyio.to_thread.run_sync(self.run_sync, tenant_id, work)

    async def ingest_in_thread(self, work: Callable[[psycopg.Connection[TupleRow]], T]) -> T:
        """Run ``work`` in a worker thread on a connection of the ingest role (one
        transaction, committed when it returns)."""

        def run() -> T:
            with db.pooled(self.ingest_pool) as conn:
                return work(conn)

        return await anyio.to_thread.run_sync(run)


# Both settings last until the end of the transaction (is_local = true).
_SCOPE = (
    "SELECT set_config('stayactive.tenant_id', %s, true), set_config('statement_timeout', %s, true)"
)


def set_tenant_sync(conn: psycopg.Connection[TupleRow], tenant_id: str) -> None:
    """Name the request's tenant for this transaction (row-level security keys on it) and bound
    its statements' time."""
    conn.execute(_SCOPE, (tenant_id, str(STATEMENT_TIMEOUT_MS)))


async def set_tenant(conn: psycopg.AsyncConnection[TupleRow], tenant_id: str) -> None:
    """Async :func:`set_tenant_sync`."""
    await conn.execute(_SCOPE, (tenant_id, str(STATEMENT_TIMEOUT_MS)))


@contextlib.asynccontextmanager
async def open_state(settings: Settings) -> AsyncIterator[ApiState]:
    """Open the pools (waiting until the database answers) and close them on exit."""
    pool = await db.open_async_pool(
        settings, min_size=2, max_size=settings.api_pool_max, timeout_s=30, name="api", role="api"
    )
    try:
        sync_pool = await anyio.to_thread.run_sync(
            lambda: db.open_pool(
                settings, min_size=1, max_size=4, timeout_s=30, name="api-sync", role="api"
            )
        )
        ingest_pool = await anyio.to_thread.run_sync(
            lambda: db.open_pool(
                settings, min_size=0, max_size=2, timeout_s=30, name="api-ingest", role="ingest"
            )
        )
        try:
            await anyio.to_thread.run_sync(auth.warm_up)
            yield ApiState(
                settings=settings,
                pool=pool,
                sync_pool=sync_pool,
                ingest_pool=ingest_pool,
                login_policy=auth.LoginPolicy(
                    max_failures=settings.api_login_max_failures,
                    max_failures_per_client=settings.api_login_max_failures_per_client,
                    max_failures_per_account=settings.api_login_max_failures_per_account,
                    lockout_s=float(settings.api_lockout_s),
                    session_ttl_s=settings.api_session_ttl_s,
                ),
                keys=auth.KeyRing(settings),
                metrics=Metrics(),
                reports=ReportCache(ttl_s=settings.api_report_cache_s),
            )
        finally:
            ingest_pool.close()
            sync_pool.close()
    finally:
        await pool.close()


def lifespan(
    settings: Settings,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The app's lifespan: open the state at start, close it at shutdown."""

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        # Imported here: the background work uses the alert rules, which build on this module.
        from stayactive.api.background import alert_loop, report_loop, throttle_purge_loop

        async with open_state(settings) as state:
            app.state.api = state
            stop = asyncio.Event()
            tasks = [asyncio.create_task(throttle_purge_loop(state, stop))]
            if settings.api_alerts_interval_s > 0:
                tasks.append(
                    asyncio.create_task(alert_loop(state, settings.api_alerts_interval_s, stop))
                )
            if settings.api_report_precompute_s > 0 and settings.api_report_cache_s > 0:
                tasks.append(
                    asyncio.create_task(report_loop(state, settings.api_report_precompute_s, stop))
                )
            log.info("API ready (schema %s)", settings.database_schema)
            try:
                yield
            finally:
                stop.set()
                for task in tasks:
                    await task

    return run
