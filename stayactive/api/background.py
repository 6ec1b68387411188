"""Work the API does on its own: evaluating every ward's alerts at an interval.

One pass goes tenant by tenant, each in a transaction scoped to the tenant (as a request is),
so it needs no more privilege than the routes. A failed pass is logged and the next one runs
on time: the loop must outlive a database restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from stayactive import db
from stayactive.api import alerts
from stayactive.api.state import ApiState, set_tenant

log = logging.getLogger(__name__)


async def evaluate_all(state: ApiState) -> int:
    """Evaluate today's alerts of every ward with current stays; return the conditions held."""
    async with db.pooled_async(state.pool) as conn:
        # Before any tenant is named: the owner's-rights list (row-level security, 0015).
        cur = await conn.execute("SELECT tenant_id, time_zone FROM service_tenants()")
        tenants = [(str(t), str(z)) for t, z in await cur.fetchall()]
    held = 0
    for tenant_id, time_zone in tenants:
        async with db.pooled_async(state.pool) as conn:
            await set_tenant(conn, tenant_id)
            held += await alerts.evaluate_tenant(conn, tenant_id, time_zone, datetime.now(UTC))
    return held


async def alert_loop(state: ApiState, interval_s: float, stop: asyncio.Event) -> None:
    """Run :func:`evaluate_all` every ``interval_s`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            held = await evaluate_all(state)
            log.debug("alerts evaluated: %d conditions hold", held)
        except Exception:  # a pass may fail (database restarting); the next one must run
            log.exception("alert evaluation failed; retrying in %.0f s", interval_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
