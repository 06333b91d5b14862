"""A small site for the sharing and CKAN tests: two cities with the seeded catalogue of
``tests.store.sharing_rows``, no demo panel and no evaluation (these pages need neither), and
one account per part the tests play.

It is cheap (a migration and a few hundred rows), so every test module builds its own and may
change it freely.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cityloop.accounts import Role
from cityloop.services import users
from cityloop.store import Database
from cityloop.store.settings import Settings
from cityloop.web import create_app
from cityloop.web.ratelimit import SignInSettings
from tests.store.databases import new_database_url
from tests.store.sharing_rows import ASKER, OWNER, Seeded, seed_sharing
from tests.web.site import CHEAP, PASSWORD, sign_in

CITY, OTHER_CITY = "990100", "990200"
ACCOUNTS = {
    "admin": (Role.ADMINISTRATOR, None, None),
    "officer": (Role.DATA_OFFICER, CITY, ASKER),  # asks for OWNER's data
    "owner": (Role.DATA_OFFICER, CITY, OWNER),  # decides
    "stranger": (Role.DATA_OFFICER, OTHER_CITY, OWNER),  # OWNER's officer of another city
    "analyst": (Role.EVALUATOR, None, None),
    "viewer": (Role.VIEWER, CITY, None),
}


@dataclass
class SharingSite:
    app: FastAPI
    db: Database
    here: Seeded  # CITY's resources
    there: Seeded  # OTHER_CITY's resources

    def client(self, username: str | None = None) -> TestClient:
        """A client, signed in as ``username`` with the CSRF header set (None: anonymous)."""
        client = TestClient(self.app)
        if username is not None:
            assert sign_in(client, username) == 303, f"{username} could not sign in"
            client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
        return client


def build_sharing_site(database_url: str, folder: Path) -> SharingSite:
    app = create_app(Settings(database_url=database_url, data_dir=folder))
    # The tests sign in from one address ("testclient") far more often than a person would.
    app.state.login_settings = SignInSettings(rate_per_minute=1_000_000)
    db: Database = app.state.db
    db.upgrade()
    here = seed_sharing(db, CITY, prefix="A")
    there = seed_sharing(db, OTHER_CITY, prefix="B")
    for username, (role, scope, department) in ACCOUNTS.items():
        users.add_user(
            db, username, PASSWORD, role, scope, department, actor="fixture", params=CHEAP
        )
    return SharingSite(app, db, here, there)


def sharing_site(backend: str, folder: Path) -> Iterator[SharingSite]:
    """A fresh sharing site on ``backend``, disposed afterwards."""
    for url in new_database_url(backend, folder):
        built = build_sharing_site(url, folder)
        yield built
        built.db.dispose()
