"""Sessions: signing in starts a new session (no fixation), signing out ends it on the server
(a copy of the cookie is refused afterwards), an administrator's sign-out, a deactivation, a
role or password change end all of a user's sessions, and the session cookie carries HttpOnly,
SameSite=Lax and (when ``secure_cookies`` is on) Secure.

The signed cookie holds a random token whose digest the store keeps: "renewed" means the
cookie's content, and so its value, is new; a cookie taken before sign-in names nobody whatever
happens afterwards, and a cookie signed with our key but naming no live record is refused.
"""

from __future__ import annotations

import json
import secrets
from base64 import b64encode
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import itsdangerous
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cityloop.accounts import Role
from cityloop.accounts.sessions import SESSION_LIFETIME, token_digest
from cityloop.services import users
from cityloop.store import Database
from cityloop.store.backup import restore_backup, write_backup
from cityloop.store.models import WebSession
from cityloop.store.settings import Settings
from cityloop.web import create_app
from cityloop.web.auth import CSRF_FIELD, SESSION_FIELD, session_secret
from tests.security.conftest import sqlite_only
from tests.web.site import CHEAP, PASSWORD, Site, csrf_of, sign_in

COOKIE = "cityloop_session"


def set_cookie_header(response: object, name: str = COOKIE) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [h for h in headers if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return str(found[-1])


def test_a_cookie_from_before_sign_in_is_not_the_signed_in_one(own_site: Site) -> None:
    victim = TestClient(own_site.app)
    token_before = csrf_of(victim)
    planted = victim.cookies[COOKIE]  # what an attacker could have set or read beforehand
    assert sign_in(victim, "analyst") == 303
    assert victim.cookies[COOKIE] != planted
    assert victim.get("/api/me").json()["csrf_token"] != token_before

    attacker = TestClient(own_site.app)
    attacker.cookies.set(COOKIE, planted)
    assert attacker.get("/api/me").status_code == 401
    assert attacker.get("/ranking", follow_redirects=False).status_code == 303


def test_whatever_was_in_the_session_before_sign_in_is_dropped(own_site: Site) -> None:
    """A pre-login session holding a user name (as a fixation would plant) is cleared."""
    client = TestClient(own_site.app)
    form = {"username": "viewer", "password": PASSWORD, "csrf_token": csrf_of(client)}
    old_token = form["csrf_token"]
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    me = client.get("/api/me").json()
    assert me["username"] == "viewer"
    assert me["csrf_token"] != old_token
    # The old token is worthless after sign-in: a form post carrying it is refused.
    refused = client.post("/logout", data={"csrf_token": old_token}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/api/me").status_code == 200


def test_sign_out_clears_the_session(own_site: Site) -> None:
    client = TestClient(own_site.app)
    assert sign_in(client, "viewer") == 303
    token = client.get("/api/me").json()["csrf_token"]
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/api/me").status_code == 401
    assert client.get("/ranking", follow_redirects=False).headers["location"].startswith("/login")


def test_a_failed_sign_in_leaves_the_session_anonymous(own_site: Site) -> None:
    client = TestClient(own_site.app)
    form = {"username": "viewer", "password": "wrong-" + PASSWORD, "csrf_token": csrf_of(client)}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 401
    assert client.get("/api/me").status_code == 401


def test_the_session_cookie_is_httponly_and_samesite_lax(own_site: Site) -> None:
    client = TestClient(own_site.app)
    cookie = set_cookie_header(client.get("/login")).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie.replace("httponly", "")  # plain HTTP by default


def test_secure_cookies_adds_secure(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}", data_dir=tmp_path, secure_cookies=True
    )
    app = create_app(settings)
    app.state.db.upgrade()
    client = TestClient(app, base_url="https://testserver")
    login = client.get("/login")
    for name in (COOKIE,):
        cookie = set_cookie_header(login, name).lower()
        assert "; secure" in cookie
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
    app.state.db.dispose()


def new_user(site: Site) -> str:
    """A viewer of the site's city of its own, so that ending its sessions touches no other
    test's user."""
    username = f"s-{secrets.token_hex(4)}"
    users.add_user(site.db, username, PASSWORD, Role.VIEWER, site.city, actor="fixture",
                   params=CHEAP)  # fmt: skip
    return username


def signed_in(site: Site, username: str) -> TestClient:
    client = TestClient(site.app)
    assert sign_in(client, username) == 303
    assert client.get("/api/me").json()["username"] == username
    return client


def copy_of(client: TestClient, site: Site) -> TestClient:
    """Another client presenting the same cookie, as one who copied it would."""
    thief = TestClient(site.app)
    thief.cookies.set(COOKIE, client.cookies[COOKIE])
    return thief


def refused(client: TestClient) -> bool:
    """Anonymous now: the API answers 401 and a page sends to the sign-in page."""
    page = client.get("/ranking", follow_redirects=False)
    return client.get("/api/me").status_code == 401 and page.headers.get("location", "").startswith(
        "/login"
    )


def test_a_copied_cookie_is_refused_after_sign_out(own_site: Site) -> None:
    username = new_user(own_site)
    laptop, phone = signed_in(own_site, username), signed_in(own_site, username)
    thief = copy_of(laptop, own_site)
    assert thief.get("/api/me").json()["username"] == username  # a copy works while signed in
    token = laptop.get("/api/me").json()["csrf_token"]
    assert (
        laptop.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    assert refused(thief)
    assert refused(laptop)
    assert phone.get("/api/me").json()["username"] == username  # the other session lives on


ENDINGS: dict[str, Callable[[Database, str], object]] = {
    "sign-out": lambda db, u: users.sign_out_everywhere(db, u, datetime.now(UTC), actor="admin"),
    "deactivate": lambda db, u: users.set_active(db, u, False, actor="admin"),
    "role": lambda db, u: users.set_role(db, u, Role.EVALUATOR, actor="admin"),
    "password": lambda db, u: users.set_password(
        db, u, "Xin-" + PASSWORD, actor="admin", params=CHEAP
    ),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_an_account_change_ends_every_session_of_the_user(own_site: Site, ending: str) -> None:
    username, bystander = new_user(own_site), new_user(own_site)
    clients = [signed_in(own_site, username) for _ in range(2)]
    copies = [copy_of(c, own_site) for c in clients]
    other = signed_in(own_site, bystander)
    ENDINGS[ending](own_site.db, username)
    assert all(refused(c) for c in [*clients, *copies])
    assert other.get("/api/me").json()["username"] == bystander
    if ending == "role":  # a signed-out user whose account still works signs in again
        assert signed_in(own_site, username).get("/api/me").json()["role"] == "evaluator"


def test_an_expired_session_record_is_refused(own_site: Site) -> None:
    username = new_user(own_site)
    client = signed_in(own_site, username)
    started = datetime.now(UTC) - SESSION_LIFETIME - timedelta(seconds=5)
    with own_site.db.session() as s:  # as if signed in more than a lifetime ago
        s.execute(
            update(WebSession).where(WebSession.username == username).values(created_at=started)
        )
    assert refused(client)


def forged_cookie(site: Site, session: dict[str, str]) -> str:
    """A cookie signed with the site's own key, the way Starlette signs one."""
    signer = itsdangerous.TimestampSigner(session_secret(site.app.state.settings))
    return signer.sign(b64encode(json.dumps(session).encode())).decode()


def test_a_cookie_signed_by_us_but_naming_no_session_is_refused(own_site: Site) -> None:
    username = new_user(own_site)
    forger = TestClient(own_site.app)
    # A token of the forger's choosing, and the old cookie's form (a bare user name).
    for session in (
        {SESSION_FIELD: secrets.token_urlsafe(32), CSRF_FIELD: "x"},
        {"user": username, CSRF_FIELD: "x"},
    ):
        forger.cookies.set(COOKIE, forged_cookie(own_site, session))
        assert refused(forger)
    # The check is not vacuous: a signed cookie naming a live token's record is accepted.
    client = signed_in(own_site, username)
    assert own_site.db.session_user(token_digest("no-such"), datetime.now(UTC)) is None
    assert client.get("/api/me").status_code == 200


def test_a_restored_backup_has_no_live_sessions(own_site: Site, tmp_path: Path) -> None:
    sqlite_only(own_site, "backup and restore are checked on both backends in tests/durability")
    username = new_user(own_site)
    client = signed_in(own_site, username)
    assert own_site.db.live_sessions(datetime.now(UTC), username)
    write_backup(own_site.db, tmp_path / "site.zip")
    folder = own_site.app.state.settings.data_dir  # the same session key
    restored = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", data_dir=folder))
    try:
        restore_backup(restored.state.db, tmp_path / "site.zip")
        assert restored.state.db.user(username) is not None
        assert restored.state.db.live_sessions(datetime.now(UTC)) == []
        thief = TestClient(restored)
        thief.cookies.set(COOKIE, client.cookies[COOKIE])
        assert thief.get("/api/me").status_code == 401
        assert client.get("/api/me").status_code == 200  # still signed in on the source
    finally:
        restored.state.db.dispose()
