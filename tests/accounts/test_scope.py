"""Region scoping and authorisation on a small province: P with cities C1, C2; D1 under C1."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from cityloop.accounts import (
    AccessDenied,
    Action,
    Principal,
    Role,
    authorise,
    can_see,
    may_enter,
    visible_units,
)
from cityloop.datahub.units import Units, build_units

STATS, TRANSPORT = "statistics", "transport"


@pytest.fixture(scope="module")
def units() -> Units:
    return build_units(
        pd.DataFrame(
            {
                "code": ["P", "C1", "C2", "D1", "Q"],
                "name_zh": ["某省", "甲市", "乙市", "丙区", "另一省"],
                "level": ["province", "city", "city", "district", "province"],
                "parent": ["", "P", "P", "C1", ""],
            }
        )
    )


def test_province_user_sees_the_whole_province(units: Units) -> None:
    assert visible_units(units, "P") == {"P", "C1", "C2", "D1"}


def test_city_user_sees_the_city_and_its_districts_only(units: Units) -> None:
    assert visible_units(units, "C1") == {"C1", "D1"}
    assert visible_units(units, "D1") == {"D1"}


def test_national_and_unknown_scopes(units: Units) -> None:
    assert visible_units(units, None) == {"P", "C1", "C2", "D1", "Q"}
    assert visible_units(units, "X9") == set()


@pytest.mark.parametrize("scope", [None, "P", "C1", "C2", "D1", "Q", "X9"])
def test_can_see_agrees_with_visible_units(units: Units, scope: str | None) -> None:
    visible = visible_units(units, scope)
    for code in [*units.codes, "X9"]:
        assert can_see(units, scope, code) is (code in visible)


@pytest.mark.parametrize(
    ("department", "scope", "indicator_department", "unit", "allowed"),
    [
        (STATS, "C1", STATS, "C1", True),
        (STATS, "C1", STATS, "D1", True),
        (STATS, "C1", STATS, "C2", False),  # another city
        (STATS, "C1", STATS, "P", False),  # the province above
        (STATS, "C1", TRANSPORT, "C1", False),  # another department's indicator
        (None, "C1", STATS, "C1", False),  # no department
        (STATS, None, STATS, "C1", False),  # no region: an officer is never national
    ],
)
def test_data_officer_enters_own_department_in_own_city(
    units: Units,
    department: str | None,
    scope: str | None,
    indicator_department: str,
    unit: str,
    allowed: bool,
) -> None:
    assert may_enter(department, scope, indicator_department, unit, units) is allowed


OFFICER = Principal("li.na", Role.DATA_OFFICER, scope="C1", department=STATS)


def refusal(principal: Principal, action: Action, **kwargs: Any) -> str:
    with pytest.raises(AccessDenied) as caught:
        authorise(principal, action, **kwargs)
    assert caught.value.action is action
    return caught.value.key


def test_authorise_lets_the_officer_enter_own_values(units: Units) -> None:
    for unit in ("C1", "D1"):
        authorise(OFFICER, Action.ENTER_VALUES, unit=unit, indicator_department=STATS, units=units)
        authorise(OFFICER, Action.UPLOAD_VALUES, unit=unit, indicator_department=STATS, units=units)
    authorise(OFFICER, Action.VIEW_VALUES, unit="D1", units=units)


def test_authorise_names_what_it_refused(units: Units) -> None:
    assert refusal(OFFICER, Action.RUN_EVALUATION) == "accounts.denied.action"
    assert (
        refusal(OFFICER, Action.ENTER_VALUES, unit="C2", indicator_department=STATS, units=units)
        == "accounts.denied.region"
    )
    assert (
        refusal(
            OFFICER, Action.ENTER_VALUES, unit="C1", indicator_department=TRANSPORT, units=units
        )
        == "accounts.denied.department"
    )
    assert refusal(OFFICER, Action.VIEW_VALUES, unit="C2", units=units) == "accounts.denied.region"
    unassigned = Principal("wang.fang", Role.DATA_OFFICER)
    assert (
        refusal(unassigned, Action.ENTER_VALUES, unit="C1", indicator_department=STATS, units=units)
        == "accounts.denied.officer_unassigned"
    )


def test_other_roles_are_scoped_by_region_but_not_by_department(units: Units) -> None:
    admin = Principal("admin", Role.ADMINISTRATOR)
    authorise(admin, Action.ENTER_VALUES, unit="C2", indicator_department=TRANSPORT, units=units)
    evaluator = Principal("zhao.lei", Role.EVALUATOR, scope="P")
    authorise(evaluator, Action.RUN_EVALUATION, unit="D1", units=units)
    assert refusal(evaluator, Action.VIEW_VALUES, unit="Q", units=units) == "accounts.denied.region"
    viewer = Principal("guest", Role.VIEWER, scope="C1")
    authorise(viewer, Action.VIEW_DASHBOARD, unit="C1", units=units)
    assert refusal(viewer, Action.VIEW_DASHBOARD, unit="C2", units=units) == (
        "accounts.denied.region"
    )


def test_missing_context_is_a_caller_bug(units: Units) -> None:
    with pytest.raises(ValueError, match="needs units"):
        authorise(OFFICER, Action.VIEW_VALUES, unit="C1")
    with pytest.raises(ValueError, match="indicator_department"):
        authorise(OFFICER, Action.ENTER_VALUES, unit="C1", units=units)


def test_refusal_renders_in_the_reader_language(units: Units) -> None:
    with pytest.raises(AccessDenied) as caught:
        authorise(Principal("guest", Role.VIEWER, scope="C1"), Action.RUN_EVALUATION)
    assert caught.value.render("zh-CN") == "无权操作：角色「只读用户」不能运行评估"
    assert caught.value.render("en") == "not allowed: the role 'Viewer' may not run evaluations"
    with pytest.raises(AccessDenied) as caught:
        authorise(OFFICER, Action.VIEW_VALUES, unit="C2", units=units)
    assert "C2" in caught.value.render("zh-CN")
    assert "C1" in caught.value.render("en")


def test_principal_accepts_a_stored_role_string_and_refuses_an_unknown_one() -> None:
    assert Principal("li.na", "data_officer").role is Role.DATA_OFFICER  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="superuser"):
        Principal("root", "superuser")  # type: ignore[arg-type]
