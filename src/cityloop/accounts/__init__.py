"""Accounts policy: password hashing and rules, lockout, roles, permissions and region scope.

Pure core: no database, no web framework, no clock; services store and enforce what it decides.
"""

from cityloop.accounts.lockout import (
    DEFAULT_LOCKOUT,
    LockoutPolicy,
    LockStatus,
    LoginState,
    lock_status,
    record_attempt,
)
from cityloop.accounts.passwords import (
    COMMON_PASSWORDS,
    DEFAULT_PARAMETERS,
    MIN_PASSWORD_LENGTH,
    HashParameters,
    WeakPasswordError,
    check_password,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from cityloop.accounts.roles import PERMISSIONS, Action, Role, can
from cityloop.accounts.scope import (
    AccessDenied,
    Principal,
    authorise,
    can_see,
    may_enter,
    visible_units,
)

__all__ = [
    "COMMON_PASSWORDS",
    "DEFAULT_LOCKOUT",
    "DEFAULT_PARAMETERS",
    "MIN_PASSWORD_LENGTH",
    "PERMISSIONS",
    "AccessDenied",
    "Action",
    "HashParameters",
    "LockStatus",
    "LockoutPolicy",
    "LoginState",
    "Principal",
    "Role",
    "WeakPasswordError",
    "authorise",
    "can",
    "can_see",
    "check_password",
    "hash_password",
    "lock_status",
    "may_enter",
    "needs_rehash",
    "password_problems",
    "record_attempt",
    "verify_password",
    "visible_units",
]
