"""Sessions: signing in starts a new session (no fixation), signing out ends it, and the
session cookie carries HttpOnly, SameSite=Lax and (when ``secure_cookies`` is on) Secure.

Sessions are signed cookies: "renewed" means the cookie's content, and so its value, is new,
and a cookie taken before sign-in names nobody whatever happens afterwards.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cityloop.store.settings import Settings
from cityloop.web import create_app
from tests.web.site import PASSWORD, Site, csrf_of, sign_in

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
