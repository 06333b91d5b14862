"""A populated site for the web tests: demo regions and values, one stored run, a user per role.

``make_site`` builds it on a fresh database of either backend; ``signed_in`` gives a TestClient
signed in through the real login form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cityloop.accounts import HashParameters, Role
from cityloop.datahub.units import Units
from cityloop.services import runs, users
from cityloop.services import store as store_service
from cityloop.store import Database
from cityloop.store.settings import Settings
from cityloop.web import create_app
from cityloop.web.ratelimit import SignInSettings

CHEAP = HashParameters(time_cost=1, memory_cost=8)
PASSWORD = "Zhihui-Chengshi-2026"
FRAMEWORK = "gbt33356-2016"
N_CITIES = 62  # the smallest demo with several cities in one province
PROVINCE = "370000"  # three synthetic cities at this size
OFFICER_DEPARTMENT = "transport"


@dataclass
class Site:
    """The app and what the fixtures put in it."""

    app: FastAPI
    db: Database
    units: Units
    run_id: int
    province: str
    city: str  # a city in ``province``: the city users' scope
    other_city: str  # a city in another province
    accounts: dict[str, Role] = field(default_factory=dict)

    def client(self, username: str | None = None) -> TestClient:
        """A client for the app, signed in as ``username`` (anonymous when None); a signed-in
        client sends the session's CSRF token with every request, as a script would for the
        API's writes (tests of a missing token pass their own header)."""
        client = TestClient(self.app)
        if username is not None:
            assert sign_in(client, username) == 303, f"{username} could not sign in"
            client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
        return client


def csrf_of(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> int:
    form = {"username": username, "password": password, "csrf_token": csrf_of(client)}
    return client.post("/login", data=form, follow_redirects=False).status_code


def make_site(database_url: str, data_dir: Path) -> Site:
    """Upgrade, load the demo (62 cities, one framework), run one evaluation, add the users."""
    app = create_app(Settings(database_url=database_url, data_dir=data_dir))
    # The tests sign in from one address ("testclient") far more often than a person would.
    app.state.login_settings = SignInSettings(rate_per_minute=1_000_000)
    db: Database = app.state.db
    db.upgrade()
    store_service.load_demo(db, [FRAMEWORK], n_cities=N_CITIES, user="fixture")
    run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="fixture")
    units = db.units()
    assert units is not None
    table = units.table
    cities = table.index[table["level"] == "city"]
    in_province = [str(c) for c in cities if table.at[c, "parent"] == PROVINCE]
    other = next(str(c) for c in cities if table.at[c, "parent"] != PROVINCE)
    site = Site(app, db, units, run_id, PROVINCE, in_province[0], other)
    accounts = {
        "admin": (Role.ADMINISTRATOR, None, None),
        "analyst": (Role.EVALUATOR, PROVINCE, None),
        "officer": (Role.DATA_OFFICER, site.city, OFFICER_DEPARTMENT),
        "manager": (Role.PROJECT_MANAGER, PROVINCE, None),
        "viewer": (Role.VIEWER, site.city, None),
        "outsider": (Role.VIEWER, other, None),
    }
    for username, (role, scope, department) in accounts.items():
        users.add_user(
            db, username, PASSWORD, role, scope, department, actor="fixture", params=CHEAP
        )
        site.accounts[username] = role
    return site
