"""Web session records in the store, on SQLite and PostgreSQL: a successful sign-in starts one,
sign-out and account changes end them, expired ones are not live, old ones are pruned, and
migration 0010 adds the table and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, inspect, select

from cityloop.accounts import HashParameters, Role, hash_password
from cityloop.accounts.sessions import KEEP_ENDED, SESSION_LIFETIME, token_digest
from cityloop.services import users as service
from cityloop.store import Database, migrate
from cityloop.store.models import AuditEntry, WebSession
from tests.store.test_migrations import _digests

CHEAP = HashParameters(time_cost=1, memory_cost=8, parallelism=1)
GOOD = "Lanqiao-2024-bridge"
SECOND = timedelta(seconds=1)


def add(db: Database, *usernames: str) -> None:
    for username in usernames:
        service.add_user(db, username, GOOD, Role.VIEWER, actor="admin", params=CHEAP)


def start(db: Database, username: str, token: str, now: datetime) -> bool:
    """Sign in as ``username`` with session ``token`` at ``now``: whether it succeeded."""
    principal = service.authenticate(
        db, username, GOOD, now, params=CHEAP, session_digest=token_digest(token)
    )
    return principal is not None


def live(db: Database, token: str, now: datetime) -> str | None:
    user = db.session_user(token_digest(token), now)
    return None if user is None else user.username


def stored(db: Database) -> int:
    with db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(WebSession)) or 0)


def audit_actions(db: Database) -> list[tuple[str, str, str]]:
    with db.reader() as s:
        rows = s.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity_id).order_by(
                AuditEntry.id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_sign_in_starts_a_session_that_lives_until_it_expires(db: Database) -> None:
    add(db, "zhang")
    now = datetime.now(UTC)
    assert start(db, "zhang", "t1", now)
    assert live(db, "t1", now) == "zhang"
    assert live(db, "t1", now + SESSION_LIFETIME - SECOND) == "zhang"
    assert live(db, "t1", now + SESSION_LIFETIME + SECOND) is None  # expired
    assert live(db, "forged", now) is None  # no record
    with db.reader() as s:
        assert s.scalars(select(WebSession.id)).all() == [token_digest("t1")]  # not the token
    [row] = db.live_sessions(now)
    assert (row.username, row.expires - row.started) == ("zhang", SESSION_LIFETIME)
    assert db.live_sessions(now + SESSION_LIFETIME + SECOND) == []


def test_a_failed_or_locked_sign_in_starts_none(db: Database) -> None:
    add(db, "zhang")
    now = datetime.now(UTC)
    assert not service.authenticate(
        db, "zhang", "wrong-" + GOOD, now, params=CHEAP, session_digest=token_digest("t")
    )
    unknown = service.authenticate(
        db, "nobody", GOOD, now, params=CHEAP, session_digest=token_digest("u")
    )
    assert unknown is None
    assert stored(db) == 0


def test_sign_out_ends_one_session_and_is_audited(db: Database) -> None:
    add(db, "zhang")
    now = datetime.now(UTC)
    assert start(db, "zhang", "laptop", now) and start(db, "zhang", "phone", now)
    assert db.sign_out(token_digest("laptop"), now + SECOND) == "zhang"
    assert live(db, "laptop", now + SECOND) is None
    assert live(db, "phone", now + SECOND) == "zhang"
    assert db.sign_out(token_digest("laptop"), now + SECOND) is None  # already ended
    assert db.sign_out(token_digest("forged"), now + SECOND) is None
    assert [a for a in audit_actions(db) if a[1] == "logout"] == [("zhang", "logout", "zhang")]


def test_every_account_change_ends_every_session_of_that_user_only(db: Database) -> None:
    add(db, "zhang", "li")
    changes = {
        "sign_out": lambda: service.sign_out_everywhere(db, "zhang", now, actor="admin"),
        "role": lambda: service.set_role(db, "zhang", Role.EVALUATOR, actor="admin"),
        "password": lambda: service.set_password(
            db, "zhang", "Another-" + GOOD, actor="admin", params=CHEAP
        ),
        "deactivate": lambda: service.set_active(db, "zhang", False, actor="admin"),
    }
    for n, (name, change) in enumerate(changes.items()):
        now = datetime.now(UTC)
        service.set_active(db, "zhang", True, actor="admin")
        service.set_password(db, "zhang", GOOD, actor="admin", params=CHEAP)
        tokens = [f"{name}-{i}" for i in range(2)]
        assert all(start(db, "zhang", t, now) for t in tokens), name
        assert start(db, "li", f"li-{n}", now)
        change()
        after = datetime.now(UTC)
        assert [live(db, t, after) for t in tokens] == [None, None], name
        assert live(db, f"li-{n}", after) == "li", name
        assert [r.username for r in db.live_sessions(after)] == ["li"] * (n + 1), name
    with db.reader() as s:
        reasons = s.scalars(select(WebSession.ended_reason).where(WebSession.username == "zhang"))
        assert set(reasons) == {"revoked", "role_changed", "password_changed", "deactivated"}
    assert ("admin", "sign_out", "zhang") in audit_actions(db)


def test_a_rehash_at_sign_in_keeps_the_other_sessions(db: Database) -> None:
    db.add_user(
        username="wang",
        password_hash=hash_password(GOOD, HashParameters(time_cost=1, memory_cost=16)),
        role=Role.VIEWER,
        scope=None,
        department=None,
        actor="admin",
    )
    now = datetime.now(UTC)
    assert service.authenticate(db, "wang", GOOD, now, session_digest=token_digest("old"))
    assert start(db, "wang", "new", now)  # CHEAP parameters: the hash is replaced
    assert live(db, "old", now) == live(db, "new", now) == "wang"


def test_old_records_are_pruned_at_the_next_sign_in(db: Database) -> None:
    add(db, "zhang")
    then = datetime.now(UTC) - KEEP_ENDED - SESSION_LIFETIME - timedelta(hours=1)
    assert start(db, "zhang", "expired-long-ago", then)
    assert start(db, "zhang", "ended-long-ago", then + SESSION_LIFETIME)
    db.sign_out(token_digest("ended-long-ago"), then + SESSION_LIFETIME)
    assert stored(db) == 2
    recent = datetime.now(UTC) - timedelta(hours=1)
    assert start(db, "zhang", "ended-recently", recent)
    db.sign_out(token_digest("ended-recently"), recent)
    assert start(db, "zhang", "now", datetime.now(UTC))
    with db.reader() as s:
        kept = set(s.scalars(select(WebSession.id)))
    assert kept == {token_digest("ended-recently"), token_digest("now")}


def test_migration_0010_adds_only_the_sessions_table(empty_db: Database) -> None:
    with empty_db.transaction() as conn:
        migrate.upgrade(conn, "0009")
    empty_db._schema_checked = True  # the store's code is newer than the schema on purpose
    add(empty_db, "zhang")
    with empty_db.engine.connect() as conn:
        before = _digests(conn)
        assert "web_sessions" not in inspect(conn).get_table_names()
    with empty_db.transaction(changes_schema=True) as conn:
        migrate.upgrade(conn, "0010")
    empty_db._schema_checked = True  # 0010, not the head: still on purpose
    with empty_db.engine.connect() as conn:
        assert _digests(conn) == before
    assert start(empty_db, "zhang", "t", datetime.now(UTC))
    with empty_db.transaction(changes_schema=True) as conn:
        migrate.downgrade(conn, "0009")
    with empty_db.engine.connect() as conn:
        assert "web_sessions" not in inspect(conn).get_table_names()
        after = _digests(conn)
    assert {n: after[n] for n in before if n != "audit_log"} == {
        n: before[n] for n in before if n != "audit_log"
    }
