"""Marking what changed stays inside the statement timeout at a real history's size.

A fresh `make demo` stores some 13,000 robot events for 700 residents in its first hour; the
runner's marking must see them as a set, not resident by event (that took 42 s on the demo's
data and every pass was cancelled at the 30 s statement timeout). Here: 3,000 events of 300
sessions for 600 residents, all new at once, under a 5 s statement timeout (the set-based
marking needs well under a second of it; the quadratic one needed minutes).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from analytics import store
from analytics.mobility import CONTEXT_S
from stayactive import registry
from tests.fixtures.services import Schema

TENANT = "t-mark"
SESSIONS = 300
PER_SESSION = 10  # a start, eight exercises, an end
RESIDENTS = 600


def test_marking_a_large_robot_history_stays_inside_the_statement_timeout(
    schema: Schema,
) -> None:
    start = datetime(2026, 10, 1, 9, tzinfo=UTC)
    with schema.connect() as conn:
        registry.ensure_tenant(conn, TENANT, "Mark kommune", "Europe/Oslo")
        conn.execute(
            "INSERT INTO residents (tenant_id, pseudonym) "
            "SELECT %s, 'res-' || i FROM generate_series(1, %s) AS i",
            (TENANT, RESIDENTS),
        )
        rows = []
        for s in range(SESSIONS):
            t = start + timedelta(hours=5 * s)
            who = [f"res-{(4 * s + k) % RESIDENTS + 1}" for k in range(4)]
            bodies: list[tuple[str, dict[str, object]]] = [("session_start", {"participants": who})]
            bodies += [("exercise", {"participant": who[k % 4]}) for k in range(PER_SESSION - 2)]
            bodies += [("session_end", {})]
            for k, (event, body) in enumerate(bodies):
                seq = s * PER_SESSION + k + 1
                rows.append((t + timedelta(minutes=5 * k), seq, event, f"s-{s}", json.dumps(body)))
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO robot_events (time, device_id, tenant_id, boot, seq, event,
                                             session_id, body, received_at)
                   VALUES (%s, 'R-mark', %s, 1, %s, %s, %s, %s::jsonb, now())""",
                [(t, TENANT, seq, e, sid, body) for t, seq, e, sid, body in rows],
            )
        conn.execute("SET statement_timeout = '5s'")
        marked = store.mark_new_data(conn, datetime.now(UTC), timedelta(seconds=CONTEXT_S))
        days = conn.execute("SELECT count(DISTINCT resident_id) FROM analytics_dirty").fetchone()
    # Every session's four residents, each on the day(s) within 3 hours of their events.
    assert days is not None and days[0] == min(RESIDENTS, 4 * SESSIONS)
    assert marked >= RESIDENTS
