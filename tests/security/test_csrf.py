"""CSRF: every route with an unsafe method refuses a signed-in request without the session's
token or with a wrong one (403), and writes nothing; the few exceptions are deliberate.

The routes are enumerated from ``app.routes``: a new POST/PUT/PATCH/DELETE route is covered
without touching this file. Requests carry a plausible body (every form field and file the
route declares) so that the token check, not the body's validation, is what refuses them.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from cityloop.web.routes import ngsild, survey_public
from tests.security.conftest import sqlite_only, tracked_project
from tests.security.routes import UNSAFE, concrete, routes_of
from tests.web.site import Site, sign_in

# Routes that a session cookie does not authorise, so a forged cross-site request gains
# nothing from it: the public survey (a signed one-time token in the form protects each
# submission) and the NGSI-LD API (an API key in a header; cookies are ignored).
NO_SESSION = {
    ("POST", "/s/{slug}"): survey_public,
    ("POST", "/ngsi-ld/v1/entities"): ngsild,
    ("POST", "/ngsi-ld/v1/entityOperations/create"): ngsild,
    ("POST", "/ngsi-ld/v1/entityOperations/upsert"): ngsild,
    ("POST", "/ngsi-ld/v1/notify"): ngsild,
}
# Form fields whose "1" the route's validation would refuse before the token is checked.
VALID_FIELDS = {"year": "2025", "decision": "approve"}
WHY = {survey_public: "the signed one-time token, not the session", ngsild: "No session"}


def unsafe_routes(site: Site) -> list[tuple[str, APIRoute]]:
    return [(m, r) for m, r in routes_of(site.app) if m in UNSAFE]


def plausible_body(route: APIRoute, token: str | None) -> dict[str, Any]:
    """Form fields and files for ``route`` (``token`` as its csrf_token; None: left out)."""
    form: dict[str, str] = {"csrf_token": token} if token is not None else {}
    files: dict[str, tuple[str, bytes]] = {}
    for param in route.dependant.body_params:
        kind = type(param.field_info).__name__
        if kind == "File":
            files[param.alias] = ("values.csv", b"unit,indicator,year,value\n")
        elif kind == "Form" and param.alias != "csrf_token":
            form[param.alias] = VALID_FIELDS.get(param.alias, "1")
    if not route.dependant.body_params:
        form["name"] = "1"  # routes that read the form themselves
    return {"data": form, "files": files or None}


def signed_in(site: Site, username: str = "admin") -> TestClient:
    """A signed-in client that sends no CSRF header of its own."""
    client = TestClient(site.app)
    assert sign_in(client, username) == 303
    return client


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "wrong"])
def test_every_unsafe_route_refuses_a_request_without_the_sessions_token(
    own_site: Site, token: str | None
) -> None:
    client = signed_in(own_site)
    project = tracked_project(own_site)
    before = own_site.db.row_counts()
    wrong: list[str] = []
    for method, route in unsafe_routes(own_site):
        if (method, route.path) in NO_SESSION:
            continue
        headers = {"X-CSRF-Token": token} if token is not None else {}
        response = client.request(
            method,
            concrete(route.path, own_site, project=project),
            headers=headers,
            follow_redirects=False,
            **plausible_body(route, token),
        )
        if response.status_code != 403:
            wrong.append(f"{method} {route.path}: {response.status_code}")
    assert wrong == []
    assert own_site.db.row_counts() == before


def test_the_same_requests_with_the_token_get_past_the_check(own_site: Site) -> None:
    """The refusals above are the token check's: with the token, no route answers 403 to the
    administrator (the test could not fail otherwise)."""
    sqlite_only(own_site, "it proves the test above can fail")
    client = signed_in(own_site)
    token = client.get("/api/me").json()["csrf_token"]
    project = tracked_project(own_site)
    refused = []
    for method, route in unsafe_routes(own_site):
        if (method, route.path) in NO_SESSION or route.path == "/logout":
            continue
        response = client.request(
            method,
            concrete(route.path, own_site, project=project),
            headers={"X-CSRF-Token": token},
            follow_redirects=False,
            **plausible_body(route, token),
        )
        if response.status_code == 403:
            refused.append(f"{method} {route.path}")
    assert refused == []


def test_the_exceptions_are_deliberate_and_say_why(own_site: Site) -> None:
    present = {(m, r.path) for m, r in unsafe_routes(own_site)}
    assert set(NO_SESSION) <= present, "an exception names a route that no longer exists"
    for module, reason in WHY.items():
        assert reason in inspect.getdoc(module).replace("\n", " ")  # type: ignore[operator]


def test_a_session_gives_the_no_session_routes_nothing(own_site: Site) -> None:
    """Signed in as the administrator, without an API key: the NGSI-LD API still says 401."""
    client = signed_in(own_site)
    before = own_site.db.row_counts()
    for method, path in NO_SESSION:
        if path.startswith("/ngsi-ld/"):
            response = client.request(method, path, json={"id": "urn:x", "type": "Device"})
            assert response.status_code == 401, path
    assert own_site.db.row_counts() == before


def test_sign_in_itself_needs_the_token(own_site: Site) -> None:
    """Login CSRF: another site cannot sign a visitor in to an account of its choosing."""
    client = TestClient(own_site.app)
    form = {"username": "admin", "password": "Zhihui-Chengshi-2026"}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 403
    forged = form | {"csrf_token": "forged"}
    assert client.post("/login", data=forged, follow_redirects=False).status_code == 403
    assert client.get("/api/me").status_code == 401
