"""``cityloop users add|list|set-role|set-password|deactivate|activate|sessions|sign-out``
through the real Typer app, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cityloop.accounts.sessions import new_session_token, token_digest
from cityloop.cli import app
from cityloop.services.users import authenticate
from cityloop.store import Database, Settings
from cityloop.store.models import AuditEntry
from tests.store.databases import backend, new_database_url

__all__ = ["backend"]  # the fixture, shared with tests/store

runner = CliRunner()
MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"
GOOD = "Lanqiao-2024-bridge"


@pytest.fixture
def url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database of the backend with the demo units (31 cities) loaded."""
    for first in new_database_url(backend, tmp_path):
        assert cli(first, "db", "upgrade")[0] == 0
        code, out = cli(first, "db", "load-demo", "--framework", str(MINI), "--cities", "31")
        assert code == 0, out
        yield first


def cli(
    url: str, *args: str, password: str | None = None, stdin: str | None = None
) -> tuple[int, str]:
    env = {"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"}
    if password is not None:
        env["CITYLOOP_NEW_PASSWORD"] = password
    result = runner.invoke(app, list(args), env=env, input=stdin)
    return result.exit_code, result.output


def audit_text(url: str) -> str:
    db = Database.open(Settings(database_url=url))
    try:
        with db.reader() as s:
            rows = s.execute(select(AuditEntry.before, AuditEntry.after)).all()
    finally:
        db.dispose()
    return repr(rows)


def test_add_list_set_role(url: str) -> None:
    code, out = cli(
        url,
        "users", "add", "zhang", "--role", "data_officer", "--scope", "110100",
        "--department", "data_bureau", "--name", "张三",
        password=GOOD,
    )  # fmt: skip
    assert code == 0, out
    assert "zhang" in out and "部门数据专员" in out
    assert GOOD not in out

    code, out = cli(url, "users", "list")
    assert code == 0, out
    assert "zhang" in out and "张三" in out and "110100" in out and "data_bureau" in out

    code, out = cli(url, "--lang", "en", "users", "set-role", "zhang", "--role", "evaluator",
                    "--department", "-")  # fmt: skip
    assert code == 0, out
    assert "Evaluator (analyst)" in out and "110100" in out

    code, out = cli(url, "--lang", "en", "users", "list")
    assert "Evaluator (analyst)" in out and "data_bureau" not in out
    assert "argon2" not in audit_text(url)


def test_password_typed_twice_at_a_hidden_prompt(url: str) -> None:
    code, out = cli(url, "users", "add", "li", "--role", "viewer", stdin=f"{GOOD}\n{GOOD}\n")
    assert code == 0, out
    assert GOOD not in out  # hidden input is not echoed
    code, out = cli(
        url, "--lang", "en", "users", "add", "wang", "--role", "viewer",
        stdin=f"{GOOD}\nsomething-else-1\n",
    )  # fmt: skip
    assert code == 2
    assert "the two passwords differ" in out
    assert "wang" not in cli(url, "users", "list")[1]


def test_refusals_are_one_clear_line_and_write_nothing(url: str) -> None:
    assert cli(url, "users", "add", "zhang", "--role", "viewer", password=GOOD)[0] == 0
    db = Database.open(Settings(database_url=url))
    before = db.row_counts()
    cases = [
        (("users", "add", "zhang", "--role", "viewer"), GOOD, "already exists"),
        (("users", "add", "li", "--role", "viewer"), "short1", "password"),
        (("users", "add", "li", "--role", "mayor"), GOOD, "unknown role mayor"),
        (("users", "add", "li", "--role", "viewer", "--scope", "999999"), GOOD, "999999"),
        (("users", "set-role", "nobody", "--role", "viewer"), None, "no user named nobody"),
    ]
    for args, password, message in cases:
        code, out = cli(url, "--lang", "en", *args, password=password)
        assert code == 2, out
        assert message in out
        assert "Traceback" not in out
    assert db.row_counts() == before
    db.dispose()


def sign_in_twice(url: str, username: str) -> list[str]:
    """Two web sessions of ``username`` started as the sign-in page starts them; their tokens."""
    db = Database.open(Settings(database_url=url))
    tokens = [new_session_token() for _ in range(2)]
    for token in tokens:
        digest = token_digest(token)
        assert authenticate(db, username, GOOD, datetime.now(UTC), session_digest=digest)
    db.dispose()
    return tokens


def live_users(url: str, tokens: list[str]) -> list[str | None]:
    db = Database.open(Settings(database_url=url))
    found = [db.session_user(token_digest(t), datetime.now(UTC)) for t in tokens]
    db.dispose()
    return [None if row is None else row.username for row in found]


def test_sessions_are_listed_without_tokens_and_signed_out(url: str) -> None:
    for username in ("zhang", "qian"):
        assert cli(url, "users", "add", username, "--role", "viewer", password=GOOD)[0] == 0
    zhang, qian = sign_in_twice(url, "zhang"), sign_in_twice(url, "qian")

    code, out = cli(url, "--lang", "en", "users", "sessions")
    assert code == 0, out
    assert out.count("zhang") == 2 and out.count("qian") == 2 and "expires" in out
    assert not any(t in out or token_digest(t) in out for t in zhang + qian)
    code, out = cli(url, "--lang", "en", "users", "sessions", "qian")
    assert (out.count("qian"), "zhang" in out) == (2, False)

    code, out = cli(url, "--lang", "en", "users", "sign-out", "zhang")
    assert code == 0, out
    assert "ended 2 web session(s) of zhang" in out
    assert live_users(url, zhang + qian) == [None, None, "qian", "qian"]
    assert "没有有效的网页会话" in cli(url, "users", "sessions", "zhang")[1]
    assert "ended 0 web session(s)" in cli(url, "--lang", "en", "users", "sign-out", "zhang")[1]
    code, out = cli(url, "--lang", "en", "users", "sign-out", "nobody")
    assert code == 2 and "no user named nobody" in out


def test_a_new_password_or_a_deactivation_ends_the_sessions(url: str) -> None:
    assert cli(url, "users", "add", "zhang", "--role", "viewer", password=GOOD)[0] == 0
    tokens = sign_in_twice(url, "zhang")
    code, out = cli(url, "--lang", "en", "users", "set-password", "zhang", password="Xin-" + GOOD)
    assert code == 0, out
    assert "new password for zhang" in out and GOOD not in out
    assert live_users(url, tokens) == [None, None]
    code, out = cli(url, "--lang", "en", "users", "set-password", "zhang", password="short1")
    assert code == 2 and "password" in out

    assert cli(url, "users", "set-password", "zhang", password=GOOD)[0] == 0
    tokens = sign_in_twice(url, "zhang")
    code, out = cli(url, "--lang", "en", "users", "deactivate", "zhang")
    assert code == 0 and "can no longer sign in" in out
    assert live_users(url, tokens) == [None, None]
    db = Database.open(Settings(database_url=url))
    assert authenticate(db, "zhang", GOOD, datetime.now(UTC)) is None
    assert cli(url, "--lang", "en", "users", "activate", "zhang")[0] == 0
    assert authenticate(db, "zhang", GOOD, datetime.now(UTC)) is not None
    db.dispose()
