"""Rate limits: an account locks after the documented number of failed sign-ins (5) and opens
again after the lock (15 minutes); one address may try to sign in 20 times a minute, whatever
the accounts and passwords; the public survey refuses an address past its rate (10 a minute by
default) with 429; both let an address in again as its bucket refills.

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
from cityloop.web.ratelimit import RateLimiter, SignInSettings
from tests.web.site import CHEAP, PASSWORD, Site, csrf_of

FAILURES_THAT_LOCK = 5  # as docs/reliability.md and the lockout policy say
SURVEY_RATE = 10
SIGN_IN_RATE = 20


def test_the_documented_limits_are_the_configured_ones() -> None:
    assert DEFAULT_LOCKOUT.max_failures == FAILURES_THAT_LOCK
    assert DEFAULT_LOCKOUT.first_lock == timedelta(minutes=15)
    assert SurveySettings().rate_per_minute == SURVEY_RATE
    # The default, not the environment's: a test run may raise it (CITYLOOP_LOGIN_*).
    assert SignInSettings.model_fields["rate_per_minute"].default == SIGN_IN_RATE


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


@pytest.fixture
def sign_in_app(tmp_path: Path) -> Iterator[FastAPI]:
    """An empty site with two accounts and the documented sign-in rate, whatever the
    environment says."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", data_dir=tmp_path))
    app.state.db.upgrade()
    app.state.login_settings = SignInSettings(rate_per_minute=SIGN_IN_RATE)
    for username in ("zhao", "qian"):
        users.add_user(app.state.db, username, PASSWORD, Role.ADMINISTRATOR, actor="fixture",
                       params=CHEAP)  # fmt: skip
    yield app
    app.state.db.dispose()


def test_an_address_past_the_sign_in_rate_is_refused_whatever_it_tries(
    sign_in_app: FastAPI,
) -> None:
    client = TestClient(sign_in_app)
    guesses = [(name, f"Guess-{i}-{PASSWORD}") for i in range(3) for name in ("zhao", "qian")]
    statuses = [attempt(client, f"nobody-{i}", PASSWORD) for i in range(SIGN_IN_RATE - 8)]
    statuses += [attempt(client, name, password) for name, password in guesses]
    statuses += [attempt(client, "zhao", PASSWORD), attempt(client, "qian", PASSWORD)]
    assert statuses == [401] * (SIGN_IN_RATE - 2) + [303, 303]  # no account locked, all counted
    form = {"username": "qian", "password": PASSWORD, "csrf_token": csrf_of(client)}
    refused = client.post("/login", data=form, follow_redirects=False)
    assert refused.status_code == 429  # the 21st: the right password, another account
    assert refused.headers["retry-after"] == str(60 // SIGN_IN_RATE)
    assert "登录尝试过于频繁" in refused.text and "x-frame-options" in refused.headers
    assert attempt(client, "nobody", PASSWORD) == 429
    assert client.get("/api/me").json()["username"] == "qian"  # still the last one signed in

    elsewhere = TestClient(sign_in_app, client=("203.0.113.9", 50000))
    assert attempt(elsewhere, "zhao", PASSWORD) == 303


def test_the_sign_in_rate_releases_as_the_window_passes() -> None:
    limiter = RateLimiter(SIGN_IN_RATE)
    t0 = 500.0
    assert all(limiter.allow("a", now=t0) for _ in range(SIGN_IN_RATE))
    assert not limiter.allow("a", now=t0)
    one_token = 60.0 / SIGN_IN_RATE  # 3 s
    assert not limiter.allow("a", now=t0 + one_token * 0.9)
    assert limiter.allow("a", now=t0 + one_token * 1.1)
    assert not limiter.allow("a", now=t0 + one_token * 1.1)
    later = t0 + one_token * 1.1 + 60.0  # a quiet minute refills the whole burst
    assert all(limiter.allow("a", now=later) for _ in range(SIGN_IN_RATE))
    assert not limiter.allow("a", now=later)
