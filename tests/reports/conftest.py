"""Fixtures of the report tests: a tenant seeded from a simulated care-record extract."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from psycopg.rows import TupleRow

from tests.reports.reports_helpers import SeededTenant, seed_tenant


@pytest.fixture
def seeded(conn: psycopg.Connection[TupleRow]) -> Callable[..., SeededTenant]:
    """Factory: seed a tenant in the test's schema."""

    def make(tenant: str = "stavanger", **overrides: object) -> SeededTenant:
        return seed_tenant(conn, tenant, **overrides)

    return make
