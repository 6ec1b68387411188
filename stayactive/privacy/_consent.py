"""Consent per purpose, and what withdrawing it does.

The rules live in the database (migration 0015), so that the analytics runner, the API and the
reports apply one definition:

* ``care_consent_covers(resident, day)`` -- resident-level metrics of a local day may be
  computed only when a care consent that has not been withdrawn is valid during that day;
* ``consent_status(resident)`` -- per purpose: given, withdrawn, expired, future or none;
* ``erase_care_data_during(resident, time)`` -- what a care withdrawal erases in that time
  (counts per table); ``erase_care_data(resident)`` is the same for all time (migration 0019).

This module records consents, withdraws them (with the erasure, in the caller's transaction)
and writes the audit row that says what was erased.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, get_args

import psycopg
from psycopg.rows import TupleRow

from stayactive import audit
from stayactive.errors import StayActiveError

log = logging.getLogger(__name__)

_Conn = psycopg.Connection[TupleRow]

ConsentPurpose = Literal["care", "evaluation", "open_data"]
PURPOSES: Final[tuple[ConsentPurpose, ...]] = get_args(ConsentPurpose)
ConsentState = Literal["given", "withdrawn", "expired", "future", "none"]

#: What a withdrawal does not do, said with every withdrawal (API answer, CLI, audit row).
PUBLISHED_NOTE: Final = (
    "Savings and open-data figures already published are not rewritten; every later run "
    "leaves this resident out."
)


class NoConsentToWithdraw(StayActiveError, LookupError):
    """The resident has no consent for the purpose that is not withdrawn already."""


class UnknownResident(StayActiveError, LookupError):
    """No such resident in the tenant."""


@dataclass(frozen=True)
class ConsentStatus:
    """Where one purpose stands for a resident now."""

    purpose: ConsentPurpose
    status: ConsentState
    valid_from: datetime | None
    valid_to: datetime | None
    withdrawn_at: datetime | None
    source: str | None


@dataclass(frozen=True)
class Withdrawal:
    """What withdrawing a consent did: the consents marked, and the rows erased per table."""

    resident_id: int
    purpose: ConsentPurpose
    consents_withdrawn: int
    erased: dict[str, int] = field(default_factory=dict)
    note: str = PUBLISHED_NOTE

    @property
    def rows_erased(self) -> int:
        """All rows erased (the redacted robot events and ended assignments not counted)."""
        return count_erased(self.erased)


def count_erased(erased: Mapping[str, int]) -> int:
    """The rows erased of an erasure's counts per table (the redacted robot events and the
    ended or removed assignments, which are changed rather than erased, not counted)."""
    return sum(
        n
        for table, n in erased.items()
        if not (table.endswith("_redacted") or table.startswith("device_assignments_"))
    )


def set_tenant(conn: _Conn, tenant: str) -> None:
    """Name the transaction's tenant (row-level security and the erasure check key on it)."""
    conn.execute("SELECT set_config('stayactive.tenant_id', %s, true)", (tenant,))


def _check_resident(conn: _Conn, tenant: str, resident_id: int) -> None:
    row = conn.execute(
        "SELECT 1 FROM residents WHERE tenant_id = %s AND resident_id = %s", (tenant, resident_id)
    ).fetchone()
    if row is None:
        raise UnknownResident(f"resident {resident_id} not found")


def consent_statuses(conn: _Conn, resident_id: int) -> list[ConsentStatus]:
    """The resident's consents, one per purpose (see ``consent_status`` in migration 0015)."""
    rows = conn.execute("SELECT * FROM consent_status(%s)", (resident_id,)).fetchall()
    return [ConsentStatus(*row) for row in rows]


def record_consent(
    conn: _Conn,
    *,
    tenant: str,
    resident_id: int,
    purpose: ConsentPurpose,
    valid_from: datetime,
    valid_to: datetime | None,
    source: str,
    actor: str,
    actor_role: str | None = None,
) -> int:
    """Record a consent for ``purpose`` valid from ``valid_from`` (to ``valid_to``, or open).

    One consent per purpose at a time: an overlapping one is refused by the database
    (:class:`~stayactive.errors.ConstraintViolation`, kind ``exclusion``, when the caller
    translates it). Audited. Returns the consent id.
    """
    set_tenant(conn, tenant)
    _check_resident(conn, tenant, resident_id)
    row = conn.execute(
        """INSERT INTO consents (tenant_id, resident_id, purpose, valid, source)
           VALUES (%s, %s, %s, tstzrange(%s, %s), %s) RETURNING consent_id""",
        (tenant, resident_id, purpose, valid_from, valid_to, source),
    ).fetchone()
    assert row is not None
    consent_id = int(row[0])
    audit.record(
        conn,
        tenant=tenant,
        actor=actor,
        actor_role=actor_role,
        action="consent.record",
        subject_kind="resident",
        subject_id=str(resident_id),
        purpose="administration",
        detail={
            "purpose": purpose,
            "consent_id": consent_id,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
            "source": source,
        },
    )
    return consent_id


def withdraw_consent(
    conn: _Conn,
    *,
    tenant: str,
    resident_id: int,
    purpose: ConsentPurpose,
    actor: str,
    actor_role: str | None = None,
    endpoint: str | None = None,
    consent_ids: Sequence[int] | None = None,
) -> Withdrawal:
    """Withdraw the resident's consent for ``purpose``, in the caller's transaction.

    The one owner of erasure: the API's withdraw route, the CLI and a care-record import that
    marks an imported consent withdrawn all come here.

    1. Every consent of the purpose that is not withdrawn yet gets ``withdrawn_at = now()``
       (only those of ``consent_ids`` if given: an import withdraws the consent of one stay).
    2. For care: ``erase_care_data_during`` ends the resident's open device assignments and deletes
       the telemetry attributed to them through their assignments (frames, events, statuses,
       rejects in the assignment ranges; raw rows of the devices outside them stay), every
       derived row (resident-days, trajectories, alerts, to-do marks) and robot events naming
       the resident. Evaluation and open data keep no per-resident rows: the next run of the
       savings and open-data reports leaves the resident out.
    3. One audit row says what was withdrawn and erased (counts per table).

    Raises :class:`UnknownResident` or :class:`NoConsentToWithdraw`. The caller commits: the
    withdrawal, the erasure and the audit row are one transaction.
    """
    set_tenant(conn, tenant)
    _check_resident(conn, tenant, resident_id)
    ids = None if consent_ids is None else list(consent_ids)
    # 1. MARK THE CONSENTS
    withdrawn = conn.execute(
        """UPDATE consents SET withdrawn_at = now()
           WHERE tenant_id = %s AND resident_id = %s AND purpose = %s AND withdrawn_at IS NULL
             AND (%s::bigint[] IS NULL OR consent_id = ANY(%s::bigint[]))
           RETURNING consent_id, valid""",
        (tenant, resident_id, purpose, ids, ids),
    ).fetchall()
    if not withdrawn:
        raise NoConsentToWithdraw(
            f"resident {resident_id} has no {purpose} consent that is not withdrawn already"
        )
    # 2. ERASE (care only)
    erased: dict[str, int] = {}
    if purpose == "care":
        if ids is None:
            row = conn.execute("SELECT erase_care_data(%s)", (resident_id,)).fetchone()
        else:
            row = conn.execute(
                """SELECT erase_care_data_during(%s, (SELECT range_agg(c.valid) FROM consents c
                                                       WHERE c.consent_id = ANY(%s)))""",
                (resident_id, [int(r[0]) for r in withdrawn]),
            ).fetchone()
        counts: dict[str, Any] = row[0] if row and row[0] else {}
        erased = {str(k): int(v) for k, v in sorted(counts.items())}
    result = Withdrawal(resident_id, purpose, len(withdrawn), erased)
    # 3. AUDIT
    audit.record(
        conn,
        tenant=tenant,
        actor=actor,
        actor_role=actor_role,
        action="consent.withdraw",
        subject_kind="resident",
        subject_id=str(resident_id),
        purpose="administration",
        detail={
            "purpose": purpose,
            "consent_ids": [int(r[0]) for r in withdrawn],
            "scope": "all" if ids is None else "consents",
            "erased": erased,
            "rows_erased": result.rows_erased,
            "endpoint": endpoint,
            "note": PUBLISHED_NOTE,
        },
    )
    log.info(
        "consent %s of resident %d (%s) withdrawn by %s; %d rows erased",
        purpose,
        resident_id,
        tenant,
        actor,
        result.rows_erased,
    )
    return result
