"""TimescaleDB keeps a hypertable's rows in chunk tables in its own schemas; the chunks carry the
hypertable's grants but not its row-level security. No service role may name a chunk directly,
while each still writes and reads the hypertables themselves, chunks made later included."""

from __future__ import annotations

import pytest
from psycopg import errors, sql

from stayactive.settings import DbRole
from tests.privacy.conftest import RoleConn, World

pytestmark = pytest.mark.integration

SERVICE_ROLES: tuple[DbRole, ...] = ("ingest", "analytics", "api", "reporting")
DENIED_CHUNK = "permission denied for table _hyper_"


def _chunks_holding(world: World, hypertable: str, tenant: str) -> list[sql.Composed]:
    """The chunk tables of ``hypertable`` of the world's schema that hold rows of ``tenant``."""
    with world.connect() as owner:
        chunks = owner.execute(
            """SELECT chunk_schema, chunk_name FROM timescaledb_information.chunks
               WHERE hypertable_schema = current_schema() AND hypertable_name = %s""",
            (hypertable,),
        ).fetchall()
        names = [sql.Identifier(str(s), str(n)) for s, n in chunks]
        holding = [
            name
            for name in names
            if owner.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE tenant_id = %s)").format(name),
                (tenant,),
            ).fetchone()
            == (True,)
        ]
    return [sql.SQL("SELECT count(*) FROM {}").format(name) for name in holding]


def test_no_service_role_reads_another_tenants_rows_through_a_chunk(
    world: World, as_role: RoleConn
) -> None:
    selects = _chunks_holding(world, "walker_frames", "tenant-b")
    assert selects, "the seeded world has tenant-b walker frames in some chunk"
    api = as_role("api", "tenant-a")
    assert api.execute("SELECT count(*) FROM walker_frames").fetchone() != (0,)
    for select in selects:
        with pytest.raises(errors.InsufficientPrivilege, match=DENIED_CHUNK):
            api.execute(select)
    for role in ("ingest", "analytics", "reporting"):
        with pytest.raises(errors.InsufficientPrivilege, match=DENIED_CHUNK):
            as_role(role).execute(selects[0])


def test_no_chunk_grants_a_service_role_anything_and_every_hypertable_closes_new_ones(
    world: World,
) -> None:
    """Checked from PostgreSQL's own privileges, for every chunk of the schema's hypertables,
    so a chunk read by no other test is covered too."""
    with world.connect() as owner:
        hypertables = {
            str(name)
            for (name,) in owner.execute(
                """SELECT hypertable_name FROM timescaledb_information.hypertables
                   WHERE hypertable_schema = current_schema()"""
            )
        }
        chunks = owner.execute(
            """SELECT format('%I.%I', chunk_schema, chunk_name)::regclass::oid
               FROM timescaledb_information.chunks WHERE hypertable_schema = current_schema()"""
        ).fetchall()
        open_to = [
            (oid, user)
            for (oid,) in chunks
            for user in map(world.settings.role_user, SERVICE_ROLES)
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
            if owner.execute(
                "SELECT has_table_privilege(%s, %s::oid, %s)", (user, oid, privilege)
            ).fetchone()
            == (True,)
        ]
        triggered = {
            str(name)
            for (name,) in owner.execute(
                """SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                   WHERE t.tgname = 'close_new_chunks'
                     AND c.relnamespace = current_schema()::regnamespace"""
            )
        }
    assert {"walker_frames", "robot_events", "device_status"} <= hypertables
    assert len(chunks) >= 3
    assert open_to == []
    assert triggered == hypertables


def test_new_chunks_are_written_and_read_through_their_hypertable_only(
    world: World, as_role: RoleConn
) -> None:
    """Ingest's INSERT and COPY far in the past make two chunks (as the ingest role); analytics
    and the API read the rows through the hypertable, the API within its tenant, and the new
    chunks are as closed as the old ones."""
    device = world.b.device_ids[0]
    inserted, copied = "2001-02-03 04:05:06+00", "2002-03-04 05:06:07+00"
    ingest = as_role("ingest")
    ingest.execute(
        """INSERT INTO device_status (time, device_id, tenant_id, boot, seq, state, received_at)
           VALUES (%s, %s, 'tenant-b', 9, 1, 'online', now())""",
        (inserted, device),
    )
    with ingest.cursor().copy(
        "COPY device_status (time, device_id, tenant_id, boot, seq, state, received_at) FROM STDIN"
    ) as copy:
        copy.write_row((copied, device, "tenant-b", 9, 2, "online", "2026-01-01 00:00:00+00"))
    with world.connect() as owner:
        made = owner.execute(
            """SELECT count(*) FROM timescaledb_information.chunks
               WHERE hypertable_schema = current_schema() AND hypertable_name = 'device_status'
                 AND range_end < '2003-01-01'"""
        ).fetchone()
    assert made == (2,)
    found = "SELECT count(*) FROM device_status WHERE time < '2003-01-01'"
    assert as_role("analytics").execute(found).fetchone() == (2,)
    assert as_role("api", "tenant-b").execute(found).fetchone() == (2,)
    assert as_role("api", "tenant-a").execute(found).fetchone() == (0,)
    selects = _chunks_holding(world, "device_status", "tenant-b")
    assert len(selects) == 2
    api = as_role("api", "tenant-a")
    for select in selects:
        with pytest.raises(errors.InsufficientPrivilege, match=DENIED_CHUNK):
            api.execute(select)
