"""Framework pages and API: content, language, security headers, the chart in Chromium."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from cityloop.frameworks import load_framework, shipped_ids
from tests.web.conftest import SCREENSHOTS, browser_sign_in


def test_list_page_shows_every_framework_in_chinese(client: TestClient) -> None:
    page = client.get("/frameworks")
    assert page.status_code == 200
    assert "指标体系" in page.text
    for fid in shipped_ids():
        assert f'href="/frameworks/{fid}"' in page.text


def test_english_switch_sets_a_cookie(client: TestClient) -> None:
    page = client.get("/frameworks?lang=en")
    assert "Indicator frameworks" in page.text
    assert client.cookies.get("cityloop_lang") == "en"
    assert "Indicator frameworks" in client.get("/frameworks").text


def test_framework_page_tree_and_chart_data(client: TestClient) -> None:
    page = client.get("/frameworks/gbt33356-2016")
    assert page.status_code == 200
    assert "惠民服务" in page.text
    assert 'id="weights-data"' in page.text
    assert "37.00%" in page.text  # 惠民服务's confirmed share


def test_api_matches_the_framework(client: TestClient) -> None:
    data = client.get("/api/frameworks/gbt33356-2016").json()
    fw = load_framework("gbt33356-2016")
    assert data["indicators"] == len(fw.indicators)
    assert [n["code"] for n in data["nodes"]] == list(fw.codes)
    assert {f["id"] for f in client.get("/api/frameworks").json()} == set(shipped_ids())


def test_unknown_or_path_like_ids_are_404(client: TestClient) -> None:
    assert client.get("/frameworks/nope").status_code == 404
    assert client.get("/api/frameworks/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/healthz").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/healthz").json()["status"] == "ok"


def test_weights_sunburst_renders_in_chromium(server: str, browser: Any) -> None:
    page = browser_sign_in(browser, server, "viewer")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server}/frameworks/gbt33356-2016")
    page.wait_for_selector("#weights-chart[data-rendered=true] svg")
    # The SVG holds one sector per node and carries the dimension names as labels.
    paths = page.locator("#weights-chart svg path").count()
    assert paths >= len(load_framework("gbt33356-2016").codes)
    assert "惠民服务" in page.locator("#weights-chart svg").inner_html()
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "framework-gbt33356-2016.png"), full_page=False)
    page.close()
