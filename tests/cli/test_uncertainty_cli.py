"""``cityloop uncertainty`` through the real Typer app: data files and a stored run, the
robustness summary and Sobol table, the workbook, and user errors as one clear line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.cli.common import console
from cityloop.i18n import t, use_language
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.services import uncertainty as service
from cityloop.services.demo import write_demo_data
from cityloop.store import Database, Settings

runner = CliRunner()
MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    """Tables as wide as they need (the shared console took its width when first imported),
    and the language a command chose with ``--lang`` undone afterwards."""
    width = console.width
    console.width = 200
    with use_language("zh-CN"):
        yield
    console.width = width


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_demo_data(out, [str(MINI)], n_cities=40, years=(2024, 2025))
    return out


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.output


def file_args(demo: Path) -> list[str]:
    data = next(demo.glob("values-*.csv"))
    return [str(data), "--framework", str(MINI), "--units", str(demo / "units.csv")]


def test_files_print_the_summary_and_the_sobol_table(demo: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("aggregations: [arithmetic, geometric]\ntop_k: 5\n", "utf-8")
    out = tmp_path / "robust.xlsx"
    code, text = invoke(
        "--lang", "en", "uncertainty", *file_args(demo), "--spec", str(spec),
        "--replications", "300", "--seed", "9", "--out", str(out), "--top", "4",
    )  # fmt: skip
    assert code == 0, text
    assert "Rank robustness in 2025" in text and "k = 5" in text
    assert "Median rank" in text and "5–95% rank interval" in text
    assert "Sobol sensitivity indices" in text and t("unc.factor.aggregation", "en") in text
    assert "seed 9" in text and "scheduler local" in text
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames[:2] == ["Rank robustness", "Sensitivity"]  # the command's language
    assert book["Rank robustness"].max_row == 41


def test_same_seed_same_output(demo: Path) -> None:
    args = ["uncertainty", *file_args(demo), "--replications", "200", "--seed", "4"]
    first, second = invoke(*args), invoke(*args)
    assert first[0] == 0 and first == second


def test_a_stored_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cityloop.db'}"
    db = Database.open(Settings(database_url=url, data_dir=tmp_path))
    db.upgrade()
    store_service.load_demo(db, ["gbt33356-2016"], n_cities=40, user="fixture")
    run_id, _ = runs.evaluate_stored(db, "gbt33356-2016", actor="fixture")
    db.dispose()
    code, text = invoke(
        "uncertainty", "--run", str(run_id), "--replications", "120",
        env={"CITYLOOP_DATABASE_URL": url},
    )  # fmt: skip
    assert code == 0, text
    assert "排名稳健性" in text and "示例市" in text and "种子 20261201" in text


def test_progress_is_reported_up_to_the_total(demo: Path) -> None:
    calls: list[tuple[int, int]] = []
    data, _, framework, _, units = file_args(demo)
    analysis = service.analyse_files(
        Path(data),
        framework,
        None,
        units,
        {"replications": 500, "chunk_size": 64},
        progress=lambda done, total: calls.append((done, total)),
    )
    assert len(calls) > 1 and calls[-1] == (analysis.result.replications,) * 2
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], "--run"),
        (["--run", "1"], "--run"),
        (["--out", "r.csv"], ".csv"),
        (["--spec", "missing.yaml"], "missing.yaml"),
        (["--replications", "0"], "replications"),
    ],
)
def test_user_errors_are_one_clear_line(demo: Path, extra: list[str], expected: str) -> None:
    args = file_args(demo) if extra != [] else ["--replications", "5"]
    code, text = invoke("--lang", "en", "uncertainty", *args, *extra)
    assert code == 2, text
    assert expected in text and "Traceback" not in text
