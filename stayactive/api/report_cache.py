"""Published savings reports kept in the API's memory, per tenant and data version.

A published report rests on 10,000 bootstrap resamples: seconds of CPU for a municipality's
year of stays. Finance opens the same report many times while the data stand still, so the
API computes it once per key and serves it from here after that. The key holds everything the
report depends on (:class:`ReportKey`): the tenant, the language, the analysis day, the
resamples and the *data version*, a digest of the evaluation's inputs taken at each request
(:func:`stayactive.api.report_source.data_version`); a new import, a changed consent, a new
parameter set or design, or late telemetry that makes a stay a programme stay, gives a new
version and so a new report. Entries also expire after ``ttl_s`` (the follow-up of stays still
going on grows through the analysis day), and the least recently used go first beyond
``max_entries``.

Concurrent requests for one key compute it once: the others wait for the first. The API also
computes the current reports ahead, in the background (:mod:`stayactive.api.background`): a
changed data version or an entry about to expire is computed again while the old entry is
still served, so a reader's first request after new data finds the report ready. A report
says when it was computed (``analysis_at``, ``generated_at``), whichever way it was made.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from stayactive.reports import SavingsReport


@dataclass(frozen=True)
class ReportKey:
    """What a published report depends on; ``as_of`` None means "now" on ``day``."""

    tenant_id: str
    language: str
    as_of: date | None
    day: date
    n_resamples: int
    data_version: str

    @classmethod
    def of(
        cls,
        tenant_id: str,
        *,
        language: str,
        as_of: date | None,
        analysis_at: datetime,
        time_zone: str,
        n_resamples: int,
        data_version: str,
    ) -> ReportKey:
        """The key of a report analysed at ``analysis_at`` (its day in the tenant's zone)."""
        day = analysis_at.astimezone(ZoneInfo(time_zone)).date()
        return cls(tenant_id, language, as_of, day, n_resamples, data_version)


@dataclass
class _Entry:
    report: SavingsReport
    made_at: float


@dataclass
class ReportCache:
    """In-memory reports by :class:`ReportKey` (one per API process)."""

    max_entries: int = 32
    ttl_s: float = 3600.0
    _entries: OrderedDict[ReportKey, _Entry] = field(default_factory=OrderedDict)
    _locks: dict[ReportKey, asyncio.Lock] = field(default_factory=dict)

    def _fresh(self, key: ReportKey) -> SavingsReport | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry.made_at > self.ttl_s:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.report

    def due(self, key: ReportKey, within_s: float) -> bool:
        """Whether ``key`` has no entry that stays fresh for ``within_s`` more seconds."""
        entry = self._entries.get(key)
        return entry is None or time.monotonic() - entry.made_at > self.ttl_s - within_s

    async def get_or_compute(
        self, key: ReportKey, compute: Callable[[], Awaitable[SavingsReport]]
    ) -> tuple[SavingsReport, bool]:
        """The report for ``key`` and whether it came from the cache (``compute`` otherwise;
        a failed computation is not kept)."""
        if self.ttl_s <= 0:
            return await compute(), False
        cached = self._fresh(key)
        if cached is not None:
            return cached, True
        return await self._computed(key, compute, reuse_fresh=True)

    async def refresh(
        self, key: ReportKey, compute: Callable[[], Awaitable[SavingsReport]], within_s: float
    ) -> bool:
        """Compute ``key`` again unless it stays fresh for ``within_s`` (the entry, if any, is
        served meanwhile); return whether it computed. A request for the key waits for it."""
        if self.ttl_s <= 0 or not self.due(key, within_s):
            return False
        _, hit = await self._computed(key, compute, reuse_fresh=False, within_s=within_s)
        return not hit

    async def _computed(
        self,
        key: ReportKey,
        compute: Callable[[], Awaitable[SavingsReport]],
        *,
        reuse_fresh: bool,
        within_s: float = 0.0,
    ) -> tuple[SavingsReport, bool]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                # Another computation of the key may have finished while this one waited.
                cached = self._fresh(key)
                if cached is not None and (reuse_fresh or not self.due(key, within_s)):
                    return cached, True
                report = await compute()
                self._entries[key] = _Entry(report, time.monotonic())
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                return report, False
        finally:
            # Waiters hold the lock object itself; the next request finds the entry first.
            if not lock.locked():
                self._locks.pop(key, None)
