"""Web test fixtures: the app in-process (TestClient) and served on loopback for Chromium.

Browser tests drive Debian's chromium through Playwright with ``executable_path``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.store.databases import BACKENDS, new_database_url
from tests.web.site import PASSWORD, Site, make_site

CHROMIUM = os.environ.get("CITYLOOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent.parent.parent / "docs" / "screenshots"


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    """A client of the module's site signed in as a city viewer (read-only dashboards)."""
    with site.client("viewer") as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port until the generator is closed."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[str]:
    """The module's populated site served on loopback, for the browser."""
    yield from serve(site.app)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: scripts/test installs it")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A populated site on each backend, shared by a module's tests: do not change its data
    (build a fresh one with ``make_site`` for tests that write)."""
    folder = tmp_path_factory.mktemp(f"site-{request.param}")
    for url in new_database_url(str(request.param), folder):
        built = make_site(url, folder)
        yield built
        built.db.dispose()


def browser_sign_in(browser: Any, server: str, username: str, password: str = PASSWORD) -> Any:
    """A new Chromium page signed in as ``username`` through the login form."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, f"{username} could not sign in"
    return page
