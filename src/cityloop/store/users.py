"""Accounts: add users, change their role and scope, and remember failed logins for lockout;
start and end their web sessions (``cityloop.store.sessions``) with the audit rows that say so.

Every change adds an audit row in the same transaction; no audit row ever holds a password hash.
A change of role, password or activity ends the user's sessions in that transaction too.
The policy (hashing, lockout rules) lives in ``cityloop.accounts``; this module only stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.accounts.lockout import DEFAULT_LOCKOUT, LockoutPolicy, LoginState, lock_status
from cityloop.accounts.lockout import record_attempt as next_login_state
from cityloop.accounts.roles import Role
from cityloop.accounts.sessions import EndReason
from cityloop.datahub.units import RegionLevel
from cityloop.errors import InputError
from cityloop.frameworks import departments as shipped_departments
from cityloop.store import sessions
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.models import Department, Region, User, WebSession

ENTITY = "users"
LOGIN_FAILED = "login_failed"
MAX_USERNAME = 64


class Keep:
    """Marker: leave the stored value as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = Keep()


@dataclass(frozen=True)
class UserRow:
    """An account as listed: everything except the password hash."""

    username: str
    display_name: str
    role: Role
    scope: str | None
    department: str | None
    active: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime

    def audit_view(self) -> dict[str, Any]:
        """What the audit log records of the account (no hash, no timestamps of its own)."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "scope": self.scope,
            "department": self.department,
            "active": self.active,
        }


def add_user(
    session: Session,
    *,
    username: str,
    password_hash: str,
    role: Role | str,
    scope: str | None,
    department: str | None,
    display_name: str = "",
    actor: str,
) -> None:
    """Add an account; refuse a bad or taken username, an unknown role, region or department."""
    _check_username(username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InputError("users.duplicate", username=username)
    checked = _role(role)
    _check_scope(session, scope)
    check_department(session, department, actor)
    user = User(
        username=username,
        password_hash=password_hash,
        display_name=display_name,
        role=checked,
        region_code=scope,
        department_code=department,
        failed_logins=0,
        locked_until=None,
        active=True,
        created_at=utc_now(),
    )
    _check_officer(session, user)
    session.add(user)
    session.flush()
    record_audit(session, actor, "add", ENTITY, username, after=_row(user).audit_view())


def list_users(session: Session) -> list[UserRow]:
    """Every account, by username, without password hashes."""
    return [_row(u) for u in session.scalars(select(User).order_by(User.username))]


def get_user(session: Session, username: str) -> UserRow | None:
    """One account without its hash; None when there is no such username."""
    user = _find(session, username)
    return None if user is None else _row(user)


def get_credentials(session: Session, username: str) -> tuple[UserRow, str] | None:
    """An account with its stored password hash, for signing in; None when unknown."""
    user = _find(session, username)
    return None if user is None else (_row(user), user.password_hash)


def set_role(
    session: Session,
    username: str,
    role: Role | str,
    *,
    scope: str | Keep | None = KEEP,
    department: str | Keep | None = KEEP,
    actor: str,
) -> UserRow:
    """Change an account's role and, when given, its scope and department (None clears one)."""
    user = _require(session, username)
    before = _row(user).audit_view()
    user.role = _role(role)
    if not isinstance(scope, Keep):
        _check_scope(session, scope)
        user.region_code = scope
    if not isinstance(department, Keep):
        check_department(session, department, actor)
        user.department_code = department
    _check_officer(session, user)
    session.flush()
    after = _row(user)
    ended = sessions.end_for_user(session, username, utc_now(), EndReason.ROLE_CHANGED)
    record_audit(
        session, actor, "set_role", ENTITY, username, before=before, after=_ended(after, ended)
    )
    return after


def set_password_hash(
    session: Session, username: str, password_hash: str, *, actor: str, new_password: bool
) -> None:
    """Replace an account's password hash: a ``new_password`` (which ends the account's
    sessions), or a rehash of the same password with new parameters (which does not)."""
    user = _require(session, username)
    user.password_hash = password_hash
    session.flush()
    ended = (
        sessions.end_for_user(session, username, utc_now(), EndReason.PASSWORD_CHANGED)
        if new_password
        else 0
    )
    # The audit row says that the hash changed, never what it was or is.
    after = {"password": "changed" if new_password else "rehashed"}
    record_audit(session, actor, "set_password", ENTITY, username, after=_ended(after, ended))


def set_active(session: Session, username: str, active: bool, *, actor: str) -> UserRow:
    """Let an account sign in (``active``) or not; deactivating ends its sessions."""
    user = _require(session, username)
    before = _row(user).audit_view()
    user.active = active
    session.flush()
    after = _row(user)
    ended = (
        0 if active else sessions.end_for_user(session, username, utc_now(), EndReason.DEACTIVATED)
    )
    record_audit(
        session, actor, "set_active", ENTITY, username, before=before, after=_ended(after, ended)
    )
    return after


def _ended(after: UserRow | dict[str, Any], ended: int) -> dict[str, Any]:
    """An audit row's ``after``, with the number of sessions the change ended when it did."""
    view = after.audit_view() if isinstance(after, UserRow) else after
    return {**view, "sessions_ended": ended} if ended else view


def session_user(session: Session, digest: str, now: datetime) -> UserRow | None:
    """The active account whose live session has this token digest, or None: one query, the
    account and its session read together."""
    user = session.scalars(
        select(User)
        .join(WebSession, WebSession.username == User.username)
        .where(WebSession.id == digest, User.active.is_(True), *sessions.live_clause(now))
    ).one_or_none()
    return None if user is None else _row(user)


def sign_out(session: Session, digest: str, now: datetime) -> str | None:
    """End the live session with this digest (audited as the user's ``logout``); the username
    it was of, or None when it was not live (nothing written)."""
    username = sessions.end(session, digest, now, EndReason.SIGN_OUT)
    if username is not None:
        record_audit(session, username, "logout", ENTITY, username, at=now)
    return username


def end_sessions(session: Session, username: str, now: datetime, *, actor: str) -> int:
    """End every live session of ``username`` (an administrator's sign-out); how many."""
    _require(session, username)
    ended = sessions.end_for_user(session, username, now, EndReason.REVOKED)
    if ended:
        record_audit(
            session, actor, "sign_out", ENTITY, username, after={"sessions_ended": ended}, at=now
        )
    return ended


def get_login_state(session: Session, username: str) -> LoginState:
    """The lockout state of an account (an unknown one has none): the count of consecutive
    failures and the time of the last one, as the users table keeps them."""
    user = _find(session, username)
    if user is None or user.failed_logins == 0 or user.last_failed_login is None:
        return LoginState()
    return LoginState(failures=user.failed_logins, last_failure=user.last_failed_login)


def record_login(
    session: Session,
    username: str,
    succeeded: bool,
    now: datetime,
    actor: str,
    policy: LockoutPolicy = DEFAULT_LOCKOUT,
    session_digest: str | None = None,
) -> LoginState:
    """Apply one login attempt at ``now`` to the account's lockout state; return the new state.

    An attempt on a locked account changes nothing but is still logged (``login_locked``). A
    successful one with a ``session_digest`` starts that web session in the same transaction.
    """
    user = _require(session, username)
    before = get_login_state(session, username)
    locked = lock_status(before, now, policy).locked
    after = next_login_state(before, succeeded=succeeded, now=now, policy=policy)
    user.failed_logins = after.failures
    user.last_failed_login = after.last_failure
    user.locked_until = lock_status(after, now, policy).until
    session.flush()
    action = "login_locked" if locked else "login" if succeeded else LOGIN_FAILED
    if action == "login" and session_digest is not None:
        sessions.start(session, session_digest, username, now)
    record_audit(
        session,
        actor,
        action,
        ENTITY,
        username,
        before={"failed_logins": before.failures},
        after={"failed_logins": after.failures, "locked_until": _iso(user.locked_until)},
        at=now,
    )
    return after


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _find(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def _require(session: Session, username: str) -> User:
    user = _find(session, username)
    if user is None:
        raise InputError("users.unknown", username=username)
    return user


def _row(user: User) -> UserRow:
    return UserRow(
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        scope=user.region_code,
        department=user.department_code,
        active=user.active,
        failed_logins=user.failed_logins,
        locked_until=user.locked_until,
        created_at=user.created_at,
    )


def _check_username(username: str) -> None:
    if not username or len(username) > MAX_USERNAME or username != username.strip():
        raise InputError("users.bad_username", username=username, max=MAX_USERNAME)
    if any(c.isspace() or not c.isprintable() for c in username):
        raise InputError("users.bad_username", username=username, max=MAX_USERNAME)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InputError("users.unknown_role", role=str(role), known=known) from None


def _check_scope(session: Session, scope: str | None) -> None:
    if scope is not None and session.get(Region, scope) is None:
        raise InputError("users.unknown_scope", scope=scope)


def _check_officer(session: Session, user: User) -> None:
    """A department data officer enters data for one department and one city (or district):
    refuse the account without a department or with a wider (or no) region."""
    if user.role != Role.DATA_OFFICER:
        return
    region = session.get(Region, user.region_code) if user.region_code else None
    if user.department_code is None or region is None or region.level == RegionLevel.PROVINCE:
        raise InputError("users.officer_needs_city", username=user.username)


def check_department(session: Session, department: str | None, actor: str) -> None:
    """Accept a stored department, or one of the shipped catalogue (stored now for the key)."""
    if department is None or session.get(Department, department) is not None:
        return
    catalogue = shipped_departments()
    if department not in catalogue:
        known = ", ".join(sorted({*catalogue, *session.scalars(select(Department.code))}))
        raise InputError("users.unknown_department", department=department, known=known)
    names = catalogue[department]
    session.add(Department(code=department, name_zh=names["zh"], name_en=names["en"]))
    session.flush()
    record_audit(
        session, actor, "add", "departments", department, after={"code": department, **names}
    )


__all__ = [
    "KEEP",
    "Keep",
    "UserRow",
    "add_user",
    "end_sessions",
    "get_credentials",
    "get_login_state",
    "get_user",
    "list_users",
    "record_login",
    "session_user",
    "set_active",
    "set_password_hash",
    "set_role",
    "sign_out",
]
