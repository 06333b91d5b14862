"""The permission table, spelled out in full: changing a permission means changing this test."""

from __future__ import annotations

import pytest

from cityloop.accounts import PERMISSIONS, Action, Role, can
from cityloop.i18n import catalogue

A, E, D, P, V = (
    Role.ADMINISTRATOR,
    Role.EVALUATOR,
    Role.DATA_OFFICER,
    Role.PROJECT_MANAGER,
    Role.VIEWER,
)
# Action → the roles allowed to do it (columns: administrator, evaluator, data officer,
# project manager, viewer).
EXPECTED: dict[Action, tuple[bool, bool, bool, bool, bool]] = {
    #                          adm    eval   data   pm     viewer
    Action.VIEW_DASHBOARD: (True, True, True, True, True),
    Action.VIEW_VALUES: (True, True, True, False, False),
    Action.ENTER_VALUES: (True, False, True, False, False),
    Action.UPLOAD_VALUES: (True, False, True, False, False),
    Action.RUN_EVALUATION: (True, True, False, False, False),
    Action.CHASE_DATA: (True, True, False, False, False),
    Action.VIEW_RUNS: (True, True, False, True, False),
    Action.EXPORT_RESULTS: (True, True, False, False, False),
    Action.MANAGE_FRAMEWORKS: (True, False, False, False, False),
    Action.MANAGE_USERS: (True, False, False, False, False),
    Action.MANAGE_UNITS: (True, False, False, False, False),
    Action.MANAGE_PROJECTS: (True, False, False, True, False),
    Action.VIEW_AUDIT: (True, False, False, False, False),
    Action.VIEW_SURVEYS: (True, True, False, True, False),
    Action.MANAGE_SURVEYS: (True, True, False, False, False),
    Action.VIEW_CATALOGUE: (True, True, True, True, True),
    Action.MANAGE_CATALOGUE: (True, False, True, False, False),
    Action.REQUEST_SHARING: (True, False, True, False, False),
    Action.DECIDE_SHARING: (True, False, True, False, False),
    Action.VIEW_DATA_QUALITY: (True, True, True, False, False),
    Action.DERIVE_INDICATORS: (True, True, False, False, False),
    Action.VIEW_PLANS: (True, True, False, True, False),
    Action.PLAN_PROGRAMME: (True, True, False, False, False),
}
ROLES = (A, E, D, P, V)


def test_the_table_lists_every_action_and_every_role() -> None:
    assert set(EXPECTED) == set(Action)
    assert set(PERMISSIONS) == set(Role) == set(ROLES)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", ROLES)
def test_role_action_matrix(role: Role, action: Action) -> None:
    assert can(role, action) is EXPECTED[action][ROLES.index(role)]


def test_stored_values_are_stable() -> None:
    assert [r.value for r in Role] == [
        "administrator",
        "evaluator",
        "data_officer",
        "project_manager",
        "viewer",
    ]
    assert Role("data_officer") is Role.DATA_OFFICER


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_role_and_action_has_a_name_in_both_languages(lang: str) -> None:
    names = catalogue(lang)
    for role in Role:
        assert f"role.{role.value}" in names
    for action in Action:
        assert f"accounts.action.{action.value}" in names
    assert Role.DATA_OFFICER.label("zh-CN") == "部门数据专员"
    assert Action.RUN_EVALUATION.label("en") == "run evaluations"
