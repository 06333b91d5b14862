"""The whole loop end to end on synthetic data (SQLite): one ``cityloop demo-loop --json`` run
shared by the assertions, each step checked against what the scenario planted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.cli.demo_loop import print_steps
from cityloop.errors import CityLoopError
from cityloop.i18n import t, use_language
from cityloop.reports import ChartKind, Figure, ReportFormat, Table, render
from cityloop.services.demo_loop import (
    EMPTY,
    EMPTY_VERDICTS,
    GOOD,
    LAGGARDS,
    OVER_BUDGET,
    PILOTED,
    SUBSTITUTE,
    LoopResult,
    run_demo_loop,
)
from cityloop.services.outcomes import outcome_report
from cityloop.services.report_supervision import supervision_report
from cityloop.services.supervision import supervision_dashboard
from cityloop.services.supervision_view import index_text
from cityloop.store import Database, Settings


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-loop")


@pytest.fixture(scope="module")
def loop(folder: Path) -> LoopResult:
    out = CliRunner().invoke(app, ["demo-loop", "--folder", str(folder), "--json"])
    assert out.exit_code == 0, out.output
    return LoopResult.model_validate(json.loads(out.stdout))


def test_step1_the_city_is_evaluated(loop: LoopResult) -> None:
    b = loop.baseline
    assert (b.city, b.year, b.ranked) == ("440100", 2025, 62)
    assert 0 < b.score <= 100 and 1 <= b.rank <= b.ranked and b.stage


def test_step2_the_surveys_state_needs(loop: LoopResult) -> None:
    n = loop.needs
    assert n.surveys == 4 and n.candidates > 5 and len(n.top) == 5
    demands = [d for _, d in n.top]
    assert demands == sorted(demands, reverse=True) and demands[0] > 0


def test_step3_an_optimal_plan_within_budget(loop: LoopResult) -> None:
    p = loop.plan
    assert p.status == "optimal" and p.within_budget and p.first_year == 2026
    assert {*LAGGARDS, OVER_BUDGET, EMPTY} <= set(p.phase_one)
    assert p.piloted_start is not None and p.piloted_start >= 2028  # a later phase


def test_step4_the_projects_run_with_their_planted_roles(loop: LoopResult) -> None:
    b = loop.build
    assert b.tracked == loop.plan.chosen
    assert OVER_BUDGET in b.delivered and EMPTY in b.delivered
    assert not set(LAGGARDS) & set(b.delivered) and b.pilots


def test_step5_the_second_evaluation_sees_the_planted_effects(loop: LoopResult) -> None:
    s = loop.second
    assert s.years == [2026, 2027, 2028, 2029] and s.year == 2029 and s.rows > 10_000
    assert s.run_id != loop.baseline.run_id
    assert all(EMPTY not in p.projects for p in s.planted)  # nothing planted for it
    assert any(p.reached > 0.5 * p.planted for p in s.planted)


def test_step6_warnings_fire_exactly_on_the_planted_cases(loop: LoopResult) -> None:
    w = loop.supervision
    assert w.delayed == sorted(LAGGARDS)
    assert w.overspent == [OVER_BUDGET]
    assert set(w.warnings) == {*LAGGARDS, OVER_BUDGET}
    assert EMPTY in w.quiet and not set(w.quiet) & set(w.warnings)


def test_step7_the_assessment_finds_the_empty_project(loop: LoopResult) -> None:
    a = loop.assessment
    assert a.verdicts[EMPTY] in EMPTY_VERDICTS
    good = [code for code, v in a.verdicts.items() if v in GOOD]
    assert good, a.verdicts
    planted = {p.indicator: p.reached for p in loop.second.planted}
    covered = [
        (code, ind)
        for code in good
        for ind, _, low, high in a.estimates[code]
        if ind in planted and low <= planted[ind] <= high
    ]
    assert covered, (a.estimates, planted)
    assert set(LAGGARDS) <= set(a.skipped)  # not delivered: nothing to measure yet
    # the pilots planted nothing: none looks delivered, and at least one is judged empty (one
    # city's interval may still hold both zero and the promise: inconclusive)
    pilots = set(a.pilot_verdicts.values())
    assert pilots and not pilots & {v.value for v in GOOD}
    assert pilots & {v.value for v in EMPTY_VERDICTS}


def test_step8_feedback_changes_the_next_plan(loop: LoopResult) -> None:
    n = loop.next_plan
    assert n.changes >= 1
    before, after = n.piloted_before, n.piloted_after
    assert after[1] < 0.8 * before[1] and after[2] < before[2], (PILOTED, before, after)
    # the same revision, solved before and after the feedback: the piloted project is chosen
    # on its promise and dropped on the pilots' evidence; a project for the same indicator
    # (utility_payments, on L1P7-A1) takes its place
    assert PILOTED in n.without_feedback and PILOTED not in n.with_feedback
    assert PILOTED in n.dropped and SUBSTITUTE in n.added
    assert set(LAGGARDS) <= set(n.with_feedback) and set(LAGGARDS) <= set(n.without_feedback)


def test_a_database_with_data_is_refused(loop: LoopResult, folder: Path) -> None:
    out = CliRunner().invoke(app, ["demo-loop", "--folder", str(folder)])
    assert out.exit_code == 2 and "demo-loop" not in out.stdout
    db = Database.open(Settings(database_url=f"sqlite:///{folder / 'cityloop.db'}"))
    try:
        with pytest.raises(CityLoopError, match=r"空数据库|empty"):
            run_demo_loop(db)
    finally:
        db.dispose()


def test_the_printed_walk_through_names_every_step(
    loop: LoopResult, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with use_language("en"):
        print_steps(loop, folder / "cityloop.db")
    printed = capsys.readouterr().out
    for k in range(1, 9):
        assert f"{k}. " in printed
    assert "SYNTHETIC" in printed and loop.baseline.city in printed and PILOTED in printed


SCREENSHOTS = Path(__file__).parent.parent.parent / "docs" / "screenshots"


def test_step9_the_supervision_bulletin(loop: LoopResult, folder: Path) -> None:
    """The bulletin of the loop's programme warns on exactly the planted projects, quotes the
    assessment's verdicts and prints them; its first two PDF pages are the docs' images."""
    city, day = loop.baseline.city, loop.supervision.status_date
    db = Database.open(Settings(database_url=f"sqlite:///{folder / 'cityloop.db'}"))
    try:
        doc = supervision_report(db, city, day)
        board = supervision_dashboard(db, city, day)
        report = outcome_report(db, loop.assessment.report_id, unit=city)
    finally:
        db.dispose()
    tables = {b.key: b for b in doc.blocks if isinstance(b, Table)}
    warned = tables["预警"].rows
    assert {r[0] for r in warned if r[2] == "进度滞后"} == set(LAGGARDS)
    assert {r[0] for r in warned if r[2] == "超支"} == {OVER_BUDGET}
    verdicts = {r[0]: r[5] for r in tables["成效项目"].rows}
    assert verdicts == {p.code: t(p.verdict.label_key, "zh-CN") for p in report.projects}
    assert verdicts[EMPTY] in {t(v.label_key, "zh-CN") for v in EMPTY_VERDICTS}
    effects = [(r[0], r[5], r[6], r[7]) for r in tables["测得效果"].rows]
    assert effects == [(p.code, i.estimate, i.ci_low, i.ci_high)
                       for p in report.projects for i in p.indicators]  # fmt: skip
    (forest,) = [b.chart for b in doc.blocks
                 if isinstance(b, Figure) and b.chart.kind is ChartKind.SPAN]  # fmt: skip
    assert forest.series[2].values == tuple(e[1] for e in effects)
    path = folder / "bulletin.pdf"
    path.write_bytes(render(doc, ReportFormat.PDF))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    flat = "".join(text.split())
    assert board.total is not None and f"SPI为{index_text(board.total.spi)}" in flat
    assert f"CPI为{index_text(board.total.cpi)}" in flat and day.isoformat() in flat
    assert "合成演示数据" in flat and "\ufffd" not in text
    names = {p.code: "".join(p.name.split()) for p in board.projects}
    for code in (*LAGGARDS, OVER_BUDGET):
        assert code in flat and names[code] in flat, code
    subprocess.run(["pdftoppm", "-r", "60", "-f", "1", "-l", "2", "-png", str(path),
                    str(folder / "bulletin")], check=True)  # fmt: skip
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for k, image in enumerate(sorted(folder.glob("bulletin-*.png")), start=1):
        (SCREENSHOTS / f"report-supervision-{k}.png").write_bytes(image.read_bytes())
    assert (SCREENSHOTS / "report-supervision-2.png").stat().st_size > 1000
