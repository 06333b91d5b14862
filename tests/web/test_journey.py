"""The office's day in Chromium, end to end, on each backend.

A department officer uploads the year's template with one bad cell (refused, nothing changes),
fixes it and uploads again; an evaluator runs an evaluation that sees the new value, opens the
city's overview (the radar holds the run's numbers) and downloads the results as Excel.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from cityloop.frameworks import load_framework
from cityloop.frameworks.schema import ValueType
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import browser_sign_in, serve
from tests.web.site import FRAMEWORK, OFFICER_DEPARTMENT, Site, make_site
from tests.web.test_collect_pages import filled_template

YEAR = 2025  # the demo's latest year: the office re-collects it, so the next run sees the change


@pytest.fixture(scope="module", params=BACKENDS)
def journey_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, str, int]]:
    """A fresh site served on loopback, with a collection round for ``YEAR`` opened by the
    administrator through the API."""
    folder = tmp_path_factory.mktemp(f"journey-{request.param}")
    for url in new_database_url(str(request.param), folder):
        site = make_site(url, folder)
        body = {"framework_id": FRAMEWORK, "year": YEAR, "deadline": str(date(2026, 12, 31))}
        opened = site.client("admin").post("/api/collection/rounds", json=body)
        assert opened.status_code == 200, opened.text
        for server in serve(site.app):
            yield site, server, int(opened.json()["id"])
        site.db.dispose()


def weakest_percentage(site: Site) -> str:
    """The officer's percentage indicator on which their city scores lowest in the first run."""
    fw = load_framework(FRAMEWORK)
    mine = {
        i.code
        for i in fw.spec.indicators
        if i.department == OFFICER_DEPARTMENT and i.value_type == ValueType.PERCENTAGE
    }
    scores = site.db.run_scores(site.run_id, units=[site.city])
    rows = scores[(scores["year"] == YEAR) & scores["node"].isin(mine)]
    weakest = rows.sort_values("score").iloc[0]
    assert weakest["score"] < 100
    return str(weakest["node"])


def stored_state(site: Site) -> tuple[pd.DataFrame, dict[str, int]]:
    return site.db.values_frame(FRAMEWORK), site.db.row_counts()


def test_officer_uploads_evaluator_runs_and_downloads(
    journey_site: tuple[Site, str, int], browser: Any, tmp_path: Path
) -> None:
    site, server, round_id = journey_site
    target = weakest_percentage(site)
    current = site.db.values_frame(FRAMEWORK, [YEAR])
    mine = current[current["unit"] == site.city].set_index("indicator")["value"]
    errors: list[str] = []

    # The officer: a template with one impossible percentage is refused whole.
    page = browser_sign_in(browser, server, "officer")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/collect?round={round_id}")
    template = page.request.get(f"{server}/collect/template.xlsx?round={round_id}").body()
    owed = pd.read_excel(io.BytesIO(template), sheet_name=None)
    assert any(target in frame.to_string() for frame in owed.values())
    values = {code: float(mine[code]) for code in mine.index if code in mine}
    before = stored_state(site)
    bad = tmp_path / "交通-有误.xlsx"
    bad.write_bytes(filled_template(template, {**values, target: 180}))
    page.set_input_files("[data-testid=upload-input]", str(bad))
    page.click("[data-testid=upload-submit]")
    page.wait_for_selector("[data-testid=upload-errors] table")
    refusal = page.locator("[data-testid=upload-errors] tbody tr").all_inner_texts()
    assert len(refusal) == 1 and "180" in refusal[0] and "数值" in refusal[0]
    after = stored_state(site)
    pd.testing.assert_frame_equal(after[0], before[0])
    assert after[1] == before[1]  # not a row more anywhere: values, history, audit

    # Fixed: the target indicator reaches 100 %, the others are sent back unchanged.
    good = tmp_path / "交通.xlsx"
    good.write_bytes(filled_template(template, {**values, target: 100}))
    page.set_input_files("[data-testid=upload-input]", str(good))
    page.click("[data-testid=upload-submit]")
    page.wait_for_selector("[data-testid=collect-flash]")
    stored = site.db.values_frame(FRAMEWORK, [YEAR])
    cell = stored[(stored["unit"] == site.city) & (stored["indicator"] == target)]
    assert cell["value"].tolist() == [100.0]
    page.close()

    # The evaluator: a run with the default config sees the new value.
    page = browser_sign_in(browser, server, "analyst")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/runs")
    page.click("[data-testid=start-run]")
    page.wait_for_url(lambda url: url.rstrip("/").rsplit("/", 1)[-1].isdigit())
    run_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
    scores = site.db.run_scores(run_id, units=[site.city])
    year_rows = scores[scores["year"] == YEAR].set_index("node")
    assert year_rows.at[target, "score"] == pytest.approx(100.0)

    # The city's overview from that run: the radar is drawn with the run's dimension scores.
    page.goto(f"{server}/cities/{site.city}?run={run_id}&year={YEAR}")
    page.wait_for_selector("#radar-chart[data-rendered=true] svg")
    drawn = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('radar-chart'))"
        ".getOption().series[0].data.map(s => s.value)"
    )
    dimensions = year_rows[year_rows["level"] == 1].sort_index()
    fw = load_framework(FRAMEWORK)
    in_tree_order = [code for code in fw.codes if code in dimensions.index]
    assert len(drawn) == 3 and all(len(s) == len(in_tree_order) for s in drawn)
    expected = [float(dimensions.at[c, "score"]) for c in in_tree_order]
    assert drawn[0] == pytest.approx(expected, abs=0.006)  # the chart shows two decimals
    assert page.locator("#radar-chart svg path").count() >= 3

    # The results as Excel, from the run page's button: the changed cell is in it.
    page.goto(f"{server}/runs/{run_id}")
    with page.expect_download() as caught:
        page.click("[data-testid=download-xlsx]")
    book = openpyxl.load_workbook(io.BytesIO(Path(caught.value.path()).read_bytes()))
    rows = list(book["各级得分"].iter_rows(values_only=True))
    header = list(rows[0])
    at = {name: header.index(name) for name in ("单位代码", "年份", "节点代码", "得分")}
    found = [
        r[at["得分"]]
        for r in rows[1:]
        if (r[at["单位代码"]], r[at["年份"]], r[at["节点代码"]]) == (site.city, YEAR, target)
    ]
    assert found == [pytest.approx(100.0)]
    page.close()
    assert errors == []
