"""Data collection pages and API: the officer's owed list, form and upload (all or nothing,
errors per cell), the evaluator's completeness and chase, permissions and CSRF; Chromium."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cityloop.accounts import Role
from cityloop.datahub.indicator_table import DATA_SHEET
from cityloop.services import users
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import SCREENSHOTS, browser_sign_in, serve
from tests.web.site import CHEAP, FRAMEWORK, PASSWORD, Site, make_site

TRANSPORT = ("L1P2-A1", "L1P2-A2", "L1P2-A3")  # the officer's department (transport)
HEALTH = ("L1P4-A1", "L1P4-A2", "L1P4-A3")  # all percentages
ROUND = 1  # the round the demo opens (2026)


def add_officer(site: Site, username: str, city: str, department: str) -> None:
    users.add_user(
        site.db, username, PASSWORD, Role.DATA_OFFICER, city, department, actor="t", params=CHEAP
    )


@pytest.fixture(scope="module", params=BACKENDS)
def fresh(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A site this module writes to. Its tests write disjoint cells, so their order is free."""
    folder = tmp_path_factory.mktemp(f"collect-{request.param}")
    for url in new_database_url(str(request.param), folder):
        built = make_site(url, folder)
        yield built
        built.db.dispose()


def token(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/collect").text)
    assert found is not None
    return found.group(1)


def state(site: Site) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every stored value and every table's row count (history and audit log included)."""
    return site.db.values_frame(FRAMEWORK), site.db.row_counts()


def unchanged(site: Site, before: tuple[pd.DataFrame, dict[str, int]]) -> None:
    frame, counts = state(site)
    pd.testing.assert_frame_equal(frame, before[0])
    assert counts == before[1]


def completeness(page: str) -> float:
    found = re.search(r'data-testid="collect-completeness">([\d.]+)%<', page)
    assert found is not None
    return float(found.group(1))


def filled_template(content: bytes, values: dict[str, Any]) -> bytes:
    """The downloaded template with ``values`` (indicator → value) in the value column."""
    book = load_workbook(io.BytesIO(content))
    sheet = book[DATA_SHEET]
    header = [c.value for c in sheet[1]]
    col = {name: header.index(name) for name in ("指标代码", "数值")}
    for row in sheet.iter_rows(min_row=2):
        code = row[col["指标代码"]].value
        if code in values:
            row[col["数值"]].value = values[code]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- reading -----------------------------------------------------------------------------------


def test_officer_sees_own_department_for_own_city_and_the_deadline(site: Site) -> None:
    page = site.client("officer").get("/collect")
    assert page.status_code == 200
    cells = re.findall(r'data-cell="([^"]+)"', page.text)
    assert cells == [f"{site.city}|{code}" for code in TRANSPORT]
    assert site.other_city not in page.text
    assert "截止日期" in page.text and "还剩" in page.text
    assert completeness(page.text) == 0.0  # the demo's values stop at 2025
    assert 'data-testid="template-link"' in page.text
    assert "department-table" not in page.text  # the evaluator's view is not an officer's


def test_roles_without_values_are_refused(site: Site) -> None:
    for username in ("viewer", "manager", "outsider"):
        client = site.client(username)
        assert client.get("/collect").status_code == 403
        assert client.get("/api/collection/status").status_code == 403
        assert client.get("/collect/template.xlsx").status_code == 403
        sent = client.post("/collect/upload", data={"round": "1"}, files={"file": ("a.csv", b"")})
        assert sent.status_code == 403
    anonymous = site.client()
    assert (
        anonymous.get("/collect", follow_redirects=False).headers["location"].startswith("/login")
    )
    assert anonymous.get("/api/collection/rounds").status_code == 401
    analyst = site.client("analyst")  # evaluators read and chase, never write values
    sent = analyst.post("/collect/values", data={"csrf_token": token(analyst), "round": "1"})
    assert sent.status_code == 403


def test_evaluator_sees_completeness_per_department_and_unit(site: Site) -> None:
    page = site.client("analyst").get("/collect")
    assert page.status_code == 200
    departments = re.findall(r'<tr data-department="([^"]+)"', page.text)
    fw = site.db.framework(FRAMEWORK)
    assert sorted(departments) == sorted({i.department for i in fw.indicators})
    chart = re.search(r'id="completeness-data">(.*?)</script>', page.text, re.S)
    assert chart is not None and '"shares"' in chart.group(1)
    cities = [
        c for c in site.units.of_level("city") if site.units.table.at[c, "parent"] == site.province
    ]
    unit_rows = re.findall(r'<span class="meta">(\d{6})</span></td><td class="num">', page.text)
    assert unit_rows == sorted(cities)  # only the province's cities
    drill = site.client("analyst").get(
        "/collect/missing?round=1&department=transport", headers={"hx-request": "true"}
    )
    assert drill.status_code == 200 and "<html" not in drill.text
    assert all(city in drill.text for city in cities) and "L1P2-A3" in drill.text
    assert site.other_city not in drill.text


def test_api_status_and_owed_follow_the_scope(site: Site) -> None:
    officer = site.client("officer")
    rounds = officer.get("/api/collection/rounds")
    assert rounds.json()[0]["year"] == 2026
    assert officer.get("/api/me").json()["csrf_token"] == token(officer)
    owed = officer.get("/api/collection/owed").json()
    assert [(c["unit"], c["indicator"]) for c in owed] == [(site.city, c) for c in TRANSPORT]
    assert all(c["value"] is None for c in owed)
    status = site.client("analyst").get("/api/collection/status?round=1").json()
    assert status["round"]["year"] == 2026 and status["overdue"] is False
    assert status["share"] == 0.0 and len(status["units"]) == 3
    assert sum(d["owed"] for d in status["departments"]) == status["owed"] == 3 * 39


# -- writing: each test uses its own cells ---------------------------------------------------


def test_missing_csrf_is_refused_and_changes_nothing(fresh: Site) -> None:
    officer = fresh.client("officer")
    before = state(fresh)
    cell = f"value|{fresh.city}|L1P2-A1"
    assert officer.post("/collect/values", data={"round": "1", cell: "3"}).status_code == 403
    sent = officer.post("/collect/values", data={"round": "1", cell: "3", "csrf_token": "x"})
    assert sent.status_code == 403
    body = {"round": 1, "cells": [{"unit": fresh.city, "indicator": "L1P2-A1", "value": 3}]}
    no_token = {"X-CSRF-Token": ""}
    assert officer.post("/api/collection/values", json=body, headers=no_token).status_code == 403
    assert (
        officer.post("/api/collection/values", json=body, headers={"X-CSRF-Token": "x"}).status_code
        == 403
    )
    unchanged(fresh, before)


def test_form_with_one_bad_cell_shows_it_and_saves_nothing(fresh: Site) -> None:
    officer = fresh.client("officer")
    before = state(fresh)
    form = {
        "csrf_token": token(officer),
        "round": "1",
        f"value|{fresh.city}|L1P2-A1": "4",
        f"value|{fresh.city}|L1P2-A2": "150",  # a percentage above 100
        f"source|{fresh.city}|L1P2-A2": "交通局年报",
    }
    page = officer.post("/collect/values", data=form)
    assert page.status_code == 422
    error = re.search(rf'data-error-for="{fresh.city}\|L1P2-A2">(.*?)</tr>', page.text, re.S)
    assert error is not None and "L1P2-A2" in error.group(1) and "150" in error.group(1)
    assert "数值" in error.group(1)  # the field, in the reader's language
    assert f'data-error-for="{fresh.city}|L1P2-A1"' not in page.text
    assert 'value="150"' in page.text and 'value="交通局年报"' in page.text  # kept to fix
    unchanged(fresh, before)
    english = officer.post("/collect/values?lang=en", data=form)
    assert "is a percentage" in english.text and "Value" in english.text


def test_officer_may_not_write_another_department_or_city(fresh: Site) -> None:
    officer = fresh.client("officer")
    before = state(fresh)
    form = {
        "csrf_token": token(officer),
        "round": "1",
        f"value|{fresh.city}|L1P4-A1": "50",  # health's indicator
        f"value|{fresh.other_city}|L1P2-A1": "5",  # a city in another province
    }
    page = officer.post("/collect/values", data=form)
    assert page.status_code == 403
    assert f'data-error-for="{fresh.city}|L1P4-A1"' not in page.text  # not an owed row …
    assert "L1P4-A1" in page.text and "health" in page.text  # … but listed with the reason
    assert fresh.other_city in page.text
    cells = [
        {"unit": fresh.city, "indicator": "L1P4-A1", "value": 50},
        {"unit": fresh.other_city, "indicator": "L1P2-A1", "value": "5"},
    ]
    sent = officer.post(
        "/api/collection/values",
        json={"round": 1, "cells": cells},
        headers={"X-CSRF-Token": token(officer)},
    )
    assert sent.status_code == 403
    problems = sent.json()["problems"]
    assert [(p["row"], p["column"], p["key"]) for p in problems] == [
        (0, "indicator", "collect.denied_department"),
        (1, "unit", "collect.denied_region"),
    ]
    unchanged(fresh, before)


def test_form_saves_and_completeness_rises(fresh: Site) -> None:
    officer = fresh.client("officer")
    first = completeness(officer.get("/collect").text)
    form = {
        "csrf_token": token(officer),
        "round": "1",
        f"value|{fresh.city}|L1P2-A1": "4.5",
        f"source|{fresh.city}|L1P2-A1": "交通运输局",
    }
    page = officer.post("/collect/values", data=form)
    assert page.status_code == 200  # after the redirect
    assert "新增 1 项" in page.text
    assert completeness(page.text) == pytest.approx(first + 100 / 3, abs=0.1)
    assert "officer" in page.text and "交通运输局" in page.text  # last entered by
    cell = fresh.db.round_cells(FRAMEWORK, 2026, [fresh.city])
    row = cell[cell["indicator"] == "L1P2-A1"].iloc[0]
    assert (row["value"], row["entered_by"], row["origin_kind"]) == (4.5, "officer", "form")


def test_upload_with_one_bad_cell_is_refused_whole_then_the_fix_goes_in(fresh: Site) -> None:
    officer = fresh.client("officer")
    csrf = token(officer)
    template = officer.get("/collect/template.xlsx")
    assert template.status_code == 200
    assert "attachment" in template.headers["content-disposition"]
    book = load_workbook(io.BytesIO(template.content))[DATA_SHEET]
    assert [r[3] for r in book.iter_rows(min_row=2, values_only=True)] == list(TRANSPORT)
    assert {r[0] for r in book.iter_rows(min_row=2, values_only=True)} == {fresh.city}
    first = completeness(officer.get("/collect").text)
    before = state(fresh)

    bad = filled_template(template.content, {"L1P2-A2": 88, "L1P2-A3": "一百"})
    files = {"file": ("C:\\Users\\li\\交通.xlsx", bad)}
    page = officer.post("/collect/upload", data={"csrf_token": csrf, "round": "1"}, files=files)
    assert page.status_code == 422
    table = re.search(r'data-testid="upload-errors">(.*?)</div>', page.text, re.S)
    assert table is not None
    assert "交通.xlsx" in table.group(1) and "Users" not in table.group(1)
    rows = re.findall(
        r"<tr><td>(.*?)</td><td class=\"num\">(\d+)</td><td>(.*?)</td>", table.group(1)
    )
    assert rows == [(DATA_SHEET, "4", "数值")]  # the header is row 1; L1P2-A3 is the third
    assert completeness(page.text) == first
    unchanged(fresh, before)

    good = filled_template(template.content, {"L1P2-A2": 88, "L1P2-A3": "96.5%"})
    files = {"file": ("交通.xlsx", good)}
    page = officer.post("/collect/upload", data={"csrf_token": csrf, "round": "1"}, files=files)
    assert page.status_code == 200
    assert "文件已导入：新增 2 项" in page.text
    assert completeness(page.text) == pytest.approx(first + 200 / 3, abs=0.1)
    stored = fresh.db.round_cells(FRAMEWORK, 2026, [fresh.city]).set_index("indicator")
    assert stored.loc["L1P2-A3", "value"] == 96.5
    assert stored.loc["L1P2-A3", "origin_kind"] == "file"


def test_upload_refusals_without_cells(fresh: Site) -> None:
    officer = fresh.client("officer")
    csrf = token(officer)
    before = state(fresh)
    for name, content, expected in (
        ("run.exe", b"MZ", "类型不支持"),
        ("big.csv", b"x" * (10 * 1024 * 1024 + 1), "超过 10 MB"),
        ("broken.xlsx", b"not a zip", "无法读取"),
    ):
        page = officer.post(
            "/collect/upload",
            data={"csrf_token": csrf, "round": "1"},
            files={"file": (name, content)},
        )
        assert page.status_code == 422, name
        assert expected in page.text, name
    assert (
        officer.post(
            "/collect/upload", data={"round": "1"}, files={"file": ("a.csv", b"")}
        ).status_code
        == 403
    )
    unchanged(fresh, before)


def test_api_upload_refuses_another_department_per_row(fresh: Site) -> None:
    officer = fresh.client("officer")
    before = state(fresh)
    csv = f"unit,year,indicator,value\n{fresh.city},2026,L1P4-A2,50\n{fresh.city},2025,L1P2-A1,3\n"
    sent = officer.post(
        "/api/collection/upload",
        data={"round": "1"},
        files={"file": ("values.csv", csv.encode())},
        headers={"X-CSRF-Token": token(officer)},
    )
    assert sent.status_code == 403
    assert [(p["row"], p["column"], p["key"]) for p in sent.json()["problems"]] == [
        (2, "indicator", "collect.denied_department"),
        (3, "year", "collect.wrong_year"),
    ]
    unchanged(fresh, before)


def test_evaluator_chases_a_department_and_the_officer_sees_it(fresh: Site) -> None:
    analyst = fresh.client("analyst")
    csrf = token(analyst)
    audit_rows = fresh.db.row_counts()["audit_log"]
    fragment = analyst.post(
        "/collect/remind",
        data={"csrf_token": csrf, "round": "1", "department": "transport"},
        headers={"hx-request": "true"},
    )
    assert fragment.status_code == 200 and 'data-testid="reminded"' in fragment.text
    page = analyst.post(
        "/collect/remind",
        data={"csrf_token": csrf, "round": "1", "department": "health"},
    )
    assert "已向卫生健康委员会发出催报" in page.text
    assert "由 analyst 催报" in page.text
    assert fresh.db.row_counts()["audit_log"] == audit_rows + 2
    sent = fresh.db.reminders(ROUND, "transport")[0]
    assert (sent.unit, sent.sent_by) == (fresh.province, "analyst")
    officer_page = fresh.client("officer").get("/collect").text
    assert 'data-testid="collect-reminders"' in officer_page and "analyst" in officer_page
    api = analyst.post(
        "/api/collection/reminders",
        json={"round": 1, "department": "transport", "message": "请于月底前报送"},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 200 and api.json()["message"] == "请于月底前报送"
    outside = analyst.post(
        "/api/collection/reminders",
        json={"round": 1, "department": "transport", "unit": fresh.other_city},
        headers={"X-CSRF-Token": csrf},
    )
    assert outside.status_code == 403
    opened = fresh.client("admin")
    body = {"framework_id": FRAMEWORK, "year": 2020, "deadline": "2027-12-31"}  # not newest
    assert (
        analyst.post(
            "/api/collection/rounds", json=body, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 403
    )
    admin_csrf = opened.get("/api/me").json()["csrf_token"]
    made = opened.post("/api/collection/rounds", json=body, headers={"X-CSRF-Token": admin_csrf})
    assert made.status_code == 200 and made.json()["deadline"] == "2027-12-31"
    again = opened.post("/api/collection/rounds", json=body, headers={"X-CSRF-Token": admin_csrf})
    assert again.status_code == 422
    officer = fresh.client("officer")
    refused = officer.post(
        "/collect/remind",
        data={"csrf_token": token(officer), "round": "1", "department": "transport"},
    )
    assert refused.status_code == 403
    assert (
        analyst.post("/collect/remind", data={"round": "1", "department": "x"}).status_code == 403
    )


# -- in Chromium -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Site]]:
    """A fresh SQLite site with a health officer in another province's city, on loopback."""
    folder = tmp_path_factory.mktemp("collect-browser")
    for url in new_database_url("sqlite", folder):
        built = make_site(url, folder)
        add_officer(built, "nurse", built.other_city, "health")
        for address in serve(built.app):
            yield address, built
        built.db.dispose()


def test_officer_uploads_in_chromium_and_evaluator_sees_the_chart(
    served: tuple[str, Site], browser: Any, tmp_path: Path
) -> None:
    server, site = served
    page = browser_sign_in(browser, server, "nurse")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/collect")
    assert "截止日期" in page.inner_text("[data-testid=collect-deadline]")
    assert page.locator("[data-testid=owed-table] tbody tr").count() == len(HEALTH)
    start = page.inner_text("[data-testid=collect-completeness]")
    template = page.request.get(f"{server}/collect/template.xlsx").body()

    bad = tmp_path / "卫生.xlsx"
    bad.write_bytes(filled_template(template, {"L1P4-A1": 91, "L1P4-A2": 180, "L1P4-A3": 77}))
    page.set_input_files("[data-testid=upload-input]", str(bad))
    page.click("[data-testid=upload-submit]")
    page.wait_for_selector("[data-testid=upload-errors] table")
    cells = page.locator("[data-testid=upload-errors] tbody td").all_inner_texts()
    assert cells[:3] == [DATA_SHEET, "3", "数值"] and "180" in cells[3]
    assert page.inner_text("[data-testid=collect-completeness]") == start
    assert site.db.round_cells(FRAMEWORK, 2026, [site.other_city]).empty

    good = tmp_path / "卫生-改.xlsx"
    good.write_bytes(filled_template(template, {"L1P4-A1": 91, "L1P4-A2": 80, "L1P4-A3": 77}))
    page.set_input_files("[data-testid=upload-input]", str(good))
    page.click("[data-testid=upload-submit]")
    page.wait_for_selector("[data-testid=collect-flash]")
    assert "新增 3 项" in page.inner_text("[data-testid=collect-flash]")
    assert page.inner_text("[data-testid=collect-completeness]") == "100.0%"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "collect-officer.png"), full_page=True)
    page.close()

    page = browser_sign_in(browser, server, "admin")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/collect")
    page.wait_for_selector("#completeness-chart[data-rendered=true] svg")
    svg = page.locator("#completeness-chart svg").inner_html()
    assert "卫生健康委员会" in svg and "<path" in svg
    page.screenshot(path=str(SCREENSHOTS / "collect-status.png"), full_page=False)
    page.click("[data-testid=chase-transport]")  # HTMX swaps in when it was sent
    page.wait_for_selector("#chase-transport [data-testid=reminded]")
    page.close()
    assert errors == []
