"""Every renderer on one document with Chinese text, each chart kind and awkward cells: the
content is checked in each format (PDF text via pdftotext, fonts embedded, Word headings,
captions and tables, typed workbook cells, ECharts options)."""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import docx
import pypdf
import pytest
from openpyxl import load_workbook

from cityloop.reports import (
    BulletList,
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    Document,
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    ReferenceLine,
    ReportFormat,
    Series,
    Table,
    render,
)
from cityloop.reports.chart_image import chart_svg
from cityloop.reports.charts import echarts_option

SCORES = Table(
    caption="各维度得分（合成演示数据）",
    key="维度得分",
    columns=(
        Column("维度"),
        Column("得分", ColumnKind.NUMBER, 2),
        Column("排名", ColumnKind.INTEGER),
        Column("完成率", ColumnKind.PERCENT, 1),
    ),
    rows=(
        ("惠民服务", 78.354, 3, 0.875),
        ("精准治理", 61.2, 17, None),
        ("=cmd|' /C calc'!A0", 1.0, 1, 1.0),
    ),
)
CHARTS = (
    Chart(
        ChartKind.BAR,
        ("惠民服务", "精准治理"),
        (Series("本市", (78.35, 61.2)), Series("均值", (70.0, 65.0))),
        "得分",
        (ReferenceLine("智能化", 60.0),),
    ),
    Chart(ChartKind.BARH, ("甲市", "乙市", "丙市"), (Series("总分", (81.0, 77.5, None)),)),
    Chart(ChartKind.LINE, ("2026", "2027", "2028"), (Series("预期总分", (70.1, 72.4, 75.0)),)),
    Chart(
        ChartKind.STACKED,
        ("2026", "2027"),
        (Series("一期", (3000.0, 1200.0)), Series("二期", (0.0, 2500.0))),
    ),
    Chart(
        ChartKind.SPAN,
        ("政务云", "城市大脑"),
        (Series("开始", (2026.0, 2027.0)), Series("结束", (2028.0, 2030.0))),
        groups=("启动实施", "持续推进"),
    ),
    Chart(
        ChartKind.SPAN,
        ("L1P1-A2",),
        (Series("下限", (-0.4,)), Series("上限", (2.6,)), Series("估计", (1.1,))),
    ),
)
DOC = Document(
    title="新型智慧城市评价报告（示例）",
    lang="zh-CN",
    issued=date(2026, 12, 1),
    subtitle="合成演示数据，非任何真实城市",
    facts=(("城市", "演示市 440100"), ("年份", "2025")),
    blocks=(
        Heading("一、总体情况"),
        Paragraph("总分 78.35，排名第 3 位，处于智能化阶段。"),
        BulletList(("优势：惠民服务", "短板：精准治理")),
        SCORES,
        PageBreak(),
        Heading("二、分维度分析", 1),
        Heading("惠民服务", 2),
        *(Figure(f"图表样例 {k}", chart) for k, chart in enumerate(CHARTS, start=1)),
        Paragraph("数据来源：合成演示数据。", note=True),
    ),
)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render(DOC, ReportFormat.PDF)


def test_pdf_text_holds_the_numbers_and_chinese(
    pdf: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "新型智慧城市评价报告（示例）",
        "总分 78.35",
        "表 1",
        "各维度得分",
        "78.35",
        "87.5 %",
        "图 6",
        "城市大脑",
        "=cmd",
        "智能化",
    ):
        assert expected in text, expected
    assert "\ufffd" not in text  # no replacement characters: every glyph was found
    assert re.search(r"\b1 ?/ ?[2-9]\b", text)  # the stylesheet's page numbers were applied


def test_pdf_embeds_the_cjk_font_it_uses(pdf: bytes) -> None:
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
    assert len(reader.pages) >= 2  # the page break


def test_docx_has_headings_numbered_captions_and_tables() -> None:
    word = docx.Document(io.BytesIO(render(DOC, ReportFormat.DOCX)))
    headings = [
        (p.style.name, p.text)
        for p in word.paragraphs
        if p.style.name.startswith(("Heading", "Title"))
    ]
    assert ("Title", DOC.title) in headings
    assert ("Heading 1", "一、总体情况") in headings and ("Heading 2", "惠民服务") in headings
    captions = [p.text for p in word.paragraphs if p.style.name == "Caption"]
    assert captions[0] == "表 1  各维度得分（合成演示数据）"
    assert captions[1:] == [f"图 {k}  图表样例 {k}" for k in range(1, 7)]
    assert "SEQ 表" in word.element.xml  # Word can renumber and list them
    (table,) = word.tables
    assert [c.text for c in table.rows[1].cells] == ["惠民服务", "78.35", "3", "87.5 %"]
    assert table.rows[2].cells[3].text == "—"
    assert len(word.inline_shapes) == len(CHARTS)


def test_workbook_has_every_table_typed_and_no_formula() -> None:
    book = load_workbook(io.BytesIO(render(DOC, ReportFormat.XLSX)))
    assert book.sheetnames == ["README", "维度得分"]
    sheet = book["维度得分"]
    assert sheet["A1"].value == "表 1  各维度得分（合成演示数据）"
    assert [c.value for c in sheet[3]] == ["惠民服务", 78.354, 3, 0.875]
    assert sheet["D3"].number_format == "#,##0.0%"
    assert sheet["A5"].value == "'=cmd|' /C calc'!A0" and sheet["A5"].data_type == "s"
    assert sheet["D4"].value is None


def test_interactive_html_carries_its_scripts_and_options() -> None:
    html = render(DOC, ReportFormat.HTML).decode("utf-8")
    assert "echarts" in html and html.count('data-report-chart="chart-') == len(CHARTS)
    options = re.findall(
        r'<script type="application/json" id="chart-(\d+)">(.*?)</script>', html, re.S
    )
    first = json.loads(options[0][1])
    assert first["series"][0]["data"] == [78.35, 61.2]
    assert "&lt;" not in DOC.title and "演示市 440100" in html


def test_span_option_floats_bars_from_start_to_end() -> None:
    option = echarts_option(CHARTS[4])
    base, span = option["series"][:2]
    assert base["data"] == [2026.0, 2027.0]
    assert [d["value"] for d in span["data"]] == [2.0, 3.0]
    assert span["data"][0]["itemStyle"]["color"] != span["data"][1]["itemStyle"]["color"]
    interval = echarts_option(CHARTS[5])
    assert interval["series"][2]["data"] == [[1.1, "L1P1-A2"]] and interval["xAxis"]["min"] == -0.4


def test_a_row_that_does_not_fill_the_columns_is_a_builder_error() -> None:
    with pytest.raises(ValueError, match="rows \\[1\\]"):
        Table("t", (Column("a"), Column("b")), (("only one",),))


def test_a_long_time_axis_is_labelled_sparsely_with_its_last_point() -> None:
    months = (
        tuple(f"2026-{m:02d}" for m in range(1, 13))
        + tuple(f"2027-{m:02d}" for m in range(1, 13))
        + tuple(f"2028-{m:02d}" for m in range(1, 13))
    )
    curve = Chart(
        ChartKind.LINE, months, (Series("PV", tuple(float(i) for i in range(36))),), "万元"
    )
    svg = chart_svg(curve)
    labelled = [m for m in months if f">{m}<" in svg or f"{m}</" in svg]
    assert months[0] in labelled and months[-1] in labelled
    assert 6 <= len(labelled) <= 13  # thinned to about a dozen, not all 36


def test_pdfs_are_laid_out_on_one_thread_and_still_in_a_forked_child() -> None:
    module = importlib.import_module("cityloop.reports.render_pdf")  # the package re-exports
    doc = Document(title="线程", lang="zh-CN", issued=date(2026, 12, 2),
                   blocks=(Paragraph("同一线程"),))  # fmt: skip
    with ThreadPoolExecutor(4) as pool:
        pdfs = list(pool.map(lambda _: render(doc, ReportFormat.PDF), range(4)))
    assert all(p.startswith(b"%PDF") for p in pdfs)
    assert len(module._LAYOUT._threads) == 1  # every layout went to the one thread
    child = os.fork()
    if child == 0:  # the child renders too: its executor was replaced after the fork
        os._exit(0 if render(doc, ReportFormat.PDF).startswith(b"%PDF") else 1)
    deadline = time.monotonic() + 120
    while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    if done[0] == 0:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        pytest.fail("the forked child's PDF never came back")
    assert os.waitstatus_to_exitcode(done[1]) == 0
