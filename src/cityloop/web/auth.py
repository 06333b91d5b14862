"""Sign-in for the web app: the session secret, CSRF tokens and the signed-in principal.

The signed cookie (itsdangerous) carries a random session token; the store keeps its digest
in a session record that sign-out, an administrator or an account change ends. The user and
the record are read together on every request, so an ended session is refused at once.
"""

from __future__ import annotations

import hmac
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from fastapi import HTTPException, Request

from cityloop.accounts import Principal
from cityloop.accounts.sessions import token_digest
from cityloop.errors import ConfigError, Problem
from cityloop.store import Database
from cityloop.store.settings import Settings

SECRET_FILE = "session-secret.key"
MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "please-change", "xxx"})
CSRF_FIELD = "csrf_token"
SESSION_FIELD = "sid"  # the session token in the signed cookie; the store has its digest
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_secret(settings: Settings) -> str:
    """``CITYLOOP_SECRET_KEY`` if set (placeholders refused), else a random key kept in the
    data folder (mode 0600) so sessions survive a restart."""
    if settings.secret_key is not None:
        key = settings.secret_key
        if key.lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "eval.config_invalid",
                [Problem("web.weak_secret", {"min_length": MIN_SECRET_LENGTH})],
            )
        return key
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        # Written whole to a private name, then linked into place: several worker processes
        # starting at once agree on the first key, and none reads a half-written file.
        path.parent.mkdir(parents=True, exist_ok=True)
        private = path.with_name(f".{SECRET_FILE}.{os.getpid()}")
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(private, path)
        except FileExistsError:
            pass  # another process was first: its key is the one
        finally:
            private.unlink()
    return path.read_text(encoding="ascii").strip()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every form carries it."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) a form whose token is missing or differs from the session's."""
    expected = request.session.get(CSRF_FIELD)
    if (
        not isinstance(expected, str)
        or not submitted
        or not hmac.compare_digest(expected, submitted)
    ):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")


def api_csrf_ok(request: Request) -> bool:
    """Whether a JSON API request may go on: safe methods and anonymous requests always (the
    route then answers 401); a signed-in session's POST/PUT/DELETE only with the session's
    token in the ``X-CSRF-Token`` header.

    Another site can make the browser send our cookie but can neither read the token nor set
    a custom header without a CORS preflight, which CityLoop never grants.
    """
    if request.method in SAFE_METHODS or not isinstance(request.session.get(SESSION_FIELD), str):
        return True
    expected = request.session.get(CSRF_FIELD)
    submitted = request.headers.get(CSRF_HEADER)
    return (
        isinstance(expected, str)
        and bool(submitted)
        and hmac.compare_digest(expected, str(submitted))
    )


def current_principal(request: Request) -> Principal | None:
    """The active user of this request's live session, or None (a cookie whose session ended
    or expired is cleared)."""
    token = request.session.get(SESSION_FIELD)
    if not isinstance(token, str):
        return None
    db: Database = request.app.state.db
    user = db.session_user(token_digest(token), datetime.now(UTC))
    if user is None:
        request.session.clear()
        return None
    return Principal(user.username, user.role, user.scope, user.department)


def sign_in(request: Request, token: str) -> None:
    """Carry the session ``token`` (its record started by the sign-in) in a fresh cookie:
    nothing from before sign-in is kept, and the CSRF token is new (no session fixation)."""
    request.session.clear()
    request.session[SESSION_FIELD] = token
    csrf_token(request)


def sign_out(request: Request) -> None:
    """End the session's record (a copy of the cookie is refused from now on) and clear it."""
    token = request.session.get(SESSION_FIELD)
    if isinstance(token, str):
        db: Database = request.app.state.db
        db.sign_out(token_digest(token), datetime.now(UTC))
    request.session.clear()
