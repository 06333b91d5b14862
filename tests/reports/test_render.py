"""Every renderer on one document with Chinese text, each chart kind and awkward cells: the
content is checked in each format (PDF text via pdftotext, fonts embedded, Word headings,
captions and tables, typed workbook cells, ECharts options)."""

from __future__ import annotations

import io
import json
import re
import subprocess
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
