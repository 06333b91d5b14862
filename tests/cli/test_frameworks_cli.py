"""``cityloop frameworks``: list, show, validate and copy, through the real Typer app."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.frameworks import load_framework, shipped_ids

runner = CliRunner()
MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"


def test_list_shows_every_shipped_framework() -> None:
    result = runner.invoke(app, ["frameworks", "list"])
    assert result.exit_code == 0, result.output
    for fid in shipped_ids():
        assert fid in result.output
    assert "gbt33356-2016" in shipped_ids()


def test_show_prints_the_tree_with_weights() -> None:
    result = runner.invoke(app, ["frameworks", "show", str(MINI)])
    assert result.exit_code == 0, result.output
    assert "D1 服务" in result.output
    assert "w=0.600" in result.output
    assert "(30.00%)" in result.output  # I1's share of the whole: 0.6 × 0.5


def test_show_in_english() -> None:
    result = runner.invoke(app, ["--lang", "en", "frameworks", "show", str(MINI)])
    assert result.exit_code == 0, result.output
    assert "D1 Services" in result.output


def test_validate_reports_the_line_of_a_fault(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        MINI.read_text(encoding="utf-8").replace(
            "parent: D2, name: {zh: 人均", "parent: DX, name: {zh: 人均"
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["frameworks", "validate", str(bad)])
    assert result.exit_code == 2
    assert "第 15 行" in result.output
    assert "DX" in result.output
    assert "Traceback" not in result.output


def test_validate_accepts_a_good_file() -> None:
    result = runner.invoke(app, ["frameworks", "validate", str(MINI)])
    assert result.exit_code == 0, result.output
    assert "5" in result.output


def test_copy_to_yaml_and_excel_round_trips(tmp_path: Path) -> None:
    for suffix in (".yaml", ".xlsx"):
        dest = tmp_path / f"copy{suffix}"
        result = runner.invoke(app, ["frameworks", "copy", str(MINI), str(dest)])
        assert result.exit_code == 0, result.output
        copy, original = load_framework(dest), load_framework(MINI)
        assert copy.codes == original.codes
        assert copy.weight.tolist() == original.weight.tolist()
        assert [i.model_dump() for i in copy.indicators] == [
            i.model_dump() for i in original.indicators
        ]


def test_an_edited_copy_is_used(tmp_path: Path) -> None:
    dest = tmp_path / "mine.yaml"
    runner.invoke(app, ["frameworks", "copy", str(MINI), str(dest)])
    data = yaml.safe_load(dest.read_text(encoding="utf-8"))
    data["dimensions"][0]["weight"] = 0.5
    data["dimensions"][1]["weight"] = 0.5
    dest.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_framework(dest).weight[:2].tolist() == [0.5, 0.5]


def test_copy_refuses_unknown_suffix(tmp_path: Path) -> None:
    result = runner.invoke(app, ["frameworks", "copy", str(MINI), str(tmp_path / "x.txt")])
    assert result.exit_code == 2
    assert not (tmp_path / "x.txt").exists()
