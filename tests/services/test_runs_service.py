"""The runs service: run form → config, AHP judgments, and stored runs read back (view,
comparison, workbook) on both storage backends with the mini framework."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from cityloop.errors import ConfigError, InputError, MethodError
from cityloop.evaluation.compare import compare_rankings
from cityloop.evaluation.weights import ahp_weights
from cityloop.frameworks import Framework, load_framework
from cityloop.services import run_results, runs
from cityloop.store import Database, Origin, OriginKind
from tests.store.databases import backend, db, db_url, empty_db
from tests.store.samples import Demo, mini, mini_demo

__all__ = ["backend", "db", "db_url", "empty_db", "mini", "mini_demo"]

# Saaty (2008), Table 2, drinks: published CR .022 (see tests/evaluation/test_weights.py);
# the upper triangle row by row, as the AHP editor posts it.
DRINKS_UPPER = [
    *("9", "5", "2", "1", "1", "1/2"),
    *("1/3", "1/9", "1/9", "1/9", "1/9"),
    *("1/3", "1/4", "1/3", "1/9"),
    *("1/2", "1", "1/3"),
    *("2", "1/2"),
    "1/3",
]


def test_reciprocal_matrix_from_the_upper_triangle() -> None:
    m = np.array(runs.reciprocal_matrix(["3", "1/5", "1"], 3))
    assert np.allclose(m, [[1, 3, 0.2], [1 / 3, 1, 1], [5, 1, 1]])
    assert np.allclose(m * m.T, 1.0)
    for bad in (["3", "1/5"], ["3", "10", "1"], ["3", "0.5", "1"], ["=1+1", "1", "1"]):
        with pytest.raises(ValueError, match=r"Saaty|judgments"):
            runs.reciprocal_matrix(bad, 3)


def test_check_judgments_is_the_engine_on_a_published_example() -> None:
    matrix = runs.reciprocal_matrix(DRINKS_UPPER, 7)
    check = runs.check_judgments(list("abcdefg"), matrix)
    engine = ahp_weights(matrix)
    assert check.cr == pytest.approx(0.022, abs=5e-4)
    assert check.cr == engine.consistency_ratio and check.lambda_max == engine.lambda_max
    assert check.weights == pytest.approx(list(engine.weights))
    assert check.consistent
    inconsistent = runs.check_judgments(list("abc"), runs.reciprocal_matrix(["9", "1/9", "9"], 3))
    assert inconsistent.cr == pytest.approx(6.130, abs=5e-4) and not inconsistent.consistent
    with pytest.raises(ConfigError):
        runs.check_judgments(list("ab"), matrix)


def test_config_mapping_of_the_form() -> None:
    form = runs.RunForm(
        years="2025，2024 2024",
        weights="entropy",
        total_aggregation="geometric",
        ahp_use=True,
        ahp_node="TOTAL",
        ahp_children=("D1", "D2"),
        ahp_upper=("3",),
        ahp_force=True,
    )
    mapping = runs.config_mapping(form)
    assert mapping["years"] == [2024, 2025]
    assert mapping["aggregation"] == {"default": "arithmetic", "by_level": {0: "geometric"}}
    assert mapping["weights"]["ahp"] == {
        "TOTAL": {"children": ["D1", "D2"], "matrices": [[[1.0, 3.0], [1 / 3, 1.0]]], "force": True}
    }
    assert "ahp" not in runs.config_mapping(runs.RunForm())["weights"]
    with pytest.raises(ConfigError) as caught:
        runs.config_mapping(runs.RunForm(years="2024, next year"))
    assert "years" in caught.value.render()


def test_ahp_nodes_start_with_the_overall_index() -> None:
    fw = load_framework("gbt33356-2016")
    nodes = runs.ahp_nodes(fw)
    assert nodes[0].code == "TOTAL"
    assert [c for c, _ in nodes[0].children] == [fw.codes[i] for i in fw.top_nodes]
    assert all(len(n.children) >= 2 for n in nodes)


def test_describe_config_in_both_languages() -> None:
    config = {
        "normalisation": {"method": "z_score", "scope": "per_year"},
        "weights": {"method": "entropy", "upper": "equal", "ahp": {"TOTAL": {}}},
        "aggregation": {"default": "arithmetic", "by_level": {"0": "geometric"}},
    }
    zh = runs.describe_config(config)
    assert zh["weights"] == "指标：熵权法；维度：等权；层次分析法：TOTAL"
    assert "几何" in zh["aggregation"]
    from cityloop.i18n import use_language

    with use_language("en"):
        en = runs.describe_config(config)
    assert en["normalisation"] == "Z-score, Per year"


@pytest.fixture
def loaded(db: Database, mini: Framework, mini_demo: Demo) -> Database:
    db.load_units(mini_demo.units, "alice")
    db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.FILE, "v.xlsx"))
    return db


def test_start_view_compare_and_export(loaded: Database, mini: Framework, tmp_path: Path) -> None:
    assert [f.id for f in runs.evaluable_frameworks(loaded)] == ["mini"]
    first = runs.start_run(loaded, runs.RunForm(framework="mini"), actor="carol")
    second = runs.start_run(
        loaded, runs.RunForm(framework="mini", weights="equal", upper="equal"), actor="carol"
    )
    assert [r.id for r in loaded.runs()] == [second, first]

    every = loaded.run_scores(first)
    visible = sorted(every["unit"].unique())[:5]
    view = run_results.run_view(loaded, first, visible)
    assert view.year == 2025 and view.years == [2024, 2025]
    assert sorted(view.ranking["unit"]) == visible
    assert [c for c, _ in view.dimensions] == ["D1", "D2"]
    assert list(view.ranking["rank"]) == sorted(view.ranking["rank"])
    with pytest.raises(Exception, match="2019"):
        run_results.run_view(loaded, first, visible, 2019)

    c = run_results.compare_runs(loaded, first, second, None)
    totals = [run_results.totals(loaded, r, None) for r in (first, second)]
    latest = [t[t["year"] == 2025][["unit", "score", "rank", "stage"]] for t in totals]
    direct = compare_rankings(*latest)
    assert c.ranks.spearman == direct.spearman and c.ranks.compared == len(latest[0])
    assert [ch.key for ch in c.changes] == ["weights.method", "weights.upper"]
    assert c.same_framework

    out = run_results.export_run(loaded, first, tmp_path / "运行.xlsx", visible, "zh-CN")
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["运行概况", "各级得分", "最新年份排名"]
    rows = list(book["各级得分"].iter_rows(values_only=True))
    assert rows[0][:3] == ("单位代码", "单位名称", "年份")
    assert {r[0] for r in rows[1:]} == set(visible)
    assert len(rows) - 1 == len(every[every["unit"].isin(visible)])
    with pytest.raises(InputError):
        run_results.export_run(loaded, first, tmp_path / "run.csv", None, "zh-CN")


def test_inconsistent_judgments_store_nothing_unless_forced(loaded: Database) -> None:
    judged = runs.RunForm(
        framework="mini",
        ahp_use=True,
        ahp_node="D2",
        ahp_children=("I3", "I4", "I5"),
        ahp_upper=("9", "1/9", "9"),
    )
    with pytest.raises(MethodError) as caught:
        runs.start_run(loaded, judged, actor="carol")
    assert "6.130" in caught.value.render()
    wrong_children = runs.RunForm(
        framework="mini", ahp_use=True, ahp_children=("D1", "D2", "D3"), ahp_upper=("1",) * 3
    )
    with pytest.raises(ConfigError):
        runs.start_run(loaded, wrong_children, actor="carol")
    with pytest.raises(ConfigError) as refused:
        runs.start_run(
            loaded, runs.RunForm(framework="mini", thresholds=("60", "40", "80")), actor="c"
        )
    assert "stages.thresholds" in refused.value.render()
    assert loaded.runs() == []

    forced = runs.start_run(loaded, replace(judged, ahp_force=True), actor="carol")
    stored = loaded.run(forced)
    assert stored is not None and stored.config["weights"]["ahp"]["D2"]["force"] is True
