"""Sign-in: CSRF on every form, failure says nothing more, sessions start fresh, lockout holds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cityloop.accounts import HashParameters, Role
from cityloop.services import users
from cityloop.store.settings import Settings
from cityloop.web import create_app

CHEAP = HashParameters(time_cost=1, memory_cost=8)
PASSWORD = "Zhihui-Chengshi-2026"


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path))
    app.state.db.upgrade()
    users.add_user(app.state.db, "li", PASSWORD, Role.EVALUATOR, actor="admin", params=CHEAP)
    with TestClient(app) as client:
        yield client


def csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, password: str = PASSWORD) -> int:
    form = {"username": "li", "password": password, "csrf_token": csrf(client)}
    return client.post("/login", data=form, follow_redirects=False).status_code


def test_sign_in_and_out(app_client: TestClient) -> None:
    assert app_client.get("/api/me").status_code == 401
    assert sign_in(app_client) == 303
    me = app_client.get("/api/me").json()
    assert (me["username"], me["role"]) == ("li", "evaluator")
    token = csrf(app_client)
    out = app_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert app_client.get("/api/me").status_code == 401


def test_wrong_password_says_only_that_it_failed(app_client: TestClient) -> None:
    form = {"username": "li", "password": "wrong-password-1", "csrf_token": csrf(app_client)}
    page = app_client.post("/login", data=form)
    assert page.status_code == 401
    assert "用户名或密码错误" in page.text
    unknown = {"username": "nobody", "password": "x", "csrf_token": csrf(app_client)}
    assert "用户名或密码错误" in app_client.post("/login", data=unknown).text


def test_forms_without_the_csrf_token_are_refused(app_client: TestClient) -> None:
    form = {"username": "li", "password": PASSWORD}
    assert app_client.post("/login", data=form).status_code == 403
    assert app_client.post("/login", data={**form, "csrf_token": "forged"}).status_code == 403
    assert app_client.get("/api/me").status_code == 401


def test_a_session_is_fresh_after_sign_in(app_client: TestClient) -> None:
    before = csrf(app_client)
    sign_in(app_client)
    assert csrf(app_client) != before  # a token planted before sign-in is worthless after it


def test_five_failures_lock_the_account_even_for_the_right_password(
    app_client: TestClient,
) -> None:
    for _ in range(5):
        assert sign_in(app_client, "wrong-password-1") == 401
    assert sign_in(app_client) == 401
    assert app_client.get("/api/me").status_code == 401


def test_placeholder_secret_is_refused(tmp_path: Path) -> None:
    from cityloop.errors import ConfigError

    with pytest.raises(ConfigError):
        create_app(Settings(data_dir=tmp_path, secret_key="changeme"))


def test_api_writes_need_the_session_token_in_a_header(app_client: TestClient) -> None:
    sign_in(app_client)
    token = app_client.get("/api/me").json()["csrf_token"]
    body = {"children": ["a", "b"], "matrix": [[1, 3], [1 / 3, 1]]}
    assert app_client.post("/api/ahp/consistency", json=body).status_code == 403
    forged = {"X-CSRF-Token": "forged"}
    assert app_client.post("/api/ahp/consistency", json=body, headers=forged).status_code == 403
    good = {"X-CSRF-Token": token}
    assert app_client.post("/api/ahp/consistency", json=body, headers=good).status_code == 200
