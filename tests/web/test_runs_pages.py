"""Evaluation run pages and API: permissions, the run form and the AHP editor, a run's ranking,
two runs compared, the Excel download; and the whole flow in Chromium.

Starting runs writes, so this module builds its own site per backend instead of the shared one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from fastapi.testclient import TestClient

from cityloop.accounts import Role
from cityloop.accounts.scope import visible_units
from cityloop.evaluation.compare import compare_rankings
from cityloop.evaluation.weights import ahp_weights
from cityloop.services import run_results, users
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import SCREENSHOTS, browser_sign_in, serve
from tests.web.site import CHEAP, PASSWORD, Site, csrf_of, make_site

# Saaty (2008), Table 2, drinks: published CR .022 (see tests/evaluation/test_weights.py).
DRINKS = [
    [1, 9, 5, 2, 1, 1, 1 / 2],
    [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
    [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9],
    [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [1, 9, 4, 2, 1, 2, 1 / 2],
    [1, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [2, 9, 9, 3, 2, 3, 1],
]
ROWS, COLUMNS = np.triu_indices(7, 1)
DRINKS_UPPER = [
    str(Fraction(DRINKS[i][j]).limit_denominator(9)) for i, j in zip(ROWS, COLUMNS, strict=True)
]
DIMENSIONS = [f"L{i}" for i in range(1, 9)]  # GB/T 33356-2016's eight first-level dimensions


@pytest.fixture(scope="module", params=BACKENDS)
def runs_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A fresh populated site this module may write runs to, plus an evaluator of one city in
    another province (``far``) to check that run pages keep to the user's regions."""
    folder = tmp_path_factory.mktemp(f"runs-{request.param}")
    for url in new_database_url(str(request.param), folder):
        built = make_site(url, folder)
        users.add_user(
            built.db, "far", PASSWORD, Role.EVALUATOR, built.other_city, None,
            actor="fixture", params=CHEAP,
        )  # fmt: skip
        yield built
        built.db.dispose()


@pytest.fixture(scope="module")
def analyst(runs_site: Site) -> Iterator[TestClient]:
    with runs_site.client("analyst") as c:
        yield c


def form_data(client: TestClient, **changes: Any) -> dict[str, Any]:
    """The run form's defaults as a browser would post them, with ``changes``."""
    data: dict[str, Any] = {
        "csrf_token": csrf_of(client, "/runs"),
        "framework": "gbt33356-2016",
        "normalisation": "min_max",
        "scope": "pooled",
        "imputation": "none",
        "weights": "framework",
        "upper": "framework",
        "aggregation": "arithmetic",
        "threshold": ["40", "60", "80"],
        "ahp_node": "TOTAL",
        "ahp_child": DIMENSIONS,
        "ahp_upper": ["1"] * 28,
    }
    data.update(changes)
    return data


def test_permissions(runs_site: Site) -> None:
    with runs_site.client() as anonymous:
        assert anonymous.get("/runs", follow_redirects=False).status_code == 303
        assert anonymous.get("/api/runs").status_code == 401
    with runs_site.client("viewer") as viewer:
        assert viewer.get("/runs").status_code == 403
        assert viewer.get(f"/api/runs/{runs_site.run_id}").status_code == 403
    with runs_site.client("manager") as manager:
        page = manager.get("/runs")
        assert page.status_code == 200
        assert 'action="/runs/compare"' in page.text and 'id="new-run"' not in page.text
        before = len(runs_site.db.runs())
        refused = manager.post("/runs", data=form_data(manager), follow_redirects=False)
        assert refused.status_code == 403
        assert manager.post("/api/runs", json={}).status_code == 403
        assert manager.get(f"/runs/{runs_site.run_id}/results.xlsx").status_code == 403
        assert len(runs_site.db.runs()) == before


def test_list_page_shows_runs_and_the_form(analyst: TestClient, runs_site: Site) -> None:
    page = analyst.get("/runs")
    assert page.status_code == 200
    assert "评价运行" in page.text and 'id="new-run"' in page.text
    assert f'href="/runs/{runs_site.run_id}"' in page.text
    # The AHP editor starts on the eight dimensions: 28 judgments of the upper triangle.
    assert page.text.count('name="ahp_upper"') == 28
    assert "惠民服务" in page.text and 'data-testid="ahp-cr"' in page.text
    assert "0.000" in page.text  # equal judgments are perfectly consistent
    assert "Evaluation runs" in analyst.get("/runs?lang=en").text
    analyst.get("/runs?lang=zh-CN")


def test_ahp_api_is_the_engine_on_a_published_example(analyst: TestClient) -> None:
    engine = ahp_weights(DRINKS)
    answer = analyst.post(
        "/api/ahp/consistency", json={"children": list("abcdefg"), "matrix": DRINKS}
    ).json()
    assert answer["cr"] == pytest.approx(engine.consistency_ratio, abs=1e-12)
    assert answer["cr"] == pytest.approx(0.022, abs=5e-4)
    assert answer["consistent"] is True
    assert list(answer["weights"].values()) == pytest.approx(list(engine.weights))
    bad = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    flagged = analyst.post("/api/ahp/consistency", json={"children": list("abc"), "matrix": bad})
    assert flagged.json()["consistent"] is False
    assert flagged.json()["cr"] == pytest.approx(6.130, abs=5e-4)
    broken = analyst.post(
        "/api/ahp/consistency", json={"children": list("ab"), "matrix": [[1, 2], [2, 1]]}
    )
    assert broken.status_code == 422 and "倒数" in broken.json()["detail"]


def test_ahp_fragment_shows_the_ratio_and_the_verdict(analyst: TestClient) -> None:
    csrf = csrf_of(analyst, "/runs")
    data = {"csrf_token": csrf, "ahp_child": list("abcdefg"), "ahp_upper": DRINKS_UPPER}
    passing = analyst.post("/runs/ahp", data=data, headers={"HX-Request": "true"})
    assert passing.status_code == 200
    assert re.search(r'data-testid="ahp-cr">0\.022<', passing.text)
    assert "通过一致性检验" in passing.text
    data.update(ahp_child=list("abc"), ahp_upper=["9", "1/9", "9"])
    failing = analyst.post("/runs/ahp", data=data)
    assert "6.130" in failing.text and "未通过" in failing.text
    assert analyst.post("/runs/ahp", data={**data, "csrf_token": "x"}).status_code == 403
    editor = analyst.get("/runs/ahp", params={"framework": "gbt33356-2016", "ahp_node": "L1"})
    assert editor.status_code == 200 and 'value="L1" selected' in editor.text


def test_a_valid_form_starts_a_run(analyst: TestClient, runs_site: Site) -> None:
    before = len(runs_site.db.runs())
    data = form_data(analyst, weights="entropy", total_aggregation="geometric", years="2024, 2025")
    answer = analyst.post("/runs", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    run_id = int(answer.headers["location"].rsplit("/", 1)[1])
    assert len(runs_site.db.runs()) == before + 1
    row = runs_site.db.run(run_id)
    assert row is not None and row.created_by == "analyst"
    assert row.config["weights"]["method"] == "entropy" and row.config["years"] == [2024, 2025]
    assert row.config["aggregation"]["by_level"] == {"0": "geometric"}
    assert set(runs_site.db.run_scores(run_id)["year"]) == {2024, 2025}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"threshold": ["60", "40", "80"]}, "stages.thresholds"),
        ({"years": "去年"}, "年份"),
        ({"ahp_use": "on", "ahp_upper": ["9", "1/9"] + ["9"] * 26}, "CR ="),
        ({"ahp_use": "on", "ahp_upper": ["10"] * 28, "normalisation": "magic"}, "Saaty"),
    ],
)
def test_an_invalid_form_is_re_rendered_and_stores_nothing(
    analyst: TestClient, runs_site: Site, changes: dict[str, Any], message: str
) -> None:
    before = len(runs_site.db.runs())
    answer = analyst.post("/runs", data=form_data(analyst, **changes), follow_redirects=False)
    assert answer.status_code == 422
    assert 'data-testid="run-errors"' in answer.text and message in answer.text
    assert len(runs_site.db.runs()) == before
    if "years" in changes:  # the form keeps what the user typed
        assert f'value="{changes["years"]}"' in answer.text
    for cut in changes.get("threshold", []):
        assert f'name="threshold" value="{cut}"' in answer.text


def test_forced_inconsistent_judgments_run(analyst: TestClient, runs_site: Site) -> None:
    upper = ["9", "1/9"] + ["9"] * 26
    data = form_data(analyst, ahp_use="on", ahp_force="on", ahp_upper=upper)
    answer = analyst.post("/runs", data=data, follow_redirects=False)
    assert answer.status_code == 303
    row = runs_site.db.run(int(answer.headers["location"].rsplit("/", 1)[1]))
    assert row is not None and row.config["weights"]["ahp"]["TOTAL"]["force"] is True


def test_json_api_starts_and_reads_runs(analyst: TestClient, runs_site: Site) -> None:
    created = analyst.post("/api/runs", json={"config": {"weights": {"method": "critic"}}})
    assert created.status_code == 201
    run_id = created.json()["id"]
    assert created.json()["config"]["weights"]["method"] == "critic"
    assert run_id in [r["id"] for r in analyst.get("/api/runs").json()]
    # What a cross-site form could send (text/plain) is no JSON body: refused, nothing run.
    plain = {"content-type": "text/plain"}
    assert analyst.post("/api/runs", content=b'{"config": {}}', headers=plain).status_code == 422
    bad = analyst.post("/api/runs", json={"config": {"stages": {"thresholds": [3, 2, 1]}}})
    assert bad.status_code == 422 and "stages.thresholds" in bad.json()["detail"]
    data = analyst.get(f"/api/runs/{run_id}", params={"year": 2024}).json()
    visible = visible_units(runs_site.units, runs_site.province)
    assert data["year"] == 2024 and {s["unit"] for s in data["scores"]} <= visible
    assert len(data["scores"]) == 3  # the demo's three cities of the analyst's province
    assert analyst.get(f"/api/runs/{run_id}", params={"year": 1999}).status_code == 422
    assert analyst.get("/api/runs/999999").status_code == 404


def test_run_page_ranks_only_visible_units(runs_site: Site) -> None:
    run_id = runs_site.run_id
    for username, scope in (("analyst", runs_site.province), ("far", runs_site.other_city)):
        with runs_site.client(username) as client:
            page = client.get(f"/runs/{run_id}")
            assert page.status_code == 200
            shown = set(re.findall(r'<tr data-unit="(\d+)">', page.text))
            ranked = set(runs_site.db.run_scores(run_id, max_level=0)["unit"])
            assert shown == visible_units(runs_site.units, scope) & ranked
            assert f'href="/cities/{sorted(shown)[0]}?run={run_id}"' in page.text
            assert 'data-chart="runMedians"' in page.text
    with runs_site.client("analyst") as client:
        assert client.get(f"/runs/{run_id}?year=2023").status_code == 200
        assert client.get("/runs/999999").status_code == 404


def test_excel_download_is_the_stored_run(runs_site: Site) -> None:
    run_id = runs_site.run_id
    visible = sorted(visible_units(runs_site.units, runs_site.other_city))
    with runs_site.client("far") as client:
        answer = client.get(f"/runs/{run_id}/results.xlsx")
        english = client.get(f"/runs/{run_id}/results.xlsx?lang=en")
        client.get("/runs?lang=zh-CN")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="cityloop-run-{run_id}.xlsx"'
    )
    book = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
    assert book.sheetnames == ["运行概况", "各级得分", "最新年份排名"]
    rows = list(book["各级得分"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    stored = runs_site.db.run_scores(run_id, units=visible)
    assert len(body) == len(stored) > 0
    assert {r[header.index("单位代码")] for r in body} == {runs_site.other_city}  # districts unrun
    expected = {
        (r.unit, r.year, r.node): r.score for r in stored.itertuples() if r.score == r.score
    }
    got = {
        (r[0], r[2], r[3]): r[header.index("得分")]
        for r in body
        if r[header.index("得分")] is not None
    }
    assert got == pytest.approx(expected)
    ranking = list(book["最新年份排名"].iter_rows(values_only=True))
    assert len(ranking) == 2 and ranking[1][2] == runs_site.other_city
    en = openpyxl.load_workbook(io.BytesIO(english.content), read_only=True)
    assert en.sheetnames == ["Run summary", "Scores", "Latest ranking"]


def test_compare_page_numbers_equal_a_direct_computation(
    analyst: TestClient, runs_site: Site
) -> None:
    a = runs_site.run_id
    data = form_data(analyst, weights="equal", upper="equal", normalisation="rank")
    b = int(analyst.post("/runs", data=data, follow_redirects=False).headers["location"][6:])
    with runs_site.client("admin") as admin:
        page = admin.get(f"/runs/compare?a={a}&b={b}")
        api = admin.get("/api/runs/compare", params={"a": a, "b": b, "year": 2024}).json()
    assert page.status_code == 200
    latest = [
        run_results.totals(runs_site.db, r, None).query("year == 2025")[
            ["unit", "score", "rank", "stage"]
        ]
        for r in (a, b)
    ]
    direct = compare_rankings(*latest)
    assert f'data-stat="spearman">{direct.spearman:.4f}<' in page.text
    assert f'data-stat="kendall">{direct.kendall:.4f}<' in page.text
    assert f'data-stat="mean_abs_shift">{direct.mean_abs_shift:.2f}<' in page.text
    assert f'data-stat="stage_changes">{direct.stage_changes}<' in page.text
    assert page.text.count('<tr data-unit="') == 62
    assert "normalisation.method" in page.text and "weights.upper" in page.text
    assert 'data-chart="rankScatter"' in page.text
    assert api["year"] == 2024 and api["compared"] == 62
    keys = [c["key"] for c in api["config_changes"]]
    assert keys == ["normalisation.method", "weights.method", "weights.upper"]
    assert sum(u["shift"] for u in api["units"]) == 0
    with runs_site.client("analyst") as client:  # three cities of the province only
        assert client.get(f"/runs/compare?a={a}&b={b}").text.count('<tr data-unit="') == 3


def test_run_compare_and_download_in_chromium(runs_site: Site, browser: Any) -> None:
    if "postgresql" in runs_site.db.url:
        pytest.skip("the browser flow runs once, on SQLite; the pages are the same")
    from playwright.sync_api import expect

    errors: list[str] = []
    for server in serve(runs_site.app):
        page = browser_sign_in(browser, server, "analyst")
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server}/runs")
        cr = page.locator("[data-testid=ahp-cr]")
        assert cr.inner_text() == "0.000"
        # 惠民服务 ≫ 精准治理 (9) but 惠民服务 ≪ 生态宜居 (1/9), with the rest equal: inconsistent.
        page.select_option("select[data-cell='0-1']", "9")
        page.select_option("select[data-cell='0-2']", "1/9")
        verdict = page.locator("[data-testid=ahp-verdict]")
        expect(verdict).to_have_text(re.compile("未通过"))  # the fragment was swapped in
        assert float(cr.inner_text()) > 0.1
        page.select_option("select[data-cell='0-2']", "5")
        expect(verdict).to_have_text(re.compile("^通过"))
        assert 0 < float(cr.inner_text()) <= 0.1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "runs.png"), full_page=True)

        page.check("[data-testid=ahp-use]")
        page.click("[data-testid=start-run]")
        page.wait_for_url(re.compile(r"/runs/\d+$"))
        run_id = int(page.url.rsplit("/", 1)[1])
        stored = runs_site.db.run(run_id)
        assert stored is not None and "TOTAL" in stored.config["weights"]["ahp"]
        page.wait_for_selector("#medians-chart[data-rendered=true] svg")
        assert page.locator("#medians-chart svg path").count() >= 8
        assert "惠民服务" in page.locator("#medians-chart svg").inner_html()
        assert page.locator("[data-testid=ranking-table] tbody tr").count() == 3
        page.screenshot(path=str(SCREENSHOTS / "run.png"), full_page=True)

        with page.expect_download() as caught:
            page.click("[data-testid=download-xlsx]")
        assert caught.value.suggested_filename == f"cityloop-run-{run_id}.xlsx"
        content = Path(caught.value.path()).read_bytes()
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        assert book.sheetnames[0] == "运行概况"
        rows = list(book["最新年份排名"].iter_rows(values_only=True))
        assert len(rows) == 4  # header + the province's three cities

        page.goto(f"{server}/runs/compare?a={runs_site.run_id}&b={run_id}")
        page.wait_for_selector("#rank-scatter[data-rendered=true] svg")
        assert page.locator("#rank-scatter svg path").count() >= 3
        page.screenshot(path=str(SCREENSHOTS / "runs-compare.png"), full_page=True)
        assert errors == []
        page.close()
