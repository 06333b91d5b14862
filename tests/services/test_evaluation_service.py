"""The evaluation service end to end: files in, results out, on synthetic demo data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

import cityloop
from cityloop.errors import ConfigError, DataValidationError
from cityloop.evaluation.result import TOTAL
from cityloop.services.demo import write_demo_data
from cityloop.services.evaluation import evaluate, results_table, write_results
from cityloop.services.workbook import excel_safe

MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"
MINI_INDICATORS = ("I1", "I2", "I3", "I4", "I5")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_demo_data(out, [str(MINI)], n_cities=60, years=(2023, 2024, 2025))
    return out


def values_file(demo: Path) -> Path:
    return next(demo.glob("values-*.csv"))


def test_path_dataframe_and_public_api_agree(demo: Path) -> None:
    from_path = evaluate(values_file(demo), MINI, units=demo / "units.csv")
    frame = pd.read_csv(values_file(demo), encoding="utf-8-sig")
    from_frame = cityloop.evaluate(frame, framework=MINI, units=demo / "units.csv")
    assert from_path.scores.tobytes() == from_frame.scores.tobytes()
    assert from_path.provenance["data_hash"] == from_frame.provenance["data_hash"]


def test_only_cities_are_ranked_and_groups_come_from_units(demo: Path) -> None:
    result = evaluate(values_file(demo), MINI, units=demo / "units.csv")
    units = pd.read_csv(demo / "units.csv", dtype=str, encoding="utf-8-sig")
    cities = set(units.loc[units["level"] == "city", "code"])
    assert set(result.cube.units) <= cities
    kinds = set(result.ranks_table["scope_kind"])
    assert {"all", "province", "cluster"} <= kinds


def test_config_file_is_applied_and_faults_name_the_field(demo: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("normalisation: {method: rank}\nimputation: [carry_forward]\n", "utf-8")
    result = evaluate(values_file(demo), MINI, cfg, demo / "units.csv")
    assert result.config.normalisation.method == "rank"
    cfg.write_text("normalisation: {method: magic}\n", "utf-8")
    with pytest.raises(ConfigError) as err:
        evaluate(values_file(demo), MINI, cfg, demo / "units.csv")
    assert "normalisation.method" in str(err.value)
    assert str(cfg) in str(err.value)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet", ".xlsx"])
def test_every_output_format_holds_the_engines_numbers(
    demo: Path, tmp_path: Path, suffix: str
) -> None:
    result = evaluate(values_file(demo), MINI, units=demo / "units.csv")
    out = write_results(result, tmp_path / f"results{suffix}")
    expected = results_table(result)
    total = expected[(expected["node"] == TOTAL)].set_index(["unit", "year"])["score"]
    if suffix == ".csv":
        got = pd.read_csv(out, encoding="utf-8-sig", dtype={"unit": str})
    elif suffix == ".parquet":
        got = pd.read_parquet(out)
        meta = pq.read_schema(out).metadata[b"cityloop.provenance"]
        assert json.loads(meta)["data_hash"] == result.provenance["data_hash"]
    elif suffix == ".json":
        payload = json.loads(out.read_text("utf-8"))
        assert payload["provenance"]["framework_id"] == "mini"
        got = pd.DataFrame(payload["scores"])
    else:
        book = load_workbook(out, read_only=True)
        assert book.sheetnames == [
            "评价结果",
            "组内排名",
            "指标贡献",
            "优势与短板",
            "分组汇总",
            "数据覆盖",
            "指标覆盖与异常值",
            "权重",
            "运行信息",
        ]
        got = pd.read_excel(out, sheet_name="评价结果", dtype={"单位代码": str})
        got = got.rename(
            columns={"单位代码": "unit", "年份": "year", "节点代码": "node", "得分": "score"}
        )
    got = got[got["node"] == TOTAL].set_index(["unit", "year"])["score"]
    np.testing.assert_allclose(got.loc[total.index].to_numpy(), total.to_numpy(), rtol=1e-12)


def test_bad_data_changes_nothing(demo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    text = values_file(demo).read_text("utf-8-sig").splitlines()
    first = text[1].split(",")
    first[3] = "abc"  # value column
    text[1] = ",".join(first)
    bad.write_text("\n".join(text), "utf-8")
    out = tmp_path / "out.xlsx"
    with pytest.raises(DataValidationError) as err:
        evaluate(bad, MINI, units=demo / "units.csv")
    assert "abc" in str(err.value)
    assert not out.exists()


def test_unknown_output_suffix_is_refused(demo: Path, tmp_path: Path) -> None:
    result = evaluate(values_file(demo), MINI, units=demo / "units.csv")
    with pytest.raises(DataValidationError):
        write_results(result, tmp_path / "x.docx")
    assert list(tmp_path.iterdir()) == []


def test_workbook_in_english_and_formula_safe(demo: Path, tmp_path: Path) -> None:
    from cityloop.i18n import use_language

    result = evaluate(values_file(demo), MINI, units=demo / "units.csv")
    with use_language("en"):
        out = write_results(result, tmp_path / "r.xlsx")
    book = load_workbook(out, read_only=True)
    assert book.sheetnames[0] == "results"
    header = [c.value for c in next(book["results"].iter_rows(max_row=1))]
    assert header[:4] == ["unit", "year", "node", "level"]
    latest = max(result.cube.years)
    contributions = pd.read_excel(out, sheet_name="contributions")
    assert set(contributions["year"]) == {latest}
    assert len(contributions) == int(result.kept[:, -1].sum()) * len(MINI_INDICATORS)


def test_excel_safe_neutralises_formulas() -> None:
    df = pd.DataFrame(
        {"unit": ["=cmd|' /C calc'!A0", "C1", "+1", "@SUM(1)"], "score": [1, 2, 3, 4]}
    )
    safe = excel_safe(df)
    assert safe["unit"].tolist() == ["'=cmd|' /C calc'!A0", "C1", "'+1", "'@SUM(1)"]
    assert safe["score"].tolist() == [1, 2, 3, 4]


def test_years_without_data_are_refused_with_the_years_present(demo: Path) -> None:
    with pytest.raises(DataValidationError) as err:
        evaluate(values_file(demo), MINI, {"years": [2030]}, demo / "units.csv")
    assert "2030" in str(err.value)
    assert "2025" in str(err.value)
