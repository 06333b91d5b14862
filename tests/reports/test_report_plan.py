"""The top-level design document of the demo's saved plan (SYNTHETIC cities and surveys, the
ILLUSTRATIVE catalogue): every table cell against the stored plan, the needs matrix against
the survey service, the PDF's text and fonts, Word headings and tables, typed workbook cells,
English, the ``cityloop report plan`` command and refusals. The PDF is rendered once."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
import numpy as np
import pypdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.errors import InputError
from cityloop.reports import (
    BulletList,
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
from cityloop.services.plan import PlanNotFoundError, SavedPlan, plan
from cityloop.services.plan_demo import save_demo_plan
from cityloop.services.plan_view import PlanView
from cityloop.services.report_plan import (
    achieved_shares,
    plan_context,
    plan_report,
    plan_report_file,
)
from cityloop.services.report_plan_needs import evidence_frame, needs_matrix
from cityloop.services.report_plan_roadmap import budget_by_phase, moved_indicators
from cityloop.services.survey_demo import CITIZEN, ENTERPRISE, GOVERNMENT, load_demo_surveys
from cityloop.services.survey_results import candidate_applications_for
from cityloop.store import Database, Settings

FRAMEWORK = "gbt33356-2016"
YEAR = 2025
N_CITIES = 31  # the smallest demo: enough peers for ranks and percentiles
SCREENSHOTS = Path(__file__).parent.parent.parent / "docs" / "screenshots"
runner = CliRunner()


@dataclass
class Planned:
    url: str
    db: Database
    saved: SavedPlan
    zh: Document


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planned]:
    """A SQLite demo with a run, the demo surveys of its city and the demo's saved plan."""
    folder = tmp_path_factory.mktemp("report-plan")
    url = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=url, data_dir=folder))
    db.upgrade()
    store_service.load_demo(db, [FRAMEWORK], n_cities=N_CITIES, user="fixture")
    runs.evaluate_stored(db, FRAMEWORK, actor="fixture")
    sizes = {CITIZEN: 80, GOVERNMENT: 30, ENTERPRISE: 40}
    city = load_demo_surveys(db, YEAR, actor="fixture", sizes=sizes).unit
    plan_id = save_demo_plan(db, city, actor="fixture")
    assert plan_id is not None
    saved = plan(db, plan_id)
    yield Planned(url, db, saved, plan_report(db, plan_id))
    db.dispose()


@pytest.fixture(scope="module")
def pdf_text(planned: Planned, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, str]:
    """The Chinese PDF, its text, and its first two pages as the docs' page images."""
    pdf = render(planned.zh, ReportFormat.PDF)
    path = tmp_path_factory.mktemp("pdf") / "plan.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    prefix = path.parent / "page"
    subprocess.run(["pdftoppm", "-r", "60", "-f", "1", "-l", "2", "-png", str(path), str(prefix)],
                   check=True)  # fmt: skip
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for k, image in enumerate(sorted(path.parent.glob("page-*.png")), start=1):
        (SCREENSHOTS / f"report-plan-{k}.png").write_bytes(image.read_bytes())
    return pdf, text


def table(doc: Document, key: str) -> Table:
    (found,) = [b for b in doc.blocks if isinstance(b, Table) and b.key == key]
    return found


def figure(doc: Document, kind: ChartKind) -> list[Figure]:
    return [b for b in doc.blocks if isinstance(b, Figure) and b.chart.kind is kind]


def test_the_title_page_says_what_the_plan_is_and_that_it_is_illustrative(
    planned: Planned,
) -> None:
    doc, v = planned.zh, planned.saved.view
    facts = dict(doc.facts)
    assert doc.subtitle == planned.saved.name and "示意" in doc.subtitle
    assert facts["规划期"] == f"{v.first_year}—{v.first_year + 4} 年（共 5 年）"
    assert facts["求解状态"].startswith("最优") and f"{v.objective:.3f}" in facts["求解状态"]
    assert planned.saved.unit in facts["规划单位"] and "fixture" in facts["保存"]
    for words in ("示意性文档", "合成演示数据", "ILLUSTRATIVE"):
        assert words in facts["性质说明"]
    notes = [b.text for b in doc.blocks[:3] if isinstance(b, Paragraph) and b.note]
    assert any("合成演示数据" in n for n in notes)
    headings = [b.text for b in doc.blocks if isinstance(b, Heading)]
    assert headings == ["一、需求分析", "二、现状诊断", "三、规划类型侧重", "四、建设项目及评分",
                        "五、实施路线图", "六、预期指标轨迹", "七、风险提示"]  # fmt: skip


def test_project_rows_are_the_stored_plan(planned: Planned) -> None:
    v = planned.saved.view
    rows = table(planned.zh, "项目清单").rows
    assert [r[0] for r in rows] == [p.code for p in v.chosen]
    for row, p in zip(rows, v.chosen, strict=True):
        assert row[1] == p.name["zh"] and row[4:] == (
            p.total_cost,
            p.total_staff,
            p.closeness,
            p.rank,
        )
        assert row[3].startswith(str(p.start_year)) and row[3].endswith(str(p.finish_year))
    effects = table(planned.zh, "需求与成效").rows
    assert all(r[3] == "—" or "+" in r[3] for r in effects)
    assert any("（" in r[3] and "—" in r[3] for r in effects)  # likely (low—high)


def test_budget_staff_and_trajectory_are_the_stored_numbers(planned: Planned) -> None:
    doc, v = planned.zh, planned.saved.view
    years = table(doc, "逐年资源").rows
    assert [r[2:] for r in years] == [
        (u.budget_used, u.budget_available, u.staff_used, u.staff_available) for u in v.years
    ]
    stacked = figure(doc, ChartKind.STACKED)[0].chart
    per_year = np.sum([s.values for s in stacked.series], axis=0)
    np.testing.assert_allclose(per_year, [u.budget_used for u in v.years])
    assert stacked.references[0].value == v.years[0].budget_available  # one limit every year
    gantt = figure(doc, ChartKind.SPAN)[0].chart
    assert gantt.series[0].values == tuple(float(p.start_year or 0) for p in v.chosen)
    assert set(gantt.groups) == {"启动实施", "持续推进", "应用拓展"}
    trajectory = table(doc, "预期总分").rows
    assert [r[1] for r in trajectory] == [v.baseline_total, *(p.total for p in v.trajectory)]
    moved = moved_indicators(v)
    assert 0 < len(moved) < len(v.indicators)
    assert [r[2:-2] for r in table(doc, "指标轨迹").rows] == [(i.current, *i.values) for i in moved]
    phases = table(doc, "阶段").rows
    assert sum(r[3] for r in phases) == pytest.approx(sum(p.total_cost for p in v.chosen))


def test_the_needs_matrix_counts_what_each_subject_stated(planned: Planned) -> None:
    listed = candidate_applications_for(planned.db, planned.saved.unit, YEAR)
    rows = table(planned.zh, "需求分布").rows
    assert [r[0] for r in rows] == ["政府部门", "企业", "市民"]
    stated = {
        (e.subject.value, a.level.value) for a in listed.candidates for e in a.evidence
    }  # every (subject, level) the surveys produced appears with a count
    counts = {s: r[1::2] for s, r in zip(("government", "enterprise", "public"), rows, strict=True)}
    levels = ("basic", "developmental", "personalised")
    for subject, level in stated:
        wanted = sum(
            1 for a in listed.candidates for e in a.evidence
            if e.subject.value == subject and a.level.value == level
        )  # fmt: skip
        assert counts[subject][levels.index(level)] == wanted
    top = table(planned.zh, "主要需求").rows
    assert [r[4] for r in top] == [a.demand for a in listed.candidates[: len(top)]]


def test_plan_type_shares_follow_the_chosen_projects(planned: Planned) -> None:
    v = planned.saved.view
    rows = {r[0]: r for r in table(planned.zh, "类型侧重").rows}
    value = sum(p.need_value for p in v.chosen)
    livelihood = sum(p.need_value for p in v.chosen if "livelihood" in p.plan_types) / value
    assert rows["民生型"][4] == pytest.approx(livelihood)
    assert sum(r[5] for r in rows.values()) >= len(v.chosen)  # a project may have two types
    assert "主要侧重" in {r[1] for r in rows.values()}


def test_risks_name_the_binding_limits_and_the_left_out(planned: Planned) -> None:
    (risks,) = [b for b in planned.zh.blocks if isinstance(b, BulletList)][-1:]
    text = "\n".join(risks.items)
    v = planned.saved.view
    staff = [b for b in v.binding if b.resource == "staff"]
    if staff:
        assert f"人力上限在 {len(staff)} 个" in text and str(staff[0].year) in text
    assert f"{len(v.left_out)} 个候选项目未入选" in text
    assert "稳健性" in text and "倍" in text


def test_pdf_holds_the_stored_numbers_in_an_embedded_cjk_font(
    planned: Planned, pdf_text: tuple[bytes, str]
) -> None:
    # one test for the one PDF: xdist would render it again for a test on another worker
    pdf, text = pdf_text
    flat = "".join(text.split())
    v = planned.saved.view
    assert "顶层设计方案" in flat and "合成演示数据" in flat and "\ufffd" not in text
    for p in v.chosen:
        assert p.code in flat, p.code
    names = ["".join(p.name["zh"].split()) for p in v.chosen]
    assert sum(n in flat for n in names) >= len(names) - 2  # a wrapped table cell may split one
    assert f"{sum(p.total_cost for p in v.chosen):,.1f}" in flat
    assert f"目标值{v.objective:.3f}" in flat
    for u in v.years:
        assert f"{u.budget_used:,.1f}" in flat
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    embedded = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor and any(
                    k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    embedded.add(str(font["/BaseFont"]))
    assert any("CJK" in name for name in embedded), embedded
    assert (SCREENSHOTS / "report-plan-2.png").stat().st_size > 1000


def test_word_has_the_chapters_and_the_project_table(planned: Planned) -> None:
    word = docx.Document(io.BytesIO(render(planned.zh, ReportFormat.DOCX)))
    headings = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
    assert headings[0] == "一、需求分析" and headings[-1] == "七、风险提示" and len(headings) == 7
    assert len(word.tables) == sum(1 for _ in planned.zh.tables())
    projects = next(t for t in word.tables if t.rows[0].cells[0].text == "编码"
                    and t.rows[0].cells[1].text == "项目")  # fmt: skip
    first = planned.saved.view.chosen[0]
    assert [c.text for c in projects.rows[1].cells][:2] == [first.code, first.name["zh"]]
    assert projects.rows[1].cells[4].text == f"{first.total_cost:,.1f}"


def test_the_workbook_has_every_table_with_the_stored_numbers(planned: Planned) -> None:
    book = load_workbook(io.BytesIO(render(planned.zh, ReportFormat.XLSX)))
    keys = [t.key for _, t in planned.zh.tables()]
    assert book.sheetnames == ["README", *keys]
    sheet = book["项目清单"]
    v = planned.saved.view
    rows = list(sheet.iter_rows(min_row=3, max_row=2 + len(v.chosen)))
    assert [r[0].value for r in rows] == [p.code for p in v.chosen]
    assert [r[4].value for r in rows] == [p.total_cost for p in v.chosen]
    assert sheet.cell(3 + len(v.chosen), 1).value is None  # then the note
    years = book["逐年资源"]
    assert [r[2].value for r in years.iter_rows(min_row=3)] == [u.budget_used for u in v.years]


def test_english_document(planned: Planned) -> None:
    doc = plan_report(planned.db, planned.saved.id, lang="en")
    assert doc.lang == "en" and doc.title.startswith("Top-level design")
    headings = [b.text for b in doc.blocks if isinstance(b, Heading)]
    assert headings[0] == "1 Needs analysis" and headings[-1] == "7 Risks"
    assert table(doc, "Projects").rows[0][1] == planned.saved.view.chosen[0].name["en"]
    assert "synthetic demo data" in dict(doc.facts)["Nature of this document"]
    html = render(doc, ReportFormat.HTML).decode("utf-8")
    assert 'lang="en"' in html and "Roadmap (coloured by phase)" in html


def test_unknown_plan_and_bad_format_are_refused(planned: Planned) -> None:
    with pytest.raises(PlanNotFoundError):
        plan_report(planned.db, 999_999)
    with pytest.raises(InputError, match="odt"):
        plan_report_file(planned.db, planned.saved.id, "odt")
    with pytest.raises(InputError, match="fr"):
        plan_report_file(planned.db, planned.saved.id, "xlsx", lang="fr")


def test_the_cli_writes_the_document_and_refuses_an_unknown_plan(
    planned: Planned, tmp_path: Path
) -> None:
    env = {"CITYLOOP_DATABASE_URL": planned.url, "COLUMNS": "200"}
    out = tmp_path / "设计.xlsx"
    args = ["report", "plan", str(planned.saved.id), "--format", "xlsx", "--out", str(out)]
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 0, done.output
    assert str(out) in done.output.replace("\n", "")
    sheet = load_workbook(out)["项目清单"]
    assert sheet["A3"].value == planned.saved.view.chosen[0].code
    english = runner.invoke(app, [*args[:5], "--lang", "en", "--out", str(out)], env=env)
    assert english.exit_code == 0 and "Projects" in load_workbook(out).sheetnames
    missing = runner.invoke(app, ["report", "plan", "999999", "--out", str(out)], env=env)
    assert missing.exit_code == 2 and "999999" in missing.output
    assert "Traceback" not in missing.output


# -- the pure parts, on schedules hypothesis makes up ---------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4),
                          st.lists(st.floats(0, 5000), min_size=1, max_size=3)),
                min_size=1, max_size=8))  # fmt: skip
def test_budget_by_phase_spends_each_cost_in_its_year(
    stored: PlanView, projects: list[tuple[int, int, list[float]]]
) -> None:
    template = stored.chosen[0]
    rows = [
        template.model_copy(update={"code": f"p{k}", "phase": stored.phase_names[phase],
                                    "start_year": stored.first_year + start, "cost": cost,
                                    "chosen": True})
        for k, (phase, start, cost) in enumerate(projects)
    ]  # fmt: skip
    view = stored.model_copy(update={"projects": rows})
    spent = budget_by_phase(view)
    horizon = len(stored.years)
    inside = sum(
        c for _, start, cost in projects for y, c in enumerate(cost) if start + y < horizon
    )
    assert spent.to_numpy().sum() == pytest.approx(inside)
    for k, name in enumerate(stored.phase_names):
        mine = sum(sum(cost) for phase, _, cost in projects if phase == k)
        assert spent.loc[name].sum() <= mine + 1e-6


@pytest.fixture(scope="module")
def stored(planned: Planned) -> PlanView:
    return planned.saved.view


def test_shares_and_matrix_of_an_empty_survey_are_well_formed(planned: Planned) -> None:
    shares = achieved_shares(plan_context(planned.db, planned.saved, "zh-CN"))
    assert all(0 <= s <= 1 for s in shares.values()) and max(shares.values()) > 0
    listed = candidate_applications_for(planned.db, planned.saved.unit, 1990)
    count, share = needs_matrix(evidence_frame(listed))
    assert count.to_numpy().sum() == 0 and share.isna().all().all()
