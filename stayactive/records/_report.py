"""What an import did: counts, and the rows that were not imported with where and why."""

from __future__ import annotations

from dataclasses import dataclass, field

from stayactive.privacy import count_erased
from stayactive.records._parse import RowError


@dataclass(frozen=True)
class ResidentChange:
    """What one imported row changed for its resident: the stay, and the consents it recorded
    (purposes). Each becomes an audit row of the resident (a withdrawal is audited by
    :func:`stayactive.privacy.withdraw_consent`)."""

    resident_id: int
    external_ref: str
    stay: str  # "created" or "updated"
    consents_given: tuple[str, ...] = ()


@dataclass
class ImportReport:
    """What an import did. ``failed`` rows are listed in ``errors``; the others are kept."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    consents_withdrawn: int = 0
    #: Rows erased per table by the care consents this import withdrew.
    erased: dict[str, int] = field(default_factory=dict)
    tenant_created: bool = False
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: One entry per row that created or updated a stay (rows kept only).
    changes: list[ResidentChange] = field(default_factory=list)

    def summary(self) -> str:
        """One line of counts."""
        text = (
            f"{self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed"
        )
        if self.consents_withdrawn:
            text += f"; {self.consents_withdrawn} imported consents withdrawn"
            if self.erased:
                text += f" ({count_erased(self.erased)} rows erased)"
        return text
