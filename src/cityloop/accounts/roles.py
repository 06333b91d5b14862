"""Roles, the actions routes perform, and which role may perform which action.

The permission table is the single source of truth; every route asks ``can`` (or ``authorise``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from cityloop.i18n import t


class Role(StrEnum):
    """What a user is in the smart-city office; stored by value."""

    ADMINISTRATOR = "administrator"
    EVALUATOR = "evaluator"  # evaluator / analyst: runs evaluations in their regions
    DATA_OFFICER = "data_officer"  # a department's data officer: enters its indicators
    PROJECT_MANAGER = "project_manager"
    VIEWER = "viewer"  # read-only dashboards

    def label(self, lang: str | None = None) -> str:
        """The role's name in ``lang`` (default: the current language)."""
        return t(f"role.{self.value}", lang)


class Action(StrEnum):
    """Something a route does on a user's behalf; stored and logged by value."""

    VIEW_DASHBOARD = "view_dashboard"
    VIEW_VALUES = "view_values"
    ENTER_VALUES = "enter_values"
    UPLOAD_VALUES = "upload_values"
    RUN_EVALUATION = "run_evaluation"
    CHASE_DATA = "chase_data"  # remind a department of the values it owes (催报)
    VIEW_RUNS = "view_runs"
    EXPORT_RESULTS = "export_results"
    MANAGE_FRAMEWORKS = "manage_frameworks"
    MANAGE_USERS = "manage_users"
    MANAGE_UNITS = "manage_units"
    MANAGE_PROJECTS = "manage_projects"
    VIEW_AUDIT = "view_audit"
    VIEW_SURVEYS = "view_surveys"  # survey results: indices, IPA, needs
    MANAGE_SURVEYS = "manage_surveys"  # design questionnaires, open/close surveys, import answers
    VIEW_CATALOGUE = "view_catalogue"  # the resource catalogue (not-shareable ones: owner only)
    MANAGE_CATALOGUE = "manage_catalogue"  # register, edit, publish resources; issue ingest keys
    REQUEST_SHARING = "request_sharing"  # ask another department for a conditional resource
    DECIDE_SHARING = "decide_sharing"  # approve/refuse requests, revoke keys, read access logs
    VIEW_DATA_QUALITY = "view_data_quality"  # completeness, timeliness, sharing, uptime
    DERIVE_INDICATORS = "derive_indicators"  # compute framework formulas over sensor series
    VIEW_PLANS = "view_plans"  # the project catalogue, diagnoses, scores and saved plans
    PLAN_PROGRAMME = "plan_programme"  # edit a unit's projects, solve, compare and save plans

    def label(self, lang: str | None = None) -> str:
        """The action's name in ``lang`` (default: the current language)."""
        return t(f"accounts.action.{self.value}", lang)


# Writing indicator values: a data officer may do it only for their own department's
# indicators (see scope.may_enter); the other roles that may do it are not so bound.
VALUE_WRITING_ACTIONS = frozenset({Action.ENTER_VALUES, Action.UPLOAD_VALUES})
DEPARTMENT_BOUND_ROLES = frozenset({Role.DATA_OFFICER})

PERMISSIONS: Mapping[Role, frozenset[Action]] = MappingProxyType(
    {
        Role.ADMINISTRATOR: frozenset(Action),
        Role.EVALUATOR: frozenset(
            {
                Action.VIEW_DASHBOARD,
                Action.VIEW_VALUES,
                Action.RUN_EVALUATION,
                Action.CHASE_DATA,
                Action.VIEW_RUNS,
                Action.EXPORT_RESULTS,
                Action.VIEW_SURVEYS,
                Action.MANAGE_SURVEYS,
                Action.VIEW_CATALOGUE,
                Action.VIEW_DATA_QUALITY,
                Action.DERIVE_INDICATORS,
                Action.VIEW_PLANS,
                Action.PLAN_PROGRAMME,
            }
        ),
        # A data officer's catalogue, sharing and key actions are bound to their own
        # department's resources (see cityloop.services.catalogue and .sharing).
        Role.DATA_OFFICER: frozenset(
            {
                Action.VIEW_DASHBOARD,
                Action.VIEW_VALUES,
                Action.ENTER_VALUES,
                Action.UPLOAD_VALUES,
                Action.VIEW_CATALOGUE,
                Action.MANAGE_CATALOGUE,
                Action.REQUEST_SHARING,
                Action.DECIDE_SHARING,
                Action.VIEW_DATA_QUALITY,
            }
        ),
        Role.PROJECT_MANAGER: frozenset(
            {
                Action.VIEW_DASHBOARD,
                Action.VIEW_RUNS,
                Action.MANAGE_PROJECTS,
                Action.VIEW_SURVEYS,
                Action.VIEW_CATALOGUE,
                Action.VIEW_PLANS,
            }
        ),
        Role.VIEWER: frozenset({Action.VIEW_DASHBOARD, Action.VIEW_CATALOGUE}),
    }
)


def can(role: Role, action: Action) -> bool:
    """Whether ``role`` may perform ``action`` at all (region and department aside).

    Parameters
    ----------
    role : Role
        The user's role.
    action : Action
        What the route is about to do.

    Returns
    -------
    bool
        True if the permission table grants it.
    """
    return action in PERMISSIONS[role]
