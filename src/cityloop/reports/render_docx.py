"""A report document as a Word file an official can keep editing: built-in heading styles
(so the navigation pane and a table of contents work), numbered captions made of Word's own
SEQ fields (so a list of tables can be inserted), real tables, and charts as pictures.
"""

from __future__ import annotations

import io

import docx
from docx.document import Document as WordDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph as WordParagraph

from cityloop.reports.chart_image import chart_png
from cityloop.reports.document import (
    BulletList,
    ColumnKind,
    Document,
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    Table,
)
from cityloop.reports.render_html import labels

# The fonts of Chinese official documents, present on every Chinese Windows machine: Song for
# body text, Hei for headings; Latin text in the same styles uses Times New Roman / Arial.
BODY_FONTS = ("Times New Roman", "宋体")
HEADING_FONTS = ("Arial", "黑体")
FIGURE_WIDTH = Cm(16)


def _fonts(style: ParagraphStyle, latin: str, east_asian: str) -> None:
    style.font.name = latin
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asian)


def _setup(word: WordDocument) -> None:
    styles = word.styles
    normal = styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    _fonts(normal, *BODY_FONTS)
    normal.font.size = Pt(10.5)
    for level in (1, 2, 3):
        heading = styles[f"Heading {level}"]
        assert isinstance(heading, ParagraphStyle)
        _fonts(heading, *HEADING_FONTS)
    for section in word.sections:
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.left_margin = section.right_margin = Cm(2.2)
        section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.2)


def _caption(word: WordDocument, label: str, number: int, text: str) -> WordParagraph:
    """A caption whose number is a SEQ field holding ``number`` as its current result."""
    paragraph = word.add_paragraph(style="Caption")
    paragraph.add_run(f"{label} ")
    begin, separate, end = (
        OxmlElement("w:fldChar"),
        OxmlElement("w:fldChar"),
        OxmlElement("w:fldChar"),
    )
    instruction = OxmlElement("w:instrText")
    begin.set(qn("w:fldCharType"), "begin")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = f" SEQ {label} \\* ARABIC "
    separate.set(qn("w:fldCharType"), "separate")
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, instruction, separate):
        paragraph.add_run()._r.append(element)
    paragraph.add_run(str(number))
    paragraph.add_run()._r.append(end)
    paragraph.add_run(f"  {text}")
    return paragraph


def _repeat_header(row: object) -> None:
    properties = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _table(word: WordDocument, table: Table, number: int, label: str) -> None:
    _caption(word, label, number, table.caption)
    grid = word.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    _repeat_header(grid.rows[0])
    for cell, column in zip(grid.rows[0].cells, table.columns, strict=True):
        cell.text = column.label
        cell.paragraphs[0].runs[0].bold = True
    right = [c.kind is not ColumnKind.TEXT for c in table.columns]
    for texts in table.texts():
        cells = grid.add_row().cells
        for cell, text, align_right in zip(cells, texts, right, strict=True):
            cell.text = text
            if align_right:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if table.note:
        word.add_paragraph(table.note).runs[0].font.size = Pt(8.5)


def render_docx(doc: Document) -> bytes:
    """``doc`` as the bytes of a .docx file."""
    word = docx.Document()
    _setup(word)
    words = labels(doc.lang)
    word.core_properties.title = doc.title
    word.core_properties.language = doc.lang
    word.add_heading(doc.title, level=0)
    if doc.subtitle:
        word.add_paragraph(doc.subtitle)
    for label, value in doc.facts:
        word.add_paragraph(
            f"{label}：{value}" if doc.lang.startswith("zh") else f"{label}: {value}"
        )
    word.add_paragraph(f"{words['issued']} {doc.issued.isoformat()}")
    for block, number in doc.numbered():
        if isinstance(block, Heading):
            word.add_heading(block.text, level=block.level)
        elif isinstance(block, Paragraph):
            paragraph = word.add_paragraph(block.text)
            if block.note:
                paragraph.runs[0].font.size = Pt(8.5)
        elif isinstance(block, BulletList):
            for item in block.items:
                word.add_paragraph(item, style="List Bullet")
        elif isinstance(block, Table):
            assert number is not None
            _table(word, block, number, words["table"])
        elif isinstance(block, Figure):
            assert number is not None
            word.add_picture(io.BytesIO(chart_png(block.chart)), width=FIGURE_WIDTH)
            word.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            _caption(word, words["figure"], number, block.caption)
        elif isinstance(block, PageBreak):
            word.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()
