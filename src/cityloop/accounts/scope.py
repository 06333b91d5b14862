"""Region scoping and the one authorisation check every route makes.

A user's scope is a unit code (province, city or district) or None for all regions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from cityloop.accounts.roles import (
    DEPARTMENT_BOUND_ROLES,
    VALUE_WRITING_ACTIONS,
    Action,
    Role,
    can,
)
from cityloop.datahub.units import Units
from cityloop.errors import CityLoopError
from cityloop.i18n import t


def visible_units(units: Units, scope: str | None) -> set[str]:
    """The unit codes a user with ``scope`` may see: the scope unit and every unit under it.

    A province user sees the province, its cities and their districts; a city user sees the
    city and its districts, not the province above or the sibling cities. ``None`` sees every
    unit. A scope that is not in ``units`` sees nothing (fail closed).

    Parameters
    ----------
    units : Units
        The unit table with parent links.
    scope : str or None
        The user's region code, or None for all regions.

    Returns
    -------
    set of str
        Visible unit codes.
    """
    if scope is None:
        return set(units.codes)
    if scope not in units.table.index:
        return set()
    parent = units.table["parent"]
    seen = {scope}
    frontier = {scope}
    # One vectorised pass per level down the tree; stops when a level adds nothing new.
    while frontier:
        children = {str(c) for c in parent.index[parent.isin(frontier)]}
        frontier = children - seen
        seen |= frontier
    return seen


def can_see(units: Units, scope: str | None, unit_code: str) -> bool:
    """Whether ``unit_code`` is in ``visible_units(units, scope)``, without building the set.

    Walks from the unit up its parent chain looking for the scope; an unknown unit is never
    visible.
    """
    table = units.table
    if unit_code not in table.index:
        return False
    if scope is None:
        return True
    code: str | None = unit_code
    seen: set[str] = set()
    while code is not None and code not in seen:
        if code == scope:
            return True
        seen.add(code)
        parent = table.at[code, "parent"]
        code = None if pd.isna(parent) or parent not in table.index else str(parent)
    return False


def may_enter(
    user_department: str | None,
    user_scope: str | None,
    indicator_department: str,
    unit_code: str,
    units: Units,
) -> bool:
    """Whether a department data officer may enter a value of this indicator for this unit.

    Only indicators their department is responsible for (the framework indicator's
    ``department`` code), and only for their own region (a city, say) or the units under it.
    An officer with no department or no scope may enter nothing.

    Parameters
    ----------
    user_department : str or None
        The officer's department code.
    user_scope : str or None
        The officer's region code.
    indicator_department : str
        ``Indicator.department`` of the indicator whose value is entered.
    unit_code : str
        The unit the value belongs to.
    units : Units
        The unit table.

    Returns
    -------
    bool
        True if both the department and the region match.
    """
    if user_department is None or user_scope is None:
        return False
    return user_department == indicator_department and can_see(units, user_scope, unit_code)


@dataclass(frozen=True)
class Principal:
    """The signed-in user as authorisation sees them.

    Parameters
    ----------
    username : str
        The account name.
    role : Role
        The account's role; its stored string value is accepted too.
    scope : str or None
        Region code the user works in, or None for all regions.
    department : str or None
        Department code; data officers need one to enter values.
    """

    username: str
    role: Role
    scope: str | None = None
    department: str | None = None

    def __post_init__(self) -> None:
        # A role read back from storage may be a plain string; an unknown one fails here.
        object.__setattr__(self, "role", Role(self.role))


class AccessDenied(CityLoopError):  # noqa: N818 - the accounts API's agreed name
    """The signed-in user may not do what they asked; ``key`` says which check refused.

    ``accounts.denied.action`` (the role lacks the action), ``accounts.denied.region`` (the
    unit is outside the user's scope), ``accounts.denied.department`` (the indicator belongs
    to another department) or ``accounts.denied.officer_unassigned`` (a data officer without a
    department or a region). ``action`` is the refused ``Action``.
    """

    def __init__(self, key: str, *, action: Action, role: Role, **params: Any) -> None:
        super().__init__(key, action=action.value, role=role.value, **params)
        self.action = action
        self.role = role

    def render(self, lang: str | None = None) -> str:
        # Labels are looked up at render time so the message follows the reader's language.
        params = {**self.params, "action": self.action.label(lang), "role": self.role.label(lang)}
        if "scope" in params and params["scope"] is None:
            params["scope"] = t("accounts.scope.all", lang)
        return t(self.key, lang, **params)


def authorise(
    principal: Principal,
    action: Action,
    *,
    unit: str | None = None,
    indicator_department: str | None = None,
    units: Units | None = None,
) -> None:
    """Raise ``AccessDenied`` unless ``principal`` may perform ``action`` (on ``unit``).

    Checks, in order: the role grants the action; the unit, when given, is within the user's
    scope; and for a data officer writing values, the indicator is their department's.

    Parameters
    ----------
    principal : Principal
        The signed-in user.
    action : Action
        What the route is about to do.
    unit : str, optional
        The unit the action touches; needs ``units``.
    indicator_department : str, optional
        The department responsible for the indicator whose value is written.
    units : Units, optional
        The unit table, to resolve ``unit`` against the user's scope.

    Raises
    ------
    AccessDenied
        When any check refuses.
    ValueError
        When the call lacks what a check needs (``unit`` without ``units``; a data officer
        writing values without ``unit`` and ``indicator_department``): a bug in the caller.
    """
    role = principal.role
    if not can(role, action):
        raise AccessDenied("accounts.denied.action", action=action, role=role)
    department_bound = role in DEPARTMENT_BOUND_ROLES and action in VALUE_WRITING_ACTIONS
    if department_bound and (unit is None or indicator_department is None):
        raise ValueError(f"authorise({action}) for a {role} needs unit and indicator_department")
    if unit is None:
        return
    if units is None:
        raise ValueError("authorise(unit=...) needs units to resolve the unit against the scope")
    if not can_see(units, principal.scope, unit):
        raise AccessDenied(
            "accounts.denied.region", action=action, role=role, unit=unit, scope=principal.scope
        )
    if not department_bound:
        return
    if principal.department is None or principal.scope is None:
        raise AccessDenied("accounts.denied.officer_unassigned", action=action, role=role)
    if not may_enter(principal.department, principal.scope, str(indicator_department), unit, units):
        raise AccessDenied(
            "accounts.denied.department",
            action=action,
            role=role,
            department=indicator_department,
            own=principal.department,
        )
