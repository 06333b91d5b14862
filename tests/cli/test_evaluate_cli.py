"""``cityloop evaluate`` through the real Typer app on synthetic demo data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.services.demo import write_demo_data
from cityloop.services.evaluation import evaluate

runner = CliRunner()
MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_demo_data(out, [str(MINI)], n_cities=40, years=(2024, 2025))
    return out


def test_evaluate_prints_the_ranking_and_writes_results(demo: Path, tmp_path: Path) -> None:
    data = next(demo.glob("values-*.csv"))
    out = tmp_path / "r.xlsx"
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(data),
            "--framework",
            str(MINI),
            "--units",
            str(demo / "units.csv"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.exists()
    expected = evaluate(data, MINI, units=demo / "units.csv").summary()
    best = expected.iloc[0]
    assert str(best["unit"]) in result.output
    assert f"{best['score']:.2f}" in result.output
    assert "排名" in result.output


def test_english_summary(demo: Path) -> None:
    data = next(demo.glob("values-*.csv"))
    result = runner.invoke(
        app,
        [
            "--lang",
            "en",
            "evaluate",
            str(data),
            "--framework",
            str(MINI),
            "--units",
            str(demo / "units.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "rank" in result.output
    assert "Synthetic City" in result.output


def test_bad_file_gives_one_clear_line_and_status_2(demo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"unit": ["X"], "year": [2024], "indicator": ["NOPE"], "value": [1]}).to_csv(
        bad, index=False
    )
    out = tmp_path / "never.xlsx"
    result = runner.invoke(app, ["evaluate", str(bad), "--framework", str(MINI), "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists()
    assert "NOPE" in result.output
    assert "Traceback" not in result.output
