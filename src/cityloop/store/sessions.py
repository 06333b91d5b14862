"""Signed-in web sessions on the server: start one, end one or all of a user's, list the live
ones, and prune old records; ``Database`` offers them (``cityloop.store.users`` audits).

A record holds the digest of its cookie's token, never the token. Records are not governed
data and are not audited themselves: the sign-in that starts one, the sign-out that ends one
and the account changes that end them all write their own audit rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from cityloop.accounts.sessions import KEEP_ENDED, SESSION_LIFETIME, EndReason
from cityloop.store.models import WebSession


@dataclass(frozen=True)
class SessionRow:
    """A live session as listed: whose it is and when it started and expires (no token)."""

    username: str
    started: datetime
    expires: datetime


def start(session: Session, digest: str, username: str, now: datetime) -> None:
    """Record a new session of ``username`` started at ``now``; prune the records that ended
    or expired more than ``KEEP_ENDED`` ago, so the table holds about a day's sign-ins."""
    cutoff = now - KEEP_ENDED
    session.execute(
        delete(WebSession).where(
            or_(WebSession.ended_at < cutoff, WebSession.created_at < cutoff - SESSION_LIFETIME)
        )
    )
    session.add(WebSession(id=digest, username=username, created_at=now))
    session.flush()


def live_clause(now: datetime) -> list[ColumnElement[bool]]:
    """The conditions a live record meets at ``now`` (not ended, not expired)."""
    return [WebSession.ended_at.is_(None), WebSession.created_at > now - SESSION_LIFETIME]


def end(session: Session, digest: str, now: datetime, reason: EndReason) -> str | None:
    """End the live session with this digest; the username it was of, or None if none was."""
    return session.scalar(
        update(WebSession)
        .where(WebSession.id == digest, *live_clause(now))
        .values(ended_at=now, ended_reason=reason.value)
        .returning(WebSession.username)
    )


def end_for_user(session: Session, username: str, now: datetime, reason: EndReason) -> int:
    """End every live session of ``username``; how many there were."""
    ended = session.scalars(
        update(WebSession)
        .where(WebSession.username == username, *live_clause(now))
        .values(ended_at=now, ended_reason=reason.value)
        .returning(WebSession.id)
    ).all()
    return len(ended)


def list_live(session: Session, now: datetime, username: str | None = None) -> list[SessionRow]:
    """The live sessions (of ``username`` when given), by user then start."""
    query = select(WebSession.username, WebSession.created_at).where(*live_clause(now))
    if username is not None:
        query = query.where(WebSession.username == username)
    rows = session.execute(query.order_by(WebSession.username, WebSession.created_at))
    return [SessionRow(name, started, started + SESSION_LIFETIME) for name, started in rows]


__all__ = ["SessionRow", "end", "end_for_user", "list_live", "live_clause", "start"]
