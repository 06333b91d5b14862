"""Sign-in for the web app: the session secret, CSRF tokens and the signed-in principal.

Sessions are signed cookies (itsdangerous); the user is re-read from the store on every request
so a role change or a deactivation takes effect at once.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from fastapi import HTTPException, Request

from cityloop.accounts import Principal
from cityloop.errors import ConfigError, Problem
from cityloop.store import Database
from cityloop.store.settings import Settings

SECRET_FILE = "session-secret.key"
MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "please-change", "xxx"})
CSRF_FIELD = "csrf_token"
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
    if request.method in SAFE_METHODS or not isinstance(request.session.get("user"), str):
        return True
    expected = request.session.get(CSRF_FIELD)
    submitted = request.headers.get(CSRF_HEADER)
    return (
        isinstance(expected, str)
        and bool(submitted)
        and hmac.compare_digest(expected, str(submitted))
    )


def current_principal(request: Request) -> Principal | None:
    """The signed-in, still active user of this request, or None."""
    username = request.session.get("user")
    if not isinstance(username, str):
        return None
    db: Database = request.app.state.db
    user = db.user(username)
    if user is None or not user.active:
        request.session.clear()
        return None
    return Principal(user.username, user.role, user.scope, user.department)


def sign_in(request: Request, principal: Principal) -> None:
    """Start a fresh session for ``principal``: nothing from before sign-in is kept, and the
    CSRF token is new (no session fixation)."""
    request.session.clear()
    request.session["user"] = principal.username
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()
