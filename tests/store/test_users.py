"""Accounts in the store and their use-cases, on SQLite and PostgreSQL: add, list, change role,
sign in with lockout; every change audited and no audit row holding a password hash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cityloop.accounts import HashParameters, Principal, Role, WeakPasswordError, hash_password
from cityloop.errors import InputError
from cityloop.services import users as service
from cityloop.store import Database
from cityloop.store.models import AuditEntry, User
from tests.store.samples import Demo

CHEAP = HashParameters(time_cost=1, memory_cost=8, parallelism=1)
GOOD = "Lanqiao-2024-bridge"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
PROVINCE, CITY = "110000", "110100"


@pytest.fixture
def udb(db: Database, mini_demo: Demo) -> Database:
    db.load_units(mini_demo.units, "alice")
    return db


def add(db: Database, username: str = "zhang", **kwargs: object) -> None:
    args: dict[str, object] = {
        "password": GOOD,
        "role": Role.DATA_OFFICER,
        "scope": CITY,
        "department": "data_bureau",
        "display_name": "张三",
    }
    args.update(kwargs)
    service.add_user(db, username, actor="admin", params=CHEAP, **args)  # type: ignore[arg-type]


@contextmanager
def refused(key: str) -> Iterator[None]:
    with pytest.raises(InputError) as caught:
        yield
    assert caught.value.key == key


def audit(db: Database) -> list[AuditEntry]:
    with db.reader() as s:
        return list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.entity == "users").order_by(AuditEntry.id)
            )
        )


def stored_hash(db: Database, username: str) -> str:
    with db.reader() as s:
        return s.scalars(select(User.password_hash).where(User.username == username)).one()


def test_add_list_and_set_role(udb: Database) -> None:
    add(udb)
    add(udb, "li", role=Role.EVALUATOR, scope=PROVINCE, department=None, display_name="")
    rows = service.list_users(udb)
    assert [r.username for r in rows] == ["li", "zhang"]
    zhang = rows[1]
    assert (zhang.display_name, zhang.role, zhang.scope, zhang.department) == (
        "张三",
        Role.DATA_OFFICER,
        CITY,
        "data_bureau",
    )
    assert not hasattr(zhang, "password_hash")
    assert stored_hash(udb, "zhang").startswith("$argon2id$")

    row = service.set_role(udb, "zhang", Role.EVALUATOR, department=None, actor="admin")
    assert (row.role, row.scope, row.department) == (Role.EVALUATOR, CITY, None)
    row = service.set_role(udb, "zhang", "viewer", scope=None, actor="admin")
    assert (row.role, row.scope) == (Role.VIEWER, None)
    assert udb.user("zhang") == row

    entries = audit(udb)
    assert [(e.action, e.entity_id, e.actor) for e in entries] == [
        ("add", "zhang", "admin"),
        ("add", "li", "admin"),
        ("set_role", "zhang", "admin"),
        ("set_role", "zhang", "admin"),
    ]
    assert entries[2].before is not None and entries[2].before["role"] == "data_officer"
    assert entries[2].after is not None and entries[2].after["department"] is None
    assert entries[0].after is not None and entries[0].after["scope"] == CITY


def test_duplicate_username_is_refused_and_nothing_written(udb: Database) -> None:
    add(udb)
    before = udb.row_counts()
    with pytest.raises(InputError) as caught:
        add(udb, password="Other-pass-2025", role=Role.VIEWER)
    assert caught.value.key == "users.duplicate"
    assert "zhang" in caught.value.render("en")
    assert udb.row_counts() == before


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"password": "short1"}, "accounts.password.weak"),
        ({"password": "password123"}, "accounts.password.weak"),
        ({"role": "mayor"}, "users.unknown_role"),
        ({"scope": "999999"}, "users.unknown_scope"),
        ({"department": "ministry_of_magic"}, "users.unknown_department"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    udb: Database, kwargs: dict[str, object], key: str
) -> None:
    before = udb.row_counts()
    with pytest.raises(InputError) as caught:
        add(udb, **kwargs)
    assert caught.value.key == key
    if key == "accounts.password.weak":
        assert isinstance(caught.value, WeakPasswordError)
    assert udb.row_counts() == before


@pytest.mark.parametrize("username", ["", " zhang", "zhang san", "x" * 65])
def test_bad_username_is_refused(udb: Database, username: str) -> None:
    with refused("users.bad_username"):
        add(udb, username)
    assert service.list_users(udb) == []


def test_set_role_of_unknown_user_or_to_unknown_region(udb: Database) -> None:
    add(udb)
    with refused("users.unknown"):
        service.set_role(udb, "nobody", Role.VIEWER, actor="admin")
    with refused("users.unknown_scope"):
        service.set_role(udb, "zhang", Role.VIEWER, scope="999999", actor="admin")
    user = udb.user("zhang")
    assert user is not None and (user.role, user.scope) == (Role.DATA_OFFICER, CITY)


def test_no_audit_row_holds_a_password_hash(udb: Database) -> None:
    add(udb)
    service.set_role(udb, "zhang", Role.EVALUATOR, actor="admin")
    udb.record_login("zhang", False, T0, "zhang")
    # A login with other hash parameters replaces the hash: audited, without the hash.
    assert service.authenticate(udb, "zhang", GOOD, T0 + MINUTE) is not None
    hashes = {stored_hash(udb, "zhang")}
    text = json.dumps([(e.before, e.after) for e in audit(udb)], ensure_ascii=False)
    assert "argon2" not in text
    assert not any(h in text for h in hashes)
    assert "set_password" in [e.action for e in audit(udb)]


def test_authenticate_returns_the_principal(udb: Database) -> None:
    add(udb)
    principal = service.authenticate(udb, "zhang", GOOD, T0, params=CHEAP)
    assert principal == Principal("zhang", Role.DATA_OFFICER, CITY, "data_bureau")
    assert service.authenticate(udb, "zhang", GOOD + "x", T0, params=CHEAP) is None
    assert service.authenticate(udb, "nobody", GOOD, T0, params=CHEAP) is None
    # Full-width input, as a Chinese input method may type it, is the same password.
    assert service.authenticate(udb, "zhang", "Ｌａｎｑｉａｏ-2024-bridge", T0, params=CHEAP)


def test_lockout_after_five_failures_and_unlock_when_the_time_passes(udb: Database) -> None:
    add(udb)
    for i in range(4):
        assert service.authenticate(udb, "zhang", "wrong", T0 + i * MINUTE, params=CHEAP) is None
    assert udb.login_state("zhang").failures == 4
    assert service.authenticate(udb, "zhang", "wrong", T0 + 4 * MINUTE, params=CHEAP) is None
    state = udb.login_state("zhang")
    assert (state.failures, state.last_failure) == (5, T0 + 4 * MINUTE)
    user = udb.user("zhang")
    assert user is not None and user.locked_until == T0 + 19 * MINUTE
    assert user.failed_logins == 5

    # Locked: the right password is refused, and the attempt changes nothing.
    assert service.authenticate(udb, "zhang", GOOD, T0 + 10 * MINUTE, params=CHEAP) is None
    assert udb.login_state("zhang") == state
    assert audit(udb)[-1].action == "login_locked"

    # After the lock, the right password works and clears the streak.
    principal = service.authenticate(udb, "zhang", GOOD, T0 + 19 * MINUTE, params=CHEAP)
    assert principal is not None and principal.username == "zhang"
    user = udb.user("zhang")
    assert user is not None and (user.failed_logins, user.locked_until) == (0, None)
    actions = [e.action for e in audit(udb)]
    assert actions.count("login_failed") == 5
    assert actions[-1] == "login"


def test_a_right_password_with_other_parameters_is_rehashed(udb: Database) -> None:
    udb.add_user(
        username="wang",
        password_hash=hash_password(GOOD, HashParameters(time_cost=1, memory_cost=16)),
        role=Role.VIEWER,
        scope=None,
        department=None,
        actor="admin",
    )
    assert service.authenticate(udb, "wang", GOOD, T0, params=CHEAP) is not None
    assert stored_hash(udb, "wang").startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert service.authenticate(udb, "wang", GOOD, T0 + MINUTE, params=CHEAP) is not None


def test_department_from_the_shipped_catalogue_is_stored_on_first_use(udb: Database) -> None:
    assert udb.row_counts()["departments"] == 0
    add(udb)
    assert udb.row_counts()["departments"] == 1
    add(udb, "zhao", department="data_bureau")
    assert udb.row_counts()["departments"] == 1


def test_a_data_officer_needs_a_department_and_a_city(udb: Database) -> None:
    for kwargs in ({"scope": PROVINCE}, {"scope": None}, {"department": None}):
        with refused("users.officer_needs_city"):
            add(udb, "wang", **kwargs)
    assert [r.username for r in service.list_users(udb)] == []
    add(udb)  # a city and a department: accepted
    with refused("users.officer_needs_city"):
        service.set_role(udb, "zhang", Role.DATA_OFFICER, scope=PROVINCE, actor="admin")
    row = udb.user("zhang")
    assert row is not None and row.scope == CITY  # the refused change wrote nothing
