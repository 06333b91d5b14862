"""Fuzzing framework files (``frameworks.loader.parse_yaml`` and ``read_excel``) and the
derived-indicator formulas in them (``datahub.formulas.parse_formula``): a framework or a
``FrameworkError``/``FormulaError`` naming the file, never another exception. No database."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityloop.datahub.formulas import parse_formula
from cityloop.errors import CityLoopError
from cityloop.frameworks.loader import EXCEL_SHEETS, parse_yaml, read_excel
from tests.fuzz.conftest import FUZZ, check_message
from tests.fuzz.inputs import awkward_text, cell, damaged, mutated_text, workbook_bytes

MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"
OPERATIONS = Path(parse_yaml.__code__.co_filename).parent / "cityloop-operations-2026.yaml"
FORMULAS = [
    line.split("formula: '", 1)[1].split("'}")[0]
    for line in OPERATIONS.read_text("utf-8").splitlines()
    if "formula: '" in line
]


def parsed_or_refused(call: object, file: str | None) -> None:
    try:
        call()  # type: ignore[operator]
    except CityLoopError as refusal:
        check_message(refusal, file)


@FUZZ
@given(st.data())
def test_a_mutated_framework_yaml_loads_or_is_refused(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from([MINI, OPERATIONS]))
    text = data.draw(mutated_text(source.read_text("utf-8")))
    parsed_or_refused(lambda: parse_yaml(text, source="体系.yaml"), "体系.yaml")


@FUZZ
@given(st.data())
def test_a_formula_in_a_framework_parses_or_is_refused(data: st.DataObject) -> None:
    formula = data.draw(st.sampled_from(FORMULAS))
    text = data.draw(
        st.one_of(
            st.text(max_size=60),
            damaged(formula.encode()).map(lambda b: b.decode("utf-8", "replace")),
            st.builds(lambda a, b: a + b, st.just(formula), awkward_text),
        )
    )
    parsed_or_refused(lambda: parse_formula(text), None)
    yaml = OPERATIONS.read_text("utf-8").replace(formula, text.replace("'", "''"), 1)
    parsed_or_refused(lambda: parse_yaml(yaml, source="ops.yaml"), "ops.yaml")


@FUZZ
@given(st.data())
def test_a_framework_workbook_loads_or_is_refused(tmp_path: Path, data: st.DataObject) -> None:
    sheets = data.draw(
        st.dictionaries(
            st.sampled_from([*EXCEL_SHEETS, "其他"]),
            st.lists(st.lists(cell, max_size=6), max_size=6),
            min_size=1,
        )
    )
    content = workbook_bytes(sheets)
    content = data.draw(st.one_of(st.just(content), damaged(content), st.binary(max_size=200)))
    path = tmp_path / "体系.xlsx"
    path.write_bytes(content)
    parsed_or_refused(lambda: read_excel(path), "体系.xlsx")


@pytest.mark.parametrize("depth", [5000, 100_000])
def test_deep_yaml_is_refused(depth: int) -> None:
    parsed_or_refused(lambda: parse_yaml("[" * depth + "]" * depth, source="深.yaml"), "深.yaml")
