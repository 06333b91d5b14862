"""The project catalogue file: the shipped one loads and covers every application; each
validation rule refuses with its location; overrides replace only the fields they name; and
any valid set of overrides survives the Excel export and import unchanged."""

from __future__ import annotations

import io
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from cityloop.errors import InputError
from cityloop.frameworks import load_framework
from cityloop.planning.project_catalogue import (
    ProjectCatalogue,
    apply_overrides,
    load_catalogue,
    override_of,
    parse_catalogue,
)
from cityloop.planning.project_excel import read_catalogue_workbook, write_catalogue_workbook
from cityloop.survey.needs_dictionary import load_catalogue as load_applications

APPS = {"one_network_services", "grid_management"}
INDICATORS = {"fw": {"A1", "A2"}}
GOOD = {
    "framework": "fw",
    "domains": {"egov": {"zh": "政务", "en": "E-gov"}},
    "projects": [
        {"code": "base", "name": {"zh": "底座", "en": "Base"}, "domain": "egov",
         "description": {"zh": "说明", "en": "About"}, "cost": [100, 50], "staff": [2, 1],
         "plan_types": ["infrastructure"], "applications": ["grid_management"],
         "effects": [{"indicator": "A1", "low": 1, "likely": 2, "high": 3}],
         "foundation": 3, "importance": 4},
        {"code": "app", "name": {"zh": "应用", "en": "App"}, "domain": "egov",
         "description": {"zh": "说明", "en": "About"}, "cost": [80], "staff": [1],
         "prerequisites": ["base"], "plan_types": ["livelihood"],
         "applications": ["one_network_services"], "foundation": 2, "importance": 5},
    ],
}  # fmt: skip


def parse(data: dict[str, Any]) -> ProjectCatalogue:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return parse_catalogue(text, "p.yaml", applications=APPS, indicators=INDICATORS)


def with_project(index: int, **changes: Any) -> dict[str, Any]:
    projects = [dict(p) for p in GOOD["projects"]]  # type: ignore[attr-defined]
    projects[index].update(changes)
    return {**GOOD, "projects": projects}


def entry_line(data: dict[str, Any], index: int) -> int:
    """The line of ``projects[index]`` in the dumped YAML."""
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    starts = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("- ")]
    return starts[index]


def problems(data: dict[str, Any]) -> list[tuple[str, int | None, str | None]]:
    with pytest.raises(InputError) as refused:
        parse(data)
    return [(p.key, p.location.row, p.location.column) for p in refused.value.problems]


def test_the_shipped_catalogue_loads_and_answers_every_application() -> None:
    catalogue = load_catalogue()
    assert len(catalogue.projects) >= 45 and len(catalogue.domains) >= 18
    answered = {a for p in catalogue.projects.values() for a in p.applications}
    assert answered == set(load_applications())
    indicators = set(load_framework("gbt33356-2016").indicator_codes)
    assert {e.indicator for p in catalogue.projects.values() for e in p.effects} <= indicators
    # Plausible magnitudes for a prefecture-level city: 10k yuan per year, one to four years.
    assert all(50 <= c <= 5000 for p in catalogue.projects.values() for c in p.cost)
    assert all(1 <= p.cycle <= 4 for p in catalogue.projects.values())
    assert catalogue.projects["city_brain"].prerequisites == ("data_platform", "iot_platform")


def test_a_good_file_parses_in_file_order() -> None:
    catalogue = parse(GOOD)
    assert list(catalogue.projects) == ["base", "app"]
    assert catalogue.projects["base"].total_cost == 150 and catalogue.projects["base"].cycle == 2
    assert catalogue.domain_name("egov", "en") == "E-gov"
    assert catalogue.dependents("base") == ["app"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (with_project(0, domain="nowhere"), ("plancat.rule.domain_unknown", 0, "domain")),
        (with_project(0, applications=["x"]),
         ("plancat.rule.application_unknown", 0, "applications")),
        (with_project(0, effects=[{"indicator": "Z", "low": 0, "likely": 1, "high": 1}]),
         ("plancat.rule.indicator_unknown", 0, "effects.1")),
        (with_project(0, effects=[{"indicator": "A1", "low": 2, "likely": 1, "high": 3}]),
         ("plancat.rule.effect_range", 0, "effects.1")),
        (with_project(0, cost=[100, -1]), ("plancat.rule.amounts_invalid", 0, "cost")),
        (with_project(0, staff=[1]), ("plancat.rule.lengths_differ", 0, "staff")),
        (with_project(1, prerequisites=["ghost"]),
         ("plancat.rule.prerequisite_unknown", 1, "prerequisites")),
        (with_project(1, code="base"), ("plancat.rule.duplicate", 1, "code")),
        (with_project(0, plan_types=["tourism"]),
         ("plancat.rule.plan_type_unknown", 0, "plan_types")),
        (with_project(0, foundation=6), ("plancat.rule.score_invalid", 0, "foundation")),
        (with_project(0, name={"zh": "=1+1", "en": "x"}), ("plancat.rule.text_invalid", 0, "name")),
        (with_project(0, colour="red"), ("plancat.rule.field_unknown", 0, "colour")),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else "",
)  # fmt: skip
def test_each_rule_refuses_with_its_location(
    data: dict[str, Any], expected: tuple[str, int, str]
) -> None:
    key, entry, column = expected
    assert problems(data) == [(key, entry_line(data, entry), column)]


def test_every_problem_is_reported_at_once_and_a_cycle_is_named() -> None:
    data = with_project(0, prerequisites=["app"], foundation=0)
    found = problems(data)
    assert ("plancat.rule.score_invalid", entry_line(data, 0), "foundation") in found
    with pytest.raises(InputError) as refused:
        parse(with_project(0, prerequisites=["app"]))
    (cycle,) = refused.value.problems
    assert cycle.key == "plancat.rule.cycle" and cycle.location.file == "p.yaml"
    assert cycle.params["cycle"] in ("base → app → base", "app → base → app")


def test_an_override_replaces_only_the_fields_it_names() -> None:
    shipped = parse(GOOD)
    merged = apply_overrides(shipped, {"base": {"importance": 1}, "own": {
        **{k: v for k, v in GOOD["projects"][1].items() if k != "code"},  # type: ignore[index]
        "prerequisites": ["app"]}})  # fmt: skip
    assert merged.projects["base"].importance == 1
    assert merged.projects["base"].cost == shipped.projects["base"].cost
    assert list(merged.projects) == ["base", "app", "own"]
    assert override_of(shipped.projects["base"], merged.projects["base"]) == {"importance": 1}
    assert shipped.projects["base"].importance == 4  # the shipped catalogue is unchanged


def test_a_bad_override_is_refused_with_the_project_named() -> None:
    shipped = parse(GOOD)
    with pytest.raises(InputError) as cycle:
        apply_overrides(shipped, {"base": {"prerequisites": ["app"]}}, source="city 101")
    assert cycle.value.problems[0].key == "plancat.rule.cycle"
    with pytest.raises(InputError) as incomplete:
        apply_overrides(shipped, {"own": {"cost": [1]}})
    assert {p.params["code"] for p in incomplete.value.problems} == {"own"}
    assert {p.location.column for p in incomplete.value.problems} >= {"name", "domain"}


# -- the Excel round trip -------------------------------------------------------------------------

SHIPPED = parse(GOOD)
amounts = st.lists(st.floats(0, 5000, allow_nan=False).map(lambda v: round(v, 3)), min_size=1,
                   max_size=4)  # fmt: skip
text = st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=1, max_size=12)
effect = st.fixed_dictionaries(
    {
        "indicator": st.sampled_from(["A1", "A2"]),
        "bounds": st.lists(st.floats(0, 50).map(lambda v: round(v, 4)), min_size=3, max_size=3),
    }
)
# Rounded: a spreadsheet keeps 15 significant digits, as Excel itself does.


@st.composite
def overrides(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """A valid set of overrides: changes to the two shipped projects and up to two own ones."""
    out: dict[str, dict[str, Any]] = {}
    for code in [c for c in ("base", "app") if draw(st.booleans())]:
        cost = draw(amounts)
        staff = [round(v / 100, 2) for v in cost]
        out[code] = {"cost": cost, "staff": staff,
                     "importance": draw(st.sampled_from([1, 2.5, 5]))}  # fmt: skip
        if draw(st.booleans()):
            out[code]["name"] = {"zh": draw(text), "en": draw(text)}
    for number in range(draw(st.integers(0, 2))):
        found = draw(st.lists(effect, max_size=2, unique_by=lambda e: e["indicator"]))
        cost = draw(amounts)
        out[f"own_{number}"] = {
            "name": {"zh": draw(text), "en": draw(text)}, "domain": "egov",
            "description": {"zh": draw(text), "en": draw(text)}, "cost": cost,
            "staff": [1.0] * len(cost), "plan_types": draw(st.lists(st.sampled_from(
                ["innovation", "industry", "livelihood"]), min_size=1, max_size=3, unique=True)),
            "prerequisites": ["base"], "applications": ["grid_management"],
            "effects": [dict(zip(("low", "likely", "high"), sorted(e["bounds"]), strict=True),
                             indicator=e["indicator"]) for e in found],
            "foundation": 3, "importance": 4,
        }  # fmt: skip
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chosen=overrides(), lang=st.sampled_from(["zh-CN", "en"]))
def test_any_valid_override_set_round_trips_through_excel(
    chosen: dict[str, dict[str, Any]], lang: str
) -> None:
    merged = apply_overrides(SHIPPED, chosen)
    data = write_catalogue_workbook(merged, lang=lang, overridden=[c for c in chosen
                                    if c in SHIPPED.projects])  # fmt: skip
    back = read_catalogue_workbook(data, "c.xlsx", SHIPPED)
    assert apply_overrides(SHIPPED, back) == merged
    expected = {c: override_of(SHIPPED.projects.get(c), merged.projects[c]) for c in chosen}
    assert back == {c: f for c, f in expected.items() if f}


def edited(change: Any) -> bytes:
    book = load_workbook(io.BytesIO(write_catalogue_workbook(SHIPPED, lang="en")))
    change(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def locations(data: bytes) -> list[tuple[str, str | None, int | None, str | None]]:
    with pytest.raises(InputError) as refused:
        read_catalogue_workbook(data, "c.xlsx", SHIPPED)
    return [(p.key, p.location.sheet, p.location.row, p.location.column)
            for p in refused.value.problems]  # fmt: skip


def test_a_workbook_is_refused_whole_with_sheet_row_and_column() -> None:
    def formula_and_text(book: Any) -> None:
        book["projects"]["H2"] = "=100*2"  # cost of "base"
        book["effects"]["D2"] = "much"  # low of base's effect

    assert locations(edited(formula_and_text)) == [
        ("plancat.excel.formula", "projects", 2, "cost"),
        ("plancat.excel.not_number", "effects", 2, "low"),
    ]

    def unknown_need(book: Any) -> None:
        book["projects"]["L3"] = "grid_management, nope"

    assert locations(edited(unknown_need)) == [
        ("plancat.rule.application_unknown", "projects", 3, "applications")
    ]

    def orphan_effect(book: Any) -> None:
        book["effects"].append(["ghost", "fw", "A1", 1, 2, 3])

    orphan = [("plancat.excel.effect_orphan", "effects", 3, None)]
    assert locations(edited(orphan_effect)) == orphan
    with pytest.raises(InputError, match=r"c\.xlsx"):
        read_catalogue_workbook(b"PK broken", "c.xlsx", SHIPPED)
