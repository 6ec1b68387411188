"""Privacy by design: consent per purpose, erasure on withdrawal, review of the audit trail.

The database holds the rules (migrations 0014 and 0015: the data catalogue, the service roles,
row-level security, ``care_consent_covers``, ``erase_care_data``); this package is what the API
and the CLI call. docs/privacy.md is the summary for a municipality's DPIA.
"""

from stayactive.privacy._access import (
    HEADERS,
    AccessEntry,
    AccessFlag,
    FlagKind,
    ReviewThresholds,
    access_log_csv,
    resident_access_log,
    unusual_access,
)
from stayactive.privacy._consent import (
    PUBLISHED_NOTE,
    PURPOSES,
    ConsentPurpose,
    ConsentState,
    ConsentStatus,
    NoConsentToWithdraw,
    UnknownResident,
    Withdrawal,
    consent_statuses,
    count_erased,
    record_consent,
    set_tenant,
    withdraw_consent,
)

__all__ = [
    "HEADERS",
    "PUBLISHED_NOTE",
    "PURPOSES",
    "AccessEntry",
    "AccessFlag",
    "ConsentPurpose",
    "ConsentState",
    "ConsentStatus",
    "FlagKind",
    "NoConsentToWithdraw",
    "ReviewThresholds",
    "UnknownResident",
    "Withdrawal",
    "access_log_csv",
    "consent_statuses",
    "count_erased",
    "record_consent",
    "resident_access_log",
    "set_tenant",
    "unusual_access",
    "withdraw_consent",
]
