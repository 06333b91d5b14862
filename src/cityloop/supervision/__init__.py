"""Supervision and outcome assessment: earned value, early warnings, boundary checks, and
whether delivered projects moved the indicators they promised (pure computation, no I/O)."""

from cityloop.supervision.boundary import (
    BoundaryFlag,
    BoundaryKind,
    SpendingSplit,
    link_flags,
    spending_split,
)
from cityloop.supervision.early_warning import (
    EarlyWarning,
    GroupLight,
    SupervisionRules,
    WarningKind,
    early_warnings,
    parse_rules,
    project_lights,
    traffic_lights,
    warning_text,
)
from cityloop.supervision.earned_value import EarnedValueFigures, earned_value, roll_up
from cityloop.supervision.effect_update import (
    ObservedEffect,
    UpdatedEffect,
    update_effect_range,
    update_project_effects,
)
from cityloop.supervision.outcomes import DiDResult, did_effect
from cityloop.supervision.outcomes_verdict import Assessment, Verdict, assess_project
from cityloop.supervision.tracking import (
    BudgetYear,
    GateKind,
    Milestone,
    QualityGate,
    Risk,
    RiskLevel,
    SpendEntry,
    TrackedProject,
    validate_projects,
)

__all__ = [
    "Assessment",
    "BoundaryFlag",
    "BoundaryKind",
    "BudgetYear",
    "DiDResult",
    "EarlyWarning",
    "EarnedValueFigures",
    "GateKind",
    "GroupLight",
    "Milestone",
    "ObservedEffect",
    "QualityGate",
    "Risk",
    "RiskLevel",
    "SpendEntry",
    "SpendingSplit",
    "SupervisionRules",
    "TrackedProject",
    "UpdatedEffect",
    "Verdict",
    "WarningKind",
    "assess_project",
    "did_effect",
    "early_warnings",
    "earned_value",
    "link_flags",
    "parse_rules",
    "project_lights",
    "roll_up",
    "spending_split",
    "traffic_lights",
    "update_effect_range",
    "update_project_effects",
    "validate_projects",
    "warning_text",
]
