"""``/residents/{id}/consents``: a resident's consents, recording one, withdrawing one.

Withdrawing care consent erases the resident's telemetry and every derived row in the same
transaction as the withdrawal and its audit row (:func:`stayactive.privacy.withdraw_consent`);
the answer says what was erased, table by table.
"""

from __future__ import annotations

from typing import Annotated

import psycopg
from fastapi import APIRouter, Path, Request, status
from psycopg.rows import TupleRow

from stayactive import privacy
from stayactive.api.deps import (
    Allow,
    AuditedRead,
    CurrentUser,
    ResidentScope,
    StateDep,
    endpoint_of,
)
from stayactive.api.models.consents import (
    ConsentCreate,
    ConsentPublic,
    Purpose,
    WithdrawalPublic,
)
from stayactive.api.problems import ApiProblem, not_found, problem_responses

router = APIRouter(
    prefix="/residents",
    tags=["consents"],
    responses=problem_responses(401, 403, 404, 422, 503),
)


def _public(rows: list[privacy.ConsentStatus]) -> list[ConsentPublic]:
    return [
        ConsentPublic(
            purpose=c.purpose,
            status=c.status,
            valid_from=c.valid_from,
            valid_to=c.valid_to,
            withdrawn_at=c.withdrawn_at,
            source=c.source,
        )
        for c in rows
    ]


@router.get(
    "/{resident_id}/consents",
    response_model=list[ConsentPublic],
    dependencies=[Allow("resident.read")],
)
async def consents(
    resident: ResidentScope, audited: AuditedRead, state: StateDep
) -> list[ConsentPublic]:
    """The resident's consent per purpose: given, withdrawn, expired, future or none."""
    rows = await state.in_thread(
        audited.principal.tenant_id,
        lambda sync: privacy.consent_statuses(sync, resident.resident_id),
    )
    await audited.record("resident", [str(resident.resident_id)], detail={"consents": True})
    return _public(rows)


@router.post(
    "/{resident_id}/consents",
    response_model=list[ConsentPublic],
    status_code=status.HTTP_201_CREATED,
    dependencies=[Allow("registry.write")],
    responses=problem_responses(409),
)
async def record_consent(
    resident: ResidentScope, body: ConsentCreate, principal: CurrentUser, state: StateDep
) -> list[ConsentPublic]:
    """Record a consent (one per purpose at a time: an overlapping one is refused, 409)."""
    if body.valid_to is not None and body.valid_to <= body.valid_from:
        raise ApiProblem(422, "invalid-range", "valid_to must be after valid_from")

    def work(sync: psycopg.Connection[TupleRow]) -> list[privacy.ConsentStatus]:
        privacy.record_consent(
            sync,
            tenant=principal.tenant_id,
            resident_id=resident.resident_id,
            purpose=body.purpose,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            source=f"api:{principal.actor}",
            actor=principal.actor,
            actor_role=principal.role,
        )
        return privacy.consent_statuses(sync, resident.resident_id)

    return _public(await state.in_thread(principal.tenant_id, work))


@router.post(
    "/{resident_id}/consents/{purpose}/withdraw",
    response_model=WithdrawalPublic,
    dependencies=[Allow("registry.write")],
    responses=problem_responses(409),
)
async def withdraw(
    resident_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="Resident id.")],
    purpose: Purpose,
    principal: CurrentUser,
    state: StateDep,
    request: Request,
) -> WithdrawalPublic:
    """Withdraw the consent. For care, the resident's telemetry (attributed through their
    device assignments) and every derived row are erased at once; published savings figures
    are not rewritten, later runs leave the resident out."""
    endpoint = endpoint_of(request)

    def work(sync: psycopg.Connection[TupleRow]) -> privacy.Withdrawal:
        return privacy.withdraw_consent(
            sync,
            tenant=principal.tenant_id,
            resident_id=resident_id,
            purpose=purpose,
            actor=principal.actor,
            actor_role=principal.role,
            endpoint=endpoint,
        )

    try:
        done = await state.in_thread(principal.tenant_id, work)
    except privacy.UnknownResident as exc:
        raise not_found(f"resident {resident_id}") from exc
    except privacy.NoConsentToWithdraw as exc:
        raise ApiProblem(409, "nothing-to-withdraw", str(exc)) from exc
    return WithdrawalPublic(
        resident_id=done.resident_id,
        purpose=done.purpose,
        consents_withdrawn=done.consents_withdrawn,
        erased=done.erased,
        rows_erased=done.rows_erased,
        note=done.note,
    )
