"""``cityloop demo-data`` and the service behind it: files written, read back, refused input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.datahub.tables import read_table
from cityloop.datahub.units import read_units
from cityloop.demo.generator import generate_demo, source_label
from cityloop.errors import InputError
from cityloop.frameworks import load_framework
from cityloop.services.demo import write_demo_data

MINI = Path(__file__).parents[1] / "data" / "mini-framework.yaml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _expected(n_cities: int, seed: int) -> pd.DataFrame:
    return generate_demo([load_framework(MINI)], n_cities=n_cities, seed=seed).values["mini"]


def test_cli_writes_csv_that_reads_back(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(
        app,
        [
            "--lang",
            "en",
            "demo-data",
            "--out",
            str(out),
            "--framework",
            str(MINI),
            "--cities",
            "40",
            "--seed",
            "7",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.txt", "units.csv", "values-mini.csv"]
    assert (out / "values-mini.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    units = read_units(out / "units.csv")
    assert len(units.of_level("city")) == 40
    assert units.table.loc["330000", "name_zh"] == "浙江省"
    values = read_table(out / "values-mini.csv")
    expected = _expected(40, 7)
    assert len(values) == len(expected)
    assert list(values["unit"]) == list(expected["unit"])
    np.testing.assert_array_equal(values["value"].astype(float), expected["value"])
    assert (values["source"] == source_label(7)).all()
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert "合成" in readme
    assert "SYNTHETIC" in readme
    assert "--seed 7" in readme


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_cli_writes_other_formats(runner: CliRunner, tmp_path: Path, fmt: str) -> None:
    result = runner.invoke(
        app,
        [
            "demo-data",
            "--out",
            str(tmp_path),
            "--framework",
            str(MINI),
            "--format",
            fmt,
            "--cities",
            "31",
        ],
    )
    assert result.exit_code == 0, result.output
    values = read_table(tmp_path / f"values-mini.{fmt}")
    expected = _expected(31, 20261124)
    np.testing.assert_array_equal(pd.to_numeric(values["value"]), expected["value"])
    assert list(values.columns) == list(expected.columns)


def test_cli_refuses_an_impossible_city_count(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "--lang",
            "en",
            "demo-data",
            "--out",
            str(tmp_path / "x"),
            "--framework",
            str(MINI),
            "--cities",
            "5",
        ],
    )
    assert result.exit_code == 2
    assert "31" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_cli_reports_an_unknown_framework(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo-data", "--out", str(tmp_path), "--framework", "no-such"])
    assert result.exit_code == 2
    assert not list(tmp_path.iterdir())


def test_service_without_frameworks_writes_units_and_readme(tmp_path: Path) -> None:
    written = write_demo_data(tmp_path, [], n_cities=31)
    assert [p.name for p in written] == ["units.csv", "README.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_service_overwrites_atomically(tmp_path: Path) -> None:
    (tmp_path / "units.csv").write_text("old", encoding="utf-8")
    write_demo_data(tmp_path, [str(MINI)], n_cities=31)
    assert "old" not in (tmp_path / "units.csv").read_text(encoding="utf-8-sig")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "README.txt",
        "units.csv",
        "values-mini.csv",
    ]


def test_service_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        write_demo_data(tmp_path, [str(MINI)], fmt="json")
    assert caught.value.key == "demo.bad_format"


def test_service_refuses_a_negative_seed(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        write_demo_data(tmp_path, [str(MINI)], seed=-1)
    assert caught.value.key == "demo.bad_seed"
