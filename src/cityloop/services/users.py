"""Account use-cases for the CLI and the web app: add users, list them, change roles and
passwords, deactivate them, sign in, and list or end their web sessions.

Joins the pure policy of ``cityloop.accounts`` (password rules, Argon2id, lockout) with the
store; clear-text passwords never leave this module.
"""

from __future__ import annotations

from datetime import datetime

from cityloop.accounts import (
    DEFAULT_LOCKOUT,
    DEFAULT_PARAMETERS,
    HashParameters,
    LockoutPolicy,
    Principal,
    Role,
    check_password,
    hash_password,
    lock_status,
    needs_rehash,
    verify_password,
)
from cityloop.errors import InputError
from cityloop.store import Database
from cityloop.store.sessions import SessionRow
from cityloop.store.users import KEEP, Keep, UserRow


def add_user(
    db: Database,
    username: str,
    password: str,
    role: Role | str,
    scope: str | None = None,
    department: str | None = None,
    display_name: str = "",
    *,
    actor: str,
    params: HashParameters = DEFAULT_PARAMETERS,
) -> None:
    """Add an account after checking the password policy; raise ``WeakPasswordError`` if not.

    Nothing is written when the password, the username, the role, the region or the
    department is refused.
    """
    check_password(password, username=username)
    db.add_user(
        username=username,
        password_hash=hash_password(password, params),
        role=role,
        scope=scope,
        department=department,
        display_name=display_name,
        actor=actor,
    )


def list_users(db: Database) -> list[UserRow]:
    """Every account, by username, without password hashes."""
    return db.users()


def set_role(
    db: Database,
    username: str,
    role: Role | str,
    *,
    scope: str | Keep | None = KEEP,
    department: str | Keep | None = KEEP,
    actor: str,
) -> UserRow:
    """Change an account's role; scope and department change only when given (None clears).
    The account's web sessions end: it signs in again under its new role."""
    return db.set_role(username, role, scope=scope, department=department, actor=actor)


def set_password(
    db: Database,
    username: str,
    password: str,
    *,
    actor: str,
    params: HashParameters = DEFAULT_PARAMETERS,
) -> None:
    """Give an account a new password (policy checked first: ``WeakPasswordError``); its web
    sessions end, so a session opened with the old password is of no more use."""
    check_password(password, username=username)
    db.set_password_hash(username, hash_password(password, params), actor=actor)


def set_active(db: Database, username: str, active: bool, *, actor: str) -> UserRow:
    """Let an account sign in again (``active``) or stop it; deactivating ends its sessions."""
    return db.set_active(username, active, actor=actor)


def live_sessions(db: Database, now: datetime, username: str | None = None) -> list[SessionRow]:
    """The live web sessions (of ``username`` when given): who, since when, until when."""
    if username is not None and db.user(username) is None:
        raise InputError("users.unknown", username=username)
    return db.live_sessions(now, username)


def sign_out_everywhere(db: Database, username: str, now: datetime, *, actor: str) -> int:
    """End every live web session of ``username``; how many there were."""
    return db.end_sessions(username, now, actor=actor)


def authenticate(
    db: Database,
    username: str,
    password: str,
    now: datetime,
    *,
    params: HashParameters = DEFAULT_PARAMETERS,
    policy: LockoutPolicy = DEFAULT_LOCKOUT,
    session_digest: str | None = None,
) -> Principal | None:
    """The signed-in user if ``password`` is right and the account may sign in; else None.

    A locked account is refused without checking the password (no oracle, no Argon2 work),
    and the refused attempt is logged. An unknown username costs the same Argon2 work as a
    known one. Every attempt on an existing account is recorded for lockout and audit; after a
    success, a hash made with other parameters than ``params`` is replaced. A success with a
    ``session_digest`` starts that web session (``cityloop.accounts.sessions``).
    """
    found = db.credentials(username)
    if found is None or not found[0].active:
        verify_password(None, password, params)  # the same time as for a real account
        return None
    user, stored_hash = found
    if lock_status(db.login_state(username), now, policy).locked:
        db.record_login(username, False, now, username, policy)  # logged, changes nothing
        return None
    # Argon2 runs outside the write transaction; record_login re-reads the state inside it.
    succeeded = verify_password(stored_hash, password, params)
    after = db.record_login(username, succeeded, now, username, policy, session_digest)
    if not succeeded or lock_status(after, now, policy).locked:  # locked meanwhile by others
        return None
    if needs_rehash(stored_hash, params):
        new_hash = hash_password(password, params)
        db.set_password_hash(username, new_hash, actor=username, new_password=False)
    return Principal(
        username=user.username, role=user.role, scope=user.scope, department=user.department
    )
