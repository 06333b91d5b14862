"""Rate limits: an account locks after the documented number of failed sign-ins (5) and opens
again after the lock (15 minutes); the public survey refuses an address past its rate (10 a
minute by default) with 429 and lets it in again as the bucket refills.

Clocks are injected (``authenticate(now=…)``, ``RateLimiter.allow(now=…)``): nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cityloop.accounts import DEFAULT_LOCKOUT, Role
from cityloop.services import users
from cityloop.services.survey_collect import SurveySettings
from cityloop.store.settings import Settings
from cityloop.web import create_app
from cityloop.web.ratelimit import RateLimiter
from tests.web.site import CHEAP, PASSWORD, Site, csrf_of

FAILURES_THAT_LOCK = 5  # as docs/reliability.md and the lockout policy say
SURVEY_RATE = 10


def test_the_documented_limits_are_the_configured_ones() -> None:
    assert DEFAULT_LOCKOUT.max_failures == FAILURES_THAT_LOCK
    assert DEFAULT_LOCKOUT.first_lock == timedelta(minutes=15)
    assert SurveySettings().rate_per_minute == SURVEY_RATE


def attempt(client: TestClient, username: str, password: str) -> int:
    form = {"username": username, "password": password, "csrf_token": csrf_of(client)}
    return client.post("/login", data=form, follow_redirects=False).status_code


def test_sign_in_locks_after_five_failures_and_opens_after_the_lock(own_site: Site) -> None:
    users.add_user(own_site.db, "lockme", PASSWORD, Role.VIEWER, own_site.city,
                   actor="fixture", params=CHEAP)  # fmt: skip
    client = TestClient(own_site.app)
    for _ in range(FAILURES_THAT_LOCK - 1):
        assert attempt(client, "lockme", "wrong-" + PASSWORD) == 401
    assert attempt(client, "lockme", PASSWORD) == 303  # four failures do not lock
    assert attempt(client, "lockme", "wrong-" + PASSWORD) == 401  # a success ended the streak
    for _ in range(FAILURES_THAT_LOCK - 1):
        assert attempt(client, "lockme", "wrong-" + PASSWORD) == 401
    locked = TestClient(own_site.app)
    assert attempt(locked, "lockme", PASSWORD) == 401  # the right password, refused
    assert locked.get("/api/me").status_code == 401

    now = datetime.now(UTC)
    still = now + DEFAULT_LOCKOUT.first_lock - timedelta(seconds=30)
    assert users.authenticate(own_site.db, "lockme", PASSWORD, still, params=CHEAP) is None
    after = now + DEFAULT_LOCKOUT.first_lock + timedelta(seconds=1)
    principal = users.authenticate(own_site.db, "lockme", PASSWORD, after, params=CHEAP)
    assert principal is not None and principal.username == "lockme"


@pytest.fixture
def survey_app(tmp_path: Path) -> Iterator[FastAPI]:
    """An empty site (the limit is checked before the survey is looked up)."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", data_dir=tmp_path))
    app.state.db.upgrade()
    yield app
    app.state.db.dispose()


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_the_public_survey_refuses_an_address_past_its_rate(
    survey_app: FastAPI, form: bool
) -> None:
    client = TestClient(survey_app)
    statuses = []
    for _ in range(SURVEY_RATE + 2):
        if form:
            response = client.post("/s/no-such-survey", data={"token": "t"})
        else:
            response = client.post("/s/no-such-survey", json={"token": "t", "answers": {}})
        statuses.append(response.status_code)
    assert statuses[:SURVEY_RATE] == [404] * SURVEY_RATE
    assert statuses[SURVEY_RATE:] == [429, 429]
    assert "x-frame-options" in response.headers


def test_another_address_is_not_held_back(survey_app: FastAPI) -> None:
    for _ in range(SURVEY_RATE + 1):
        TestClient(survey_app).post("/s/x", json={})
    elsewhere = TestClient(survey_app, client=("203.0.113.9", 50000))
    assert elsewhere.post("/s/x", json={}).status_code == 404


def test_the_rate_limit_releases_as_the_window_passes() -> None:
    limiter = RateLimiter(SURVEY_RATE)
    t0 = 1000.0
    assert all(limiter.allow("a", now=t0) for _ in range(SURVEY_RATE))
    assert not limiter.allow("a", now=t0)
    one_token = 60.0 / SURVEY_RATE
    assert not limiter.allow("a", now=t0 + one_token * 0.9)
    assert limiter.allow("a", now=t0 + one_token * 1.1)
    assert not limiter.allow("a", now=t0 + one_token * 1.1)
    later = t0 + one_token * 1.1 + 60.0  # a quiet minute refills the whole burst
    assert all(limiter.allow("a", now=later) for _ in range(SURVEY_RATE))
    assert not limiter.allow("a", now=later)
