"""A resident's consents, their withdrawal and what it erased (docs/privacy.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

Purpose = Literal["care", "evaluation", "open_data"]
State = Literal["given", "withdrawn", "expired", "future", "none"]


class ConsentSummary(BaseModel):
    """Where each purpose stands now (the dashboard's resident page shows it)."""

    care: State = "none"
    evaluation: State = "none"
    open_data: State = "none"


class ConsentPublic(BaseModel):
    purpose: Purpose
    status: State
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    withdrawn_at: dt.datetime | None
    source: str | None


class ConsentCreate(BaseModel):
    purpose: Purpose
    valid_from: AwareDatetime = Field(description="With a UTC offset.")
    valid_to: AwareDatetime | None = Field(default=None, description="Open when absent.")


class WithdrawalPublic(BaseModel):
    """What a withdrawal did. For care, ``erased`` counts the rows deleted per table (and
    ``device_assignments_ended``, ``robot_events_redacted``: rows changed, not deleted)."""

    resident_id: int
    purpose: Purpose
    consents_withdrawn: int
    erased: dict[str, int]
    rows_erased: int
    note: str
