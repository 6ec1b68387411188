"""Work the API does on its own: evaluating every ward's alerts at an interval, computing
every tenant's published savings report ahead of its readers, and deleting the login throttle
rows (and the client addresses in them) that no longer count.

One pass goes tenant by tenant, each in a transaction scoped to the tenant (as a request is),
so it needs no more privilege than the routes. A failed pass is logged and the next one runs
on time: the loop must outlive a database restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from stayactive import auth, db
from stayactive.api import alerts, report_source
from stayactive.api.report_cache import ReportKey
from stayactive.api.state import ApiState, set_tenant
from stayactive.locale_format import Language
from stayactive.reports import SavingsReport
from stayactive.reports.savings import PUBLISHED_RESAMPLES

log = logging.getLogger(__name__)


#: Who the audit log names for a report computed ahead (it reads the stays; a reader's request
#: served from it writes the reader's own audit row).
PRECOMPUTE_ACTOR = "api:precompute"
#: The languages a report is computed ahead in, bokmål first.
PRECOMPUTE_LANGUAGES: tuple[Language, ...] = ("nb", "en")


async def _tenants(state: ApiState) -> list[tuple[str, str]]:
    """Every tenant and its time zone."""
    async with db.pooled_async(state.pool) as conn:
        # Before any tenant is named: the owner's-rights list (row-level security, 0015).
        cur = await conn.execute("SELECT tenant_id, time_zone FROM service_tenants()")
        return [(str(t), str(z)) for t, z in await cur.fetchall()]


async def evaluate_all(state: ApiState) -> int:
    """Evaluate today's alerts of every ward with current stays; return the conditions held."""
    held = 0
    for tenant_id, time_zone in await _tenants(state):
        async with db.pooled_async(state.pool) as conn:
            await set_tenant(conn, tenant_id)
            held += await alerts.evaluate_tenant(conn, tenant_id, time_zone, datetime.now(UTC))
    return held


async def precompute_reports(state: ApiState, within_s: float) -> int:
    """Compute every tenant's current published savings report, per language, whose data
    version has no entry in the cache or whose entry expires within ``within_s``; the key is
    the one a request now would use (``GET /reports/savings`` without ``as_of``). Return how
    many were computed. One tenant's failure is logged and does not keep the next tenants'
    reports from being computed (their readers would otherwise wait for every pass)."""
    computed = 0
    for tenant_id, time_zone in await _tenants(state):
        for language in PRECOMPUTE_LANGUAGES:
            try:
                made = await _precompute(state, tenant_id, time_zone, language, within_s)
            except Exception:  # the report fails on request too; the next pass tries again
                log.exception("savings report of %s (%s) not computed ahead", tenant_id, language)
                continue
            if made:
                computed += 1
                log.info("savings report of %s (%s) computed ahead", tenant_id, language)
    return computed


async def _precompute(
    state: ApiState, tenant_id: str, time_zone: str, language: Language, within_s: float
) -> bool:
    version = await state.in_thread(tenant_id, lambda c: report_source.data_version(c, tenant_id))
    analysis_at = datetime.now(UTC)
    key = ReportKey.of(
        tenant_id, language=language, as_of=None, analysis_at=analysis_at, time_zone=time_zone,
        n_resamples=PUBLISHED_RESAMPLES, data_version=version,
    )  # fmt: skip

    async def compute() -> SavingsReport:
        return await state.in_thread(
            tenant_id,
            lambda c: report_source.build_savings(
                c, tenant_id, actor=PRECOMPUTE_ACTOR, analysis_at=analysis_at,
                n_resamples=PUBLISHED_RESAMPLES, language=language,
            ),
        )  # fmt: skip

    return await state.reports.refresh(key, compute, within_s)


async def _every(
    name: str, work: Callable[[], Awaitable[object]], interval_s: float, stop: asyncio.Event
) -> None:
    """Run ``work`` every ``interval_s`` until ``stop`` is set; a failed pass is logged."""
    while not stop.is_set():
        try:
            done = await work()
            log.debug("%s: %s", name, done)
        except Exception:  # a pass may fail (database restarting); the next one must run
            log.exception("%s failed; retrying in %.0f s", name, interval_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


#: How often the API deletes the login throttle rows that no longer count (docs/privacy.md).
THROTTLE_PURGE_S = 300.0


async def _purge_login_throttle(state: ApiState) -> int:
    async with db.pooled_async(state.pool) as conn:
        return await auth.purge_login_throttle(conn)


async def throttle_purge_loop(state: ApiState, stop: asyncio.Event) -> None:
    """Delete the login throttle rows that no longer count, with the client addresses in
    them, every :data:`THROTTLE_PURGE_S` until ``stop`` is set."""
    await _every(
        "login throttle purge", lambda: _purge_login_throttle(state), THROTTLE_PURGE_S, stop
    )


async def alert_loop(state: ApiState, interval_s: float, stop: asyncio.Event) -> None:
    """Run :func:`evaluate_all` every ``interval_s`` until ``stop`` is set."""
    await _every("alert evaluation", lambda: evaluate_all(state), interval_s, stop)


async def report_loop(state: ApiState, interval_s: float, stop: asyncio.Event) -> None:
    """Run :func:`precompute_reports` every ``interval_s`` (at once first, as the API starts)
    until ``stop`` is set. An entry is computed again two intervals before it expires, so the
    next pass cannot come too late for it (at most half its lifetime before: a short cache
    lifetime must not have every pass compute again)."""
    within_s = min(2 * interval_s, state.reports.ttl_s / 2)
    await _every(
        "savings report precompute",
        lambda: precompute_reports(state, within_s=within_s),
        interval_s,
        stop,
    )
