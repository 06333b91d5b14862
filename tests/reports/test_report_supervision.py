"""The supervision bulletin of a SYNTHETIC programme (the demo plan tracked, progress simulated: one
project late, one over budget, an outcome report with nothing measurable yet): every table cell
against the dashboard, the S-curve and the stored outcome report, Word headings and tables,
typed workbook cells, English, the ``cityloop report supervision`` command and refusals.

The PDF, its text and the page images are made once from the demo loop's programme
(tests/services/test_demo_loop.py), where the outcome report holds measured effects.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import docx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from cityloop.accounts import Principal, Role
from cityloop.cli import app
from cityloop.errors import InputError
from cityloop.reports import (
    ChartKind,
    Document,
    Figure,
    Heading,
    Paragraph,
    ReportFormat,
    Table,
    render,
)
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.services.demo_loop_steps import OVERSPEND, simulate_progress
from cityloop.services.outcomes import (
    OutcomeReport,
    OutcomeReportNotFoundError,
    assess_outcomes,
)
from cityloop.services.plan_demo import save_demo_plan
from cityloop.services.report_supervision import (
    STATES,
    project_states,
    supervision_report,
    supervision_report_file,
)
from cityloop.services.report_supervision_sections import index_cell
from cityloop.services.site import first_city
from cityloop.services.supervision import Dashboard, supervision_dashboard, track_plan
from cityloop.services.supervision_view import SCurve, index_text, money_text, s_curve
from cityloop.store import Database, Settings

FRAMEWORK = "gbt33356-2016"
N_CITIES = 31
STATUS = date(2027, 12, 31)  # the end of the demo plan's first phase
runner = CliRunner()


@dataclass
class Programme:
    url: str
    db: Database
    city: str
    other: str  # a city with an outcome report of its own and nothing tracked
    late: str
    overspent: str
    board: Dashboard
    curve: SCurve
    outcome: OutcomeReport
    zh: Document


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Programme]:
    folder = tmp_path_factory.mktemp("report-supervision")
    url = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=url, data_dir=folder))
    db.upgrade()
    store_service.load_demo(db, [FRAMEWORK], n_cities=N_CITIES, user="fixture")
    runs.evaluate_stored(db, FRAMEWORK, actor="fixture")
    city = first_city(db)
    plan_id = save_demo_plan(db, city, actor="fixture")
    assert plan_id is not None
    track_plan(db, plan_id, actor="fixture")
    manager = Principal("fixture", Role.PROJECT_MANAGER, scope=None)
    started = [p for p in db.tracking.projects(city) if p.record.start_date <= STATUS]
    late, overspent = started[0].record.code, started[1].record.code
    for p in started:
        factor = OVERSPEND if p.record.code == overspent else 1.0
        simulate_progress(db, p, manager, STATUS, late=p.record.code == late, spend_factor=factor)
    outcome = assess_outcomes(db, city, actor="fixture", as_of=STATUS)
    units = db.units()
    assert units is not None
    other = next(c for c in units.of_level("city") if c != city)
    assess_outcomes(db, other, actor="fixture", as_of=STATUS)
    yield Programme(url, db, city, other, late, overspent,
                    supervision_dashboard(db, city, STATUS), s_curve_of(db, city),
                    outcome, supervision_report(db, city, STATUS))  # fmt: skip
    db.dispose()


def s_curve_of(db: Database, city: str) -> SCurve:
    curve = s_curve(db, city, STATUS)
    assert curve is not None
    return curve


def table(doc: Document, key: str) -> Table:
    (found,) = [b for b in doc.blocks if isinstance(b, Table) and b.key == key]
    return found


def cell(value: float) -> float | str | None:
    """An index as the bulletin writes it: the number, ∞, or blank where undefined."""
    return "∞" if math.isinf(value) else None if math.isnan(value) else value


def test_the_title_page_names_the_programme_and_says_it_is_synthetic(programme: Programme) -> None:
    doc = programme.zh
    facts = dict(doc.facts)
    assert (
        doc.title.endswith("新型智慧城市建设监督通报")
        and doc.subtitle == "截至 2027-12-31 的项目建设情况"
    )
    assert programme.city in facts["城市"] and facts["状态日期"] == "2027-12-31"
    assert "示意规划" in facts["跟踪的规划"] and "#1" in facts["跟踪的规划"]
    assert facts["跟踪项目数"] == str(len(programme.board.projects))
    assert facts["成效评估报告"] == f"#{programme.outcome.id}（评估截至 2027-12-31）"
    assert "合成演示数据" in facts["性质说明"] and "不代表任何真实城市" in facts["性质说明"]
    notes = [b.text for b in doc.blocks[:3] if isinstance(b, Paragraph) and b.note]
    assert any("合成演示数据" in n for n in notes)
    headings = [b.text for b in doc.blocks if isinstance(b, Heading) and b.level == 1]
    assert headings == ["一、建设总体情况", "二、预警与边界检查", "三、挣值分析", "四、成效评估"]


def test_programme_status_is_the_dashboards(programme: Programme) -> None:
    board, doc = programme.board, programme.zh
    f = board.total
    assert f is not None
    summary = next(b.text for b in doc.blocks if isinstance(b, Paragraph) and "BAC" in b.text)
    for value in (f.bac, f.pv, f.ev, f.ac, f.eac, f.vac):
        assert f"{money_text(value)} 万元" in summary
    assert f"SPI 为 {index_text(f.spi)}" in summary and f"CPI 为 {index_text(f.cpi)}" in summary
    states = project_states(board)
    assert states[programme.late] == "late" and states[programme.overspent] != "late"
    counts = {r[0]: r[1] for r in table(doc, "建设状态").rows}
    assert sum(counts.values()) == len(board.projects)
    assert counts == {n: list(states.values()).count(s) for n, s in
                      zip(("未开工", "实施中", "已完成", "滞后"), STATES, strict=True)}  # fmt: skip
    lights = table(doc, "信号灯").rows
    groups = [*board.phases, *board.domains]
    assert [r[0] for r in lights] == ["按阶段"] * len(board.phases) + ["按领域"] * len(
        board.domains
    )
    assert [r[1] for r in lights[:3]] == ["启动实施", "持续推进", "应用拓展"]  # the plan's order
    words = {"red": "红（需整改）", "amber": "黄（需关注）", "green": "绿（正常）"}
    assert [(r[2], r[3], r[4], r[5]) for r in lights] == [
        (words[g.light], g.projects, g.red, g.amber) for g in groups
    ]
    assert lights[0][2] != "绿（正常）"  # the first phase holds the late and the overspent


def test_every_warning_and_boundary_flag_is_listed_with_its_evidence(programme: Programme) -> None:
    board, doc = programme.board, programme.zh
    rows = table(doc, "预警").rows
    assert [(r[0], r[4]) for r in rows] == [(w.project, w.message) for w in board.warnings]
    kinds = {(r[0], r[2]) for r in rows}
    assert (programme.late, "进度滞后") in kinds and (programme.overspent, "超支") in kinds
    assert {r[0] for r in rows} == {programme.late, programme.overspent}
    flags = table(doc, "边界检查").rows
    assert [(r[0], r[3]) for r in flags] == [(b.project, b.message) for b in board.boundary]
    spending = table(doc, "支出结构").rows
    assert [r[1:4] for r in spending] == [
        (s.infrastructure, s.citizen, s.other) for s in board.spending
    ]
    assert [r[4] for r in spending] == [cell(s.ratio) for s in board.spending]


def test_earned_value_tables_and_the_s_curve_are_the_dashboards(programme: Programme) -> None:
    board, doc, curve = programme.board, programme.zh, programme.curve

    def figures(f: object) -> tuple[object, ...]:
        return tuple(cell(getattr(f, k)) if k in ("spi", "cpi") else getattr(f, k)
                     for k in ("bac", "pv", "ev", "ac", "spi", "cpi", "eac", "vac"))  # fmt: skip

    phases = table(doc, "阶段挣值").rows
    assert [r[1:] for r in phases] == [(g.projects, *figures(g.figures)) for g in board.phases]
    domains = table(doc, "领域挣值").rows
    assert [r[1:] for r in domains] == [(g.projects, *figures(g.figures)) for g in board.domains]
    projects = table(doc, "项目挣值").rows
    assert [r[3:] for r in projects] == [figures(p.figures) for p in board.projects]
    assert sum(r[3] for r in projects) == pytest.approx(board.total.bac)  # type: ignore[union-attr]
    (chart,) = [
        b.chart for b in doc.blocks if isinstance(b, Figure) and b.chart.kind is ChartKind.LINE
    ]
    assert [s.values for s in chart.series] == [tuple(curve.pv), tuple(curve.ev), tuple(curve.ac)]
    assert chart.categories[-1] >= "2030" and "2027-12-31" in chart.categories
    assert chart.references[0].value == curve.bac


def test_the_outcome_chapter_is_the_stored_report(programme: Programme) -> None:
    doc, report = programme.zh, programme.outcome
    assert not report.projects and report.skipped  # nothing delivered long enough ago
    skipped = table(doc, "未评估").rows
    assert [(r[0], r[3]) for r in skipped] == [(s.code, s.message) for s in report.skipped]
    texts = [b.text for b in doc.blocks if isinstance(b, Paragraph)]
    assert f"成效评估报告 #{report.id}" in "".join(texts) and "没有可测量的已交付项目" in "".join(
        texts
    )
    # another city's report is refused; a city with nothing says so plainly
    with pytest.raises(OutcomeReportNotFoundError):
        supervision_report(programme.db, programme.city, STATUS, outcome_id=report.id + 1)
    units = programme.db.units()
    assert units is not None
    empty = next(c for c in units.of_level("city") if c not in (programme.city, programme.other))
    blank = supervision_report(programme.db, empty, STATUS)
    words = "".join(b.text for b in blank.blocks if isinstance(b, Paragraph))
    assert "尚未跟踪任何项目" in words and "尚未对该城市进行成效评估" in words
    assert not any(isinstance(b, Table) for b in blank.blocks) and "性质说明" not in dict(
        blank.facts
    )


def test_word_has_the_chapters_and_the_warning_table(programme: Programme) -> None:
    word = docx.Document(io.BytesIO(render(programme.zh, ReportFormat.DOCX)))
    headings = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、建设总体情况", "二、预警与边界检查", "三、挣值分析", "四、成效评估"]
    assert len(word.tables) == sum(1 for _ in programme.zh.tables())
    warnings = next(t for t in word.tables if [c.text for c in t.rows[0].cells][-1:] == ["依据"])
    first = programme.board.warnings[0]
    assert [c.text for c in warnings.rows[1].cells][0::4] == [first.project, first.message]


def test_the_workbook_cells_are_the_dashboards_numbers(programme: Programme) -> None:
    book = load_workbook(io.BytesIO(render(programme.zh, ReportFormat.XLSX)))
    assert book.sheetnames == ["README", *(t.key for _, t in programme.zh.tables())]
    sheet = book["项目挣值"]
    board = programme.board
    rows = list(sheet.iter_rows(min_row=3, max_row=2 + len(board.projects), values_only=True))
    assert [r[3:7] for r in rows] == [
        (p.figures.bac, p.figures.pv, p.figures.ev, p.figures.ac) for p in board.projects
    ]
    assert [r[7] for r in rows] == [cell(p.figures.spi) for p in board.projects]
    phases = book["阶段挣值"]
    assert phases["C3"].value == board.phases[0].figures.bac
    assert phases["C3"].number_format == "#,##0.0"


def test_english_bulletin(programme: Programme) -> None:
    doc = supervision_report(programme.db, programme.city, STATUS, lang="en")
    assert doc.lang == "en" and doc.title.startswith("Supervision bulletin")
    headings = [b.text for b in doc.blocks if isinstance(b, Heading) and b.level == 1]
    assert headings == ["1 Programme status", "2 Early warnings and boundary checks",
                        "3 Earned value", "4 Outcome assessment"]  # fmt: skip
    assert "synthetic demo data" in dict(doc.facts)["Nature of this document"]
    rows = table(doc, "Warnings").rows
    assert {r[2] for r in rows} >= {"Delay", "Overspend"}
    assert table(doc, "Lights").rows[0][0] == "by phase"
    html = render(doc, ReportFormat.HTML).decode("utf-8")
    assert 'lang="en"' in html and "S-curve" in html and "red (Needs action)" in html


def test_bad_requests_are_refused_before_anything_is_written(programme: Programme) -> None:
    with pytest.raises(InputError, match="odt"):
        supervision_report_file(programme.db, programme.city, STATUS, "odt")
    with pytest.raises(InputError, match="fr"):
        supervision_report_file(programme.db, programme.city, STATUS, "xlsx", lang="fr")
    with pytest.raises(InputError, match="999999"):
        supervision_report(programme.db, "999999", STATUS)


def test_the_cli_writes_the_bulletin_and_refuses_bad_input(
    programme: Programme, tmp_path: Path
) -> None:
    env = {"CITYLOOP_DATABASE_URL": programme.url, "COLUMNS": "200"}
    out = tmp_path / "通报.xlsx"
    args = ["report", "supervision", programme.city, "--as-of", "2027-12-31", "--format", "xlsx"]
    done = runner.invoke(app, [*args, "--out", str(out)], env=env)
    assert done.exit_code == 0, done.output
    assert str(out) in done.output.replace("\n", "")
    first = programme.board.projects[0]
    assert load_workbook(out)["项目挣值"]["D3"].value == first.figures.bac
    english = runner.invoke(app, [*args, "--lang", "en", "--out", str(out)], env=env)
    assert english.exit_code == 0 and "EV by project" in load_workbook(out).sheetnames
    for bad, shown in ((["--as-of", "31.12.2027"], "31.12.2027"),
                       (["--outcome", str(programme.outcome.id + 1)], programme.city),
                       (["--format", "odt"], "odt")):  # fmt: skip
        refused = runner.invoke(app, [*args[:3], *bad, "--out", str(out)], env=env)
        assert refused.exit_code == 2, (bad, refused.output)
        assert shown in refused.output and "Traceback" not in refused.output
    missing = runner.invoke(app, ["report", "supervision", "999999", "--out", str(out)], env=env)
    assert missing.exit_code == 2 and "999999" in missing.output


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_an_index_cell_is_the_number_or_says_why_not(value: float) -> None:
    written = index_cell(value)
    if math.isnan(value):
        assert written is None
    elif math.isinf(value):
        assert written == "∞" == index_text(value)
    else:
        assert written == value and index_text(value) == f"{value:.2f}"
