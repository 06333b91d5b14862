"""Baseline changes (变更) of a tracked project: validate a change as a whole, check that the
user may make it, and apply it in one audited transaction with its reason.

Who may: an administrator on any project, a project manager on their own (``may_update``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cityloop.accounts import Principal
from cityloop.errors import InputError, Location, Problem, entry_path, schema_problems
from cityloop.i18n import t
from cityloop.services.supervision import own_project
from cityloop.store import Database
from cityloop.store.tracking import BaselineEdit, MilestoneEdit, RiskEdit, StoredProject
from cityloop.supervision import GateKind, RiskLevel


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, str_strip_whitespace=True
    )


class MilestoneChange(_Strict):
    """Add a milestone (no ``position``), change the fields given, or remove it."""

    position: int | None = Field(default=None, ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    due: date | None = None
    value: float | None = Field(default=None, ge=0)
    remove: bool = False


class BudgetChange(_Strict):
    """A year's planned cost (万元); ``None`` drops the year from the budget."""

    year: int = Field(ge=1990, le=2100)
    planned_cost: float | None = Field(default=None, ge=0)


class RiskChange(_Strict):
    """Add a risk (no ``id``), re-word or re-level it, or close it."""

    id: int | None = Field(default=None, ge=1)
    text: str | None = Field(default=None, max_length=2000)
    level: RiskLevel | None = None
    close: bool = False


class BaselineChange(_Strict):
    """One baseline change with its required reason (变更原因); empty parts change nothing.

    ``owner_department`` ``""`` removes the owner; ``gates`` maps a gate to its planned date.
    """

    reason: str = Field(min_length=1, max_length=2000)
    owner_department: str | None = Field(default=None, max_length=64)
    milestones: list[MilestoneChange] = Field(default_factory=list)
    gates: dict[GateKind, date] = Field(default_factory=dict)
    budget: list[BudgetChange] = Field(default_factory=list)
    risks: list[RiskChange] = Field(default_factory=list)


@dataclass(frozen=True)
class BaselineResult:
    """A project after a baseline change and the parts that changed (empty: none did)."""

    project: StoredProject
    changed: list[str]


def baseline_change(data: BaselineChange | Mapping[str, Any]) -> BaselineChange:
    """``data`` validated; every fault named by its field (e.g. ``milestones.2.due``).

    Raises
    ------
    InputError
        ``supervision.baseline.invalid``: a wrong or missing field (the reason is required),
        or a milestone, budget year or risk given twice.
    """
    if isinstance(data, BaselineChange):
        change = data
    else:
        try:
            change = BaselineChange.model_validate(data)
        except ValidationError as exc:
            problems = schema_problems(exc, lambda loc: Location(column=entry_path(loc)))
            raise InputError("supervision.baseline.invalid", problems) from None
    given = (
        ("milestones", [str(m.position) for m in change.milestones if m.position is not None]),
        ("budget", [str(b.year) for b in change.budget]),
        ("risks", [str(r.id) for r in change.risks if r.id is not None]),
    )
    twice = [
        Problem("supervision.service.given_twice", {"field": name, "value": v},
                Location(column=name))
        for name, values in given
        for v in sorted({x for x in values if values.count(x) > 1})
    ]  # fmt: skip
    if twice:
        raise InputError("supervision.baseline.invalid", twice)
    return change


def _edit(change: BaselineChange) -> BaselineEdit:
    return BaselineEdit(
        reason=change.reason,
        owner_department=change.owner_department,
        milestones=[MilestoneEdit(m.position, m.name, m.due, m.value, m.remove)
                    for m in change.milestones],
        gates=dict(change.gates),
        budget={b.year: b.planned_cost for b in change.budget},
        risks=[RiskEdit(r.id, r.text, r.level, r.close) for r in change.risks],
    )  # fmt: skip


def change_baseline(
    db: Database,
    unit: str,
    code: str,
    change: BaselineChange | Mapping[str, Any],
    *,
    actor: Principal,
) -> BaselineResult:
    """Change the baseline of ``unit``'s project ``code``, all or nothing.

    The change is checked whole (its fields here, then against the stored project: unknown
    milestones, gates or risks, a completed milestone removed, a milestone before the start …)
    and written in one transaction with one audit row holding the reason and the changed
    parts before and after. Payments and progress reports are never changed.

    Raises
    ------
    AccessDenied
        The role may not manage projects, the unit is outside the user's region, or a project
        manager changes a project neither their department's nor started by them.
    TrackedProjectNotFoundError
        The unit tracks no project ``code``.
    InputError
        The change is invalid; nothing is written.
    """
    own_project(db, unit, code, actor)  # refused before the change is read
    checked = baseline_change(change)
    stored, changed = db.tracking.change_baseline(unit, code, _edit(checked), actor=actor.username)
    return BaselineResult(stored, changed)


def baseline_summary(code: str, changed: Sequence[str], lang: str | None = None) -> str:
    """What a baseline change did, in words: the parts changed, or that nothing differed."""
    if not changed:
        return t("supervision.baseline.nothing_changed", lang, code=code)
    parts = t("supervision.baseline.sep", lang).join(
        t(f"supervision.baseline.part.{p}", lang) for p in changed
    )
    return t("supervision.baseline.changed", lang, code=code, parts=parts)
