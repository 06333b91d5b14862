"""Web sessions as policy: how long one lasts, the random token its cookie carries, the digest
the store keeps instead of the token, and why a session ended.

Pure: no database and no clock; the store keeps the records, the web app the cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from enum import StrEnum

# A session lasts this long from sign-in, whatever the activity (the cookie's max age too).
SESSION_LIFETIME = timedelta(hours=8)
# An ended or expired record is kept this long (to list and investigate), then pruned.
KEEP_ENDED = timedelta(days=1)
TOKEN_BYTES = 32  # 256 random bits: not guessable, so a digest without salt is enough


class EndReason(StrEnum):
    """Why a session stopped being live before its lifetime ran out."""

    SIGN_OUT = "sign_out"  # the user signed out
    REVOKED = "revoked"  # an administrator signed the user out (``cityloop users sign-out``)
    ROLE_CHANGED = "role_changed"
    PASSWORD_CHANGED = "password_changed"
    DEACTIVATED = "deactivated"


def new_session_token() -> str:
    """A fresh random token for a session cookie."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest of ``token``: what the store keeps, so that a database (or a
    backup) that leaks holds no cookie anyone could present."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
