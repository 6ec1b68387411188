"""Accounts and authentication: users with roles and ward scope, passwords, tokens, sessions,
login throttling and integrators' API keys.

Roles (``admin``, ``care_staff``, ``finance``, ``integrator``) are checked by the API's
dependencies (``stayactive/api/deps.py``); this package says who someone is, not what they may do.
"""

from stayactive.auth._devices import (
    DeviceIdTaken,
    DeviceSecret,
    UnknownDevice,
    UnknownWard,
    add_device,
    deactivate_device,
    device_secret_matches,
    rotate_device,
)
from stayactive.auth._login import AccountLocked, LoggedIn, LoginFailed, LoginPolicy, log_in
from stayactive.auth._passwords import (
    MIN_PASSWORD_LENGTH,
    check_password_rules,
    hash_password,
    verify_password,
    warm_up,
)
from stayactive.auth._principal import ROLES, Principal, Role
from stayactive.auth._store import (
    API_KEY_PREFIX,
    ApiKeyRow,
    UserRow,
    add_user,
    api_key_principal,
    create_api_key,
    list_api_keys,
    list_users,
    resolve_wards,
    revoke_api_key,
    revoke_session,
    revoke_user_sessions,
    session_expiry,
    session_principal,
    set_active,
    set_password,
    set_wards,
    user_id_of,
)
from stayactive.auth._tokens import InvalidToken, TokenClaims, decode_token, issue_token

__all__ = [
    "API_KEY_PREFIX",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "AccountLocked",
    "ApiKeyRow",
    "DeviceIdTaken",
    "DeviceSecret",
    "InvalidToken",
    "LoggedIn",
    "LoginFailed",
    "LoginPolicy",
    "Principal",
    "Role",
    "TokenClaims",
    "UnknownDevice",
    "UnknownWard",
    "UserRow",
    "add_device",
    "add_user",
    "api_key_principal",
    "check_password_rules",
    "create_api_key",
    "deactivate_device",
    "decode_token",
    "device_secret_matches",
    "hash_password",
    "issue_token",
    "list_api_keys",
    "list_users",
    "log_in",
    "resolve_wards",
    "revoke_api_key",
    "revoke_session",
    "revoke_user_sessions",
    "rotate_device",
    "session_expiry",
    "session_principal",
    "set_active",
    "set_password",
    "set_wards",
    "user_id_of",
    "verify_password",
    "warm_up",
]
