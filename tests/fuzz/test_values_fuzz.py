"""Fuzzing the indicator-data upload (``services.collection.save_upload``, CSV/XLSX/XLSM, and
the collection template it reads back): any file imports or is refused clearly, unchanged
database; GBK, UTF-8 and UTF-8-BOM give the same values; the size limit comes before parsing."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from cityloop.accounts import Principal, Role
from cityloop.errors import InputError
from cityloop.services import collection
from cityloop.services.collection import MAX_UPLOAD_BYTES, UPLOAD_SUFFIXES, Scope
from cityloop.store import WriteCounts
from tests.fuzz.conftest import FUZZ, Guard
from tests.fuzz.inputs import FORMULA_INJECTIONS, awkward_text, damaged, edited_workbook
from tests.fuzz.world import ADMIN, NOW, World

CHINESE_HEADER = "单位代码,年份,指标代码,数值,数据来源,备注"
FILLED_ROWS = 40


@pytest.fixture(scope="module")
def city_admin(world: World) -> Principal:
    """An administrator of one city: a template of some forty rows keeps examples quick."""
    return Principal("root", Role.ADMINISTRATOR, world.unit)


@pytest.fixture(scope="module")
def scope(world: World, city_admin: Principal) -> Scope:
    return collection.scope_of(world.db, city_admin, world.round, NOW)


@pytest.fixture(scope="module")
def filled_template(scope: Scope) -> bytes:
    """The administrator's template with the first rows' values, sources and notes filled."""
    _, data = collection.template_bytes(scope, "zh-CN")
    book = load_workbook(io.BytesIO(data))
    sheet = book[collection.DATA_SHEET]
    for row in range(2, min(FILLED_ROWS, sheet.max_row) + 1):
        sheet.cell(row=row, column=7, value=row * 1.5)
        sheet.cell(row=row, column=8, value="统计年鉴")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def owed(world: World, scope: Scope) -> pd.DataFrame:
    return collection.owed_table(world.db, scope)[["unit", "indicator"]]


def upload(world: World, scope: Scope, data: bytes, name: str) -> WriteCounts:
    return collection.save_upload(
        world.db, Principal("root", Role.ADMINISTRATOR, world.unit), scope, data, name
    )


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(UPLOAD_SUFFIXES))
def test_random_bytes_are_refused_clearly(
    guard: Guard, world: World, scope: Scope, data: bytes, suffix: str
) -> None:
    name = f"随机{suffix}"
    guard.attempt(lambda: upload(world, scope, data, name), file=name)


@FUZZ
@given(st.data())
def test_a_damaged_or_edited_template_imports_or_is_refused(
    guard: Guard, world: World, scope: Scope, filled_template: bytes, data: st.DataObject
) -> None:
    broken = data.draw(st.one_of(damaged(filled_template), edited_workbook(filled_template)))
    guard.attempt(lambda: upload(world, scope, broken, "模板.xlsx"), file="模板.xlsx")


@st.composite
def value_csv(draw: st.DrawFn, owed: pd.DataFrame) -> str:
    """A CSV that looks right: real units and indicators mixed with junk, columns shuffled,
    dropped, repeated or added, cells of every awkward kind."""
    columns = draw(
        st.lists(
            st.sampled_from(["unit", "year", "indicator", "value", "source", "note", "extra"]),
            min_size=1,
            max_size=8,
        )
    )
    picks = draw(st.lists(st.integers(0, len(owed) - 1), min_size=0, max_size=12))
    lines = [",".join(columns)]
    for pick in picks:
        unit, indicator = owed.iloc[pick]
        known = {"unit": unit, "indicator": indicator, "year": "2026"}
        cells = [
            draw(st.one_of(st.just(known.get(c, "")), awkward_text)).replace("\n", " ")
            for c in columns
        ]
        lines.append(",".join('"' + v.replace('"', '""') + '"' for v in cells))
    return "\n".join(lines) + "\n"


@FUZZ
@given(st.data())
def test_valid_looking_csv_imports_or_is_refused(
    guard: Guard, world: World, scope: Scope, owed: pd.DataFrame, data: st.DataObject
) -> None:
    text = data.draw(value_csv(owed))
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    guard.attempt(lambda: upload(world, scope, text.encode(encoding), "表.csv"), file="表.csv")


gbk_text = st.text(
    alphabet=st.characters(codec="gbk", exclude_characters=',"\r\n', min_codepoint=32),
    max_size=10,
)


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 10))  # three imports an example
@given(st.data())
def test_gbk_utf8_and_bom_import_the_same_values(
    guard: Guard, world: World, scope: Scope, owed: pd.DataFrame, data: st.DataObject
) -> None:
    picks = data.draw(st.lists(st.integers(0, len(owed) - 1), min_size=1, max_size=8, unique=True))
    cells = owed.iloc[picks]
    values = data.draw(st.lists(st.integers(0, 100), min_size=len(cells), max_size=len(cells)))
    notes = data.draw(st.lists(gbk_text, min_size=len(cells), max_size=len(cells)))
    rows = [
        f"{u},2026,{i},{v},统计年鉴,{n}"
        for (u, i), v, n in zip(cells.itertuples(index=False), values, notes, strict=True)
    ]
    text = "\n".join([CHINESE_HEADER, *rows]) + "\n"
    units = sorted(set(cells["unit"]))
    expected = {
        (u, i): (float(v), n.strip() or None)
        for (u, i), v, n in zip(cells.itertuples(index=False), values, notes, strict=True)
    }
    for encoding in ("gbk", "utf-8", "utf-8-sig"):
        data = text.encode(encoding)
        assert guard.attempt(lambda: upload(world, scope, data, "中文.csv"))  # noqa: B023
        stored = world.db.round_cells(world.round.framework_id, world.round.year, units)
        got = stored.merge(cells, on=["unit", "indicator"])
        found = {
            (u, i): (float(v), n or None)
            for u, i, v, n in got[["unit", "indicator", "value", "note"]].itertuples(index=False)
        }
        assert found == expected, encoding


def test_utf16_is_refused_naming_the_file(guard: Guard, world: World, scope: Scope) -> None:
    text = f"{CHINESE_HEADER}\n{world.unit},2026,L1P1-A1,50,统计年鉴,备注\n"
    assert (
        guard.attempt(
            lambda: upload(world, scope, text.encode("utf-16"), "u16.csv"), file="u16.csv"
        )
        is None
    )


def test_too_large_is_refused_before_parsing(guard: Guard, world: World, scope: Scope) -> None:
    huge = b"\xff" * (MAX_UPLOAD_BYTES + 1)  # unreadable as anything: only the size can refuse it
    started = time.perf_counter()
    assert guard.attempt(lambda: upload(world, scope, huge, "大.csv"), file="大.csv") is None
    assert time.perf_counter() - started < 1.0
    with pytest.raises(InputError) as refused:
        upload(world, scope, huge, "大.csv")
    assert refused.value.key == "collect.too_large"


def test_every_owed_cell_in_one_file_imports(world: World) -> None:
    wide = collection.scope_of(world.db, ADMIN, world.round, NOW)
    owed = collection.owed_table(world.db, wide)
    cells = owed[["unit", "indicator"]].itertuples(index=False)
    rows = [f"{u},2026,{i},{n % 100},统计年鉴," for n, (u, i) in enumerate(cells)]
    data = ("\n".join([CHINESE_HEADER, *rows]) + "\n").encode("gbk")
    assert len(owed) > 1000 and len(data) < MAX_UPLOAD_BYTES
    counts = collection.save_upload(world.db, ADMIN, wide, data, "全部.csv")
    assert counts.inserted + counts.updated + counts.unchanged == len(owed)


@pytest.mark.parametrize("injection", FORMULA_INJECTIONS)
def test_formula_text_is_stored_as_text_or_refused(
    guard: Guard, world: World, scope: Scope, injection: str
) -> None:
    note = injection.replace('"', '""')
    text = f'{CHINESE_HEADER}\n{world.unit},2026,L1P1-A1,50,"{note}","{note}"\n'
    if guard.attempt(lambda: upload(world, scope, text.encode("utf-8"), "f.csv"), file="f.csv"):
        stored = world.db.round_cells(world.round.framework_id, world.round.year, [world.unit])
        cell = stored[stored["indicator"] == "L1P1-A1"].iloc[0]
        assert (cell["value"], cell["note"]) == (50.0, injection.strip())
