"""The city evaluation report on the synthetic demo with surveys: every number in its tables and
sentences equals the engine's (overview, run scores, uncertainty, survey), in each format."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
import pandas as pd
import pypdf
import pytest
from openpyxl import load_workbook

from cityloop.errors import CityLoopError
from cityloop.evaluation.result import TOTAL
from cityloop.reports import Document, Heading, ReportFormat, Table, render
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.services.dashboard import city_overview
from cityloop.services.report_city import ROBUSTNESS_SPEC, city_report
from cityloop.services.survey_demo import CITIZEN, ENTERPRISE, GOVERNMENT, load_demo_surveys
from cityloop.services.survey_results import analyse_survey, list_surveys
from cityloop.services.uncertainty import analyse_run
from cityloop.store import Database, Settings

FRAMEWORK = "gbt33356-2016"
YEAR = 2025
SIZES = {CITIZEN: 120, GOVERNMENT: 40, ENTERPRISE: 60}
SCREENSHOTS = Path(__file__).parent.parent.parent / "docs" / "screenshots"
CHAPTERS_ZH = [
    "一、总体情况",
    "二、分维度分析",
    "三、优势与短板",
    "四、排名稳健性",
    "五、市民体验",
    "六、改进建议",
    "附录 指标原始值",
]


@dataclass
class Demo:
    db: Database
    run_id: int
    city: str
    zh: Document
    en: Document


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("report-city")
    db = Database.open(Settings(database_url=f"sqlite:///{folder / 'db.sqlite'}"))
    db.upgrade()
    store_service.load_demo(db, [FRAMEWORK], n_cities=62, user="fixture")
    run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="fixture")
    city = load_demo_surveys(db, YEAR, actor="fixture", sizes=SIZES).unit
    zh = city_report(db, city, run_id=run_id)
    en = city_report(db, city, run_id=run_id, lang="en")
    yield Demo(db, run_id, city, zh, en)
    db.dispose()


@pytest.fixture(scope="module")
def pdf_text(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, str]:
    pdf = render(demo.zh, ReportFormat.PDF)
    path = tmp_path_factory.mktemp("pdf") / "city.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    page_images(path, "report-city")
    return pdf, text


def page_images(pdf: Path, name: str) -> None:
    """The first two pages as the images of docs/reports.md (``name``-1.png, ``name``-2.png);
    pdftoppm pads the page number to the page count's digits, so its files are renamed."""
    subprocess.run(
        ["pdftoppm", "-r", "60", "-f", "1", "-l", "2", "-png", str(pdf), str(pdf.with_suffix(""))],
        check=True,
    )
    pages = sorted(pdf.parent.glob(f"{pdf.stem}-*.png"))
    for k, page in enumerate(pages, start=1):
        shutil.copyfile(page, SCREENSHOTS / f"{name}-{k}.png")


def table(doc: Document, key: str) -> Table:
    return next(tb for _, tb in doc.tables() if tb.key == key)


def test_headline_and_dimension_figures_are_the_engines(demo: Demo) -> None:
    o = city_overview(demo.db, demo.city, None, run_id=demo.run_id, year=YEAR)
    stored = demo.db.run_scores(demo.run_id, max_level=2)
    year = stored[stored["year"] == YEAR]
    own = year[year["unit"] == demo.city].set_index("node")
    total = own.loc[TOTAL]
    (headline,) = table(demo.zh, "总体情况").rows
    assert headline[0] == pytest.approx(total["score"]) and headline[2] == total["rank"]
    assert headline[3] == total["ranked"] and headline[4] == pytest.approx(total["change"])
    assert headline[1] == o.stage_name
    dims = table(demo.zh, "分维度得分")
    medians = year[year["level"] > 0].groupby("node")["score"].median()
    for code, _, score, rank, ranked, median, best in dims.rows:
        assert score == pytest.approx(own.at[code, "score"]) and rank == own.at[code, "rank"]
        assert ranked == own.at[code, "ranked"] and median == pytest.approx(medians[code])
        assert best == pytest.approx(next(d.best for d in o.dimensions if d.code == code))
    summary = next(b.text for b in demo.zh.blocks if getattr(b, "text", "").startswith("2025"))
    assert f"{total['score']:,.2f} 分" in summary
    assert f"排名第 {total['rank']} 位" in summary and f"{total['ranked']} 个参评城市" in summary


def test_robustness_is_the_uncertainty_analysis_with_the_fixed_spec(demo: Demo) -> None:
    spec = ROBUSTNESS_SPEC.model_copy(update={"year": YEAR})
    summary = analyse_run(demo.db, demo.run_id, spec).summary()
    own = summary[summary["unit"] == demo.city].iloc[0]
    (row,) = table(demo.zh, "排名稳健性").rows
    assert row[0] == own["point_rank"] and (row[2], row[3]) == (own["rank_p05"], own["rank_p95"])
    assert row[4] == pytest.approx(own["p_top_k"]) and row[5] == pytest.approx(
        own["p_stage_change"]
    )
    text = " ".join(b.text for b in demo.zh.blocks if hasattr(b, "text") and "随机种子" in b.text)
    assert f"{spec.replications} 次" in text and str(spec.seed) in text


def test_citizen_chapter_is_the_latest_citizen_survey(demo: Demo) -> None:
    latest = max(
        (s for s in list_surveys(demo.db, demo.city) if s.row.questionnaire_id == CITIZEN),
        key=lambda s: s.row.year,
    )
    analysis = analyse_survey(demo.db, latest.row.id).analysis
    assert analysis is not None
    e = analysis.experience_score
    text = next(b.text for b in demo.zh.blocks if hasattr(b, "text") and "市民体验得分" in b.text)
    assert f"{e.value:,.2f} 分" in text and f"{e.low:,.2f}–{e.high:,.2f}" in text
    indices = table(demo.zh, "市民体验")
    assert indices.rows and all(low <= value <= high for _, value, low, high, _ in indices.rows)


def test_recommendations_and_appendix_come_from_the_stored_values(demo: Demo) -> None:
    o = city_overview(demo.db, demo.city, None, run_id=demo.run_id, year=YEAR)
    recommended = table(demo.zh, "建议")
    assert [r[0] for r in recommended.rows] == [w.code for w in o.weakest]
    values = demo.db.values_frame(FRAMEWORK, [YEAR])
    own = values[values["unit"] == demo.city].set_index("indicator")
    appendix = {r[0]: r for r in table(demo.zh, "指标原始值").rows}
    for code, value in own["value"].items():
        assert appendix[str(code)][2] == pytest.approx(value)
        assert appendix[str(code)][5] == own.at[code, "source"]
    # Indicators the city did not report are listed with no value, never a made-up one.
    assert all(r[2] is None for c, r in appendix.items() if c not in own.index)


def test_the_title_page_says_the_data_are_synthetic(demo: Demo) -> None:
    assert ("数据说明", "合成演示数据，非任何真实城市") in demo.zh.facts
    assert dict(demo.zh.facts)["评价运行"].startswith(f"第 {demo.run_id} 号运行")
    assert "synthetic" in demo.en.blocks[0].text.lower()  # type: ignore[union-attr]


def test_pdf_holds_the_numbers_headings_and_embedded_cjk_font(pdf_text: tuple[bytes, str]) -> None:
    pdf, text = pdf_text
    for heading in CHAPTERS_ZH:
        assert heading in text, heading
    assert "合成演示数据" in text and "\ufffd" not in text
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    fonts = {
        str(f.get_object()["/BaseFont"])
        for page in reader.pages
        for f in page["/Resources"]["/Font"].values()
    }
    assert any("CJK" in f for f in fonts), fonts
    assert (SCREENSHOTS / "report-city-1.png").exists()


def test_pdf_numbers_match_the_overview(demo: Demo, pdf_text: tuple[bytes, str]) -> None:
    o = city_overview(demo.db, demo.city, None, run_id=demo.run_id, year=YEAR)
    text = " ".join(pdf_text[1].split())
    assert o.name in text and f"{o.total:,.2f}" in text
    assert f"排名第 {o.rank} 位" in text


def test_docx_has_chapter_headings_and_the_tables(demo: Demo) -> None:
    word = docx.Document(io.BytesIO(render(demo.zh, ReportFormat.DOCX)))
    chapters = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
    assert chapters == CHAPTERS_ZH
    assert len(word.tables) == len(list(demo.zh.tables()))
    first = word.tables[0]
    assert [c.text for c in first.rows[0].cells][:3] == ["总分", "发展阶段", "全国排名"]
    (headline,) = table(demo.zh, "总体情况").texts()
    assert [c.text for c in first.rows[1].cells] == headline


def test_workbook_has_a_sheet_per_table_with_the_numbers(demo: Demo) -> None:
    book = load_workbook(io.BytesIO(render(demo.zh, ReportFormat.XLSX)))
    assert {"总体情况", "分维度得分", "排名稳健性", "指标原始值"} <= set(book.sheetnames)
    (headline,) = table(demo.zh, "总体情况").rows
    assert [c.value for c in book["总体情况"][3]][:4] == list(headline[:4])


def test_english_report_has_english_headings_and_the_same_numbers(demo: Demo) -> None:
    headings = [b.text for b in demo.en.blocks if isinstance(b, Heading) and b.level == 1]
    assert headings[0] == "1 Summary" and headings[-1] == "Appendix: indicator values"
    assert all(not any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in headings)
    zh_tables = [tb.rows for _, tb in demo.zh.tables()]
    en_tables = [tb.rows for _, tb in demo.en.tables()]
    # Numbers are the same; only names and words differ between the languages.
    assert [[r[0] for r in rows] for rows in zh_tables[:1]] == [
        [r[0] for r in rows] for rows in en_tables[:1]
    ]
    assert len(zh_tables) == len(en_tables)


def test_a_report_without_values_leaves_the_appendix_out(demo: Demo) -> None:
    doc = city_report(demo.db, demo.city, run_id=demo.run_id, with_values=False)
    assert "指标原始值" not in {tb.key for _, tb in doc.tables()}


@pytest.mark.parametrize(
    ("code", "year", "message"),
    [("999999", None, "999999"), ("__CITY__", 1990, "1990")],
)
def test_bad_input_is_refused_with_a_clear_message(
    demo: Demo, code: str, year: int | None, message: str
) -> None:
    city = demo.city if code == "__CITY__" else code
    with pytest.raises(CityLoopError, match=message):
        city_report(demo.db, city, run_id=demo.run_id, year=year)


def test_the_dimension_table_lists_every_dimension(demo: Demo) -> None:
    fw = demo.db.framework(FRAMEWORK)
    dims = pd.Series([r[0] for r in table(demo.zh, "分维度得分").rows])
    assert dims.tolist() == [d.code for d in fw.dimensions if d.parent is None]
