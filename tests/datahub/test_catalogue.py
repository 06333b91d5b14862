"""The catalogue's pure rules: every ``check_entry`` rule, the visibility rule and the public
listing rule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cityloop.accounts import Role
from cityloop.datahub.catalogue import (
    OpenType,
    ResourceClass,
    ResourceEntry,
    ResourceField,
    ResourceStatus,
    SharingType,
    UpdateFrequency,
    check_entry,
    public_data,
    publicly_listed,
    sees_every_department,
    visible_to,
)
from cityloop.demo.catalogue import demo_catalogue

GOOD = ResourceEntry(
    code="302001-000001",
    department="transport",
    name_zh="公交站点",
    classification=ResourceClass.DEPARTMENT,
    update_frequency=UpdateFrequency.MONTHLY,
    format="CSV",
    sharing_type=SharingType.UNCONDITIONAL,
    sharing_method="api",
    open_type=OpenType.OPEN,
    licence="CC-BY-4.0",
    fields=(ResourceField("stop_id", "站点编号"), ResourceField("n", "线路数", "", "integer")),
)


def broken(**changes: object) -> list[tuple[str, str | None]]:
    """(rule, column) of every problem of GOOD with ``changes``."""
    entry = replace(GOOD, **changes)  # type: ignore[arg-type]
    return [(p.key.removeprefix("catalogue.rule."), p.location.column) for p in check_entry(entry)]


def test_a_complete_entry_passes() -> None:
    assert check_entry(GOOD, {"transport"}) == []


@pytest.mark.parametrize(
    "code", ["A0101-000123", "302001-000001", "1010203/123", "Z01020304-123456", "2010101-001"]
)
def test_codes_after_gbt21063_are_accepted(code: str) -> None:
    classification = {"1": ResourceClass.BASE, "2": ResourceClass.THEME}.get(
        code[0], ResourceClass.DEPARTMENT
    )
    assert broken(code=code, classification=classification) == []


@pytest.mark.parametrize(
    "code", ["", "302001", "302001-12", "3020-000001", "3020010203-000001", "a0101-000123",
             "4010101-000001", "302001-0000001", "302001_000001"],
)  # fmt: skip
def test_codes_off_the_pattern_are_refused(code: str) -> None:
    assert ("code_pattern", "code") in broken(code=code)


def test_the_class_digit_must_match_the_classification() -> None:
    assert broken(classification=ResourceClass.BASE) == [("code_class", "code")]


def test_a_not_shareable_resource_needs_its_reason_and_cannot_be_open() -> None:
    problems = broken(sharing_type=SharingType.NONE, sharing_method="")
    assert ("reason_required", "not_shared_reason") in problems
    assert ("not_shared_cannot_open", "open_type") in problems
    fixed = broken(sharing_type=SharingType.NONE, sharing_method="", not_shared_reason="依据某法",
                   open_type=OpenType.CLOSED, licence="")  # fmt: skip
    assert fixed == []


def test_conditions_go_with_their_types() -> None:
    assert broken(sharing_type=SharingType.CONDITIONAL) == [
        ("condition_required", "sharing_condition")
    ]
    assert broken(sharing_condition="仅限") == [("condition_only_when_conditional",
                                                  "sharing_condition")]  # fmt: skip
    assert broken(open_type=OpenType.CONDITIONAL) == [("open_condition_required", "open_condition")]
    assert broken(open_condition="注册") == [("open_condition_only_when_conditional",
                                              "open_condition")]  # fmt: skip
    assert broken(not_shared_reason="x") == [("reason_only_when_not_shared", "not_shared_reason")]


def test_methods_licences_and_other_columns() -> None:
    assert broken(sharing_method="") == [("method_required", "sharing_method")]
    assert broken(sharing_method="fax") == [("method_required", "sharing_method")]
    assert broken(licence="") == [("licence_required", "licence")]
    assert broken(name_zh=" ") == [("required", "name_zh")]
    assert broken(format="") == [("required", "format")]
    assert broken(name_zh="长" * 301) == [("too_long", "name_zh")]
    assert broken(entity_type="air quality") == [("entity_type", "entity_type")]
    assert broken(api_url="ftp://x") == [("url", "api_url")]
    assert [p.key for p in check_entry(GOOD, {"health"})] == ["catalogue.rule.unknown_department"]


def test_field_rules() -> None:
    fields = (
        ResourceField("1bad", "坏"),
        ResourceField("a", "甲"),
        ResourceField("A", "乙"),
        ResourceField("b", ""),
        ResourceField("c", "丙", "", "money"),
    )
    assert [p for p, _ in broken(fields=fields)] == [
        "field_name", "field_twice", "field_label", "field_type"
    ]  # fmt: skip


def test_keywords_are_a_sorted_set() -> None:
    assert replace(GOOD, keywords=("交通", "公交", "交通")).keywords == ("交通", "公交")


def test_the_synthetic_demo_catalogue_passes_every_rule() -> None:
    demo = demo_catalogue()
    assert all(check_entry(e) == [] for e in demo.entries)
    assert {e.sharing_type for e in demo.entries} == set(SharingType)
    assert {e.open_type for e in demo.entries} == set(OpenType)
    assert {"AirQualityObserved", "TrafficFlowObserved", "ParkingSpot", "Streetlight",
            "WasteContainer"} <= {e.entity_type for e in demo.entries}  # fmt: skip
    assert demo == demo_catalogue()  # a fixed seed: the same catalogue every time


# -- visibility --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(ResourceStatus))
@pytest.mark.parametrize("sharing", list(SharingType))
def test_visibility_rule(sharing: SharingType, status: ResourceStatus) -> None:
    own = visible_to("health", sharing, status, viewer_department="health", sees_all=False)
    other = visible_to("health", sharing, status, viewer_department="transport", sees_all=False)
    nobody = visible_to("health", sharing, status, viewer_department=None, sees_all=False)
    office = visible_to("health", sharing, status, viewer_department=None, sees_all=True)
    assert own and office
    listed = status == ResourceStatus.PUBLISHED and sharing != SharingType.NONE
    assert other == nobody == listed


def test_who_sees_every_department() -> None:
    assert [r for r in Role if sees_every_department(r)] == [Role.ADMINISTRATOR, Role.EVALUATOR]


def test_public_listing_and_public_data() -> None:
    published, draft = ResourceStatus.PUBLISHED, ResourceStatus.DRAFT
    assert publicly_listed(OpenType.OPEN, published) and public_data(OpenType.OPEN, published)
    assert publicly_listed(OpenType.CONDITIONAL, published)
    assert not public_data(OpenType.CONDITIONAL, published)
    assert not publicly_listed(OpenType.CLOSED, published)
    assert not publicly_listed(OpenType.OPEN, draft) and not public_data(OpenType.OPEN, draft)
