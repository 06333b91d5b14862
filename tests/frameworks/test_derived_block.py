"""The ``derived`` block of a framework indicator: checked at load time, located by file and
line, kept through YAML and Excel copies, and absent from the dump of frameworks without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityloop.errors import FrameworkError
from cityloop.frameworks import load_framework, shipped_ids, write_excel, write_yaml
from cityloop.frameworks.loader import parse_yaml
from cityloop.i18n import use_language

TEMPLATE = """\
id: tiny
version: "1"
title: {{zh: 小, en: Tiny}}
indicators:
  - code: A
    name: {{zh: 甲}}
    unit: "%"
    value_type: percentage
    direction: higher
    source_kind: sensor
    department: transport
    derived:
      formula: '{formula}'
      timezone: {timezone}
  - code: B
    name: {{zh: 乙}}
    unit: "%"
    value_type: percentage
    direction: higher
    source_kind: statistics
    department: transport
"""


def tiny(formula: str, timezone: str = "Asia/Shanghai") -> str:
    return TEMPLATE.format(formula=formula, timezone=timezone)


def test_a_good_formula_loads() -> None:
    fw = parse_yaml(tiny('100 * share(daily(AirQualityObserved.pm25, "mean") <= 75)'), source="t")
    derived = fw.indicators[0].derived
    assert derived is not None and derived.timezone == "Asia/Shanghai"
    assert fw.indicators[1].derived is None


@pytest.mark.parametrize(
    ("formula", "timezone", "key", "words"),
    [
        ("bogus(Streetlight.status)", "Asia/Shanghai", "derived.formula.unknown_function", "bogus"),
        ('hours(X.y, "7-99")', "Asia/Shanghai", "derived.formula.bad_hours", "7-99"),
        ("mean(Streetlight.status", "Asia/Shanghai", "derived.formula.syntax", "column"),
        ("100 * hub.open_share", "Mars/Olympus", "derived.bad_timezone", "Mars/Olympus"),
    ],
)
def test_a_bad_formula_or_zone_is_refused_with_file_line_and_path(
    formula: str, timezone: str, key: str, words: str
) -> None:
    with pytest.raises(FrameworkError) as caught:
        parse_yaml(tiny(formula, timezone), source="tiny.yaml")
    [problem] = caught.value.problems
    assert problem.key == key
    assert problem.location.file == "tiny.yaml"
    line = 14 if key == "derived.bad_timezone" else 13  # the formula / timezone line
    assert problem.location.row == line
    assert problem.location.column is not None and problem.location.column.startswith(
        "indicators.0.derived."
    )
    with use_language("en"):
        text = caught.value.render()
    assert "tiny.yaml" in text and words in text


def test_unknown_keys_in_the_block_are_schema_errors() -> None:
    text = tiny("100 * hub.uptime").replace("      timezone:", "      zone: x\n      timezone:")
    with pytest.raises(FrameworkError) as caught:
        parse_yaml(text, source="tiny.yaml")
    assert caught.value.problems[0].key == "fw.schema"


def test_every_shipped_formula_parses_and_the_operations_set_is_all_derived() -> None:
    ops = load_framework("cityloop-operations-2026")
    assert ops.spec.standard is None  # CityLoop's own set, not a standard
    assert all(i.derived is not None for i in ops.indicators)
    u4ssc = {i.code for i in load_framework("itu-y4903-u4ssc").indicators if i.derived}
    assert u4ssc == {"EN-EN-AQ-1C", "EC-ICT-PS-1A"}
    for fid in ("gbt33356-2016", "gbt33356-2022", "iso37122-2019"):
        assert not any(i.derived for i in load_framework(fid).indicators), fid
    assert "cityloop-operations-2026" in shipped_ids()


def test_a_framework_without_formulas_dumps_as_before() -> None:
    dumped = load_framework("gbt33356-2016").spec.model_dump(mode="json")
    assert not any("derived" in i for i in dumped["indicators"])


def test_formulas_survive_yaml_and_excel_copies(tmp_path: Path) -> None:
    ops = load_framework("cityloop-operations-2026")
    write_yaml(ops, tmp_path / "ops.yaml")
    write_excel(ops, tmp_path / "ops.xlsx")
    for copy in (load_framework(tmp_path / "ops.yaml"), load_framework(tmp_path / "ops.xlsx")):
        assert [i.derived for i in copy.indicators] == [i.derived for i in ops.indicators]
