"""Tracked-project records: every fault is reported at once with the project's row and field,
and valid records flatten into the arrays earned value and the warnings read."""

from __future__ import annotations

from datetime import date

import pytest

from cityloop.errors import InputError
from cityloop.i18n import catalogue
from cityloop.supervision.tracking import (
    GATE_ORDER,
    BudgetYear,
    GateKind,
    Milestone,
    QualityGate,
    RiskLevel,
    SpendEntry,
    TrackedProject,
    day_number,
    validate_projects,
)


def project(code: str, **fields) -> TrackedProject:  # type: ignore[no-untyped-def]
    base = {
        "name": code,
        "domain": "egov",
        "phase": "启动实施",
        "owner_department": "大数据局",
        "start_date": date(2026, 1, 1),
        "last_update": date(2026, 1, 1),
        "budget": (BudgetYear(2026, 100),),
    }
    return TrackedProject(code, **(base | fields))


def test_every_fault_is_reported_with_row_and_field() -> None:
    bad = [
        project("a"),
        project("a", budget=(BudgetYear(2026, -1), BudgetYear(2026, 5))),
        project(
            "b",
            milestones=(Milestone("late start", date(2025, 12, 1), 10, percent_complete=120),),
            gates=(
                QualityGate(GateKind.DESIGN_REVIEW, date(2026, 2, 1), date(2026, 2, 1), True),
                QualityGate(GateKind.DESIGN_REVIEW, date(2026, 3, 1)),
            ),
            spend=(SpendEntry(date(2026, 1, 2), float("nan")),),
        ),
        project("c", budget=(), percent_complete=-1),
    ]
    with pytest.raises(InputError) as caught:
        validate_projects(bad)
    found = {
        (p.key.rsplit(".", 1)[1], p.location.row, p.location.column) for p in caught.value.problems
    }
    assert found == {
        ("duplicate_code", 2, "code"),
        ("budget_year_twice", 2, "budget"),
        ("bad_amount", 2, "budget.2026"),
        ("bad_percent", 3, "milestones.1"),
        ("milestone_before_start", 3, "milestones.1"),
        ("gate_twice", 3, "gates"),
        ("gate_passed_and_skipped", 3, "gates.design_review"),
        ("bad_amount", 3, "spend.1"),
        ("bad_percent", 4, "percent_complete"),
        ("no_baseline", 4, "milestones"),
    }
    assert caught.value.key == "supervision.input.invalid"
    assert caught.value.render("en").splitlines()[0] == (
        "The project tracking data has 10 errors; nothing was changed"
    )


def test_milestones_are_ordered_and_spans_chained() -> None:
    arrays = validate_projects(
        [
            project(
                "a",
                start_date=date(2026, 1, 10),
                milestones=(
                    Milestone("second", date(2026, 3, 1), 20),
                    Milestone("first", date(2026, 2, 1), 10, 40, date(2026, 2, 3)),
                ),
            ),
            project("b"),
        ]
    )
    assert arrays.milestone_names == ("first", "second")
    # The first span starts the day before the start; the second at the first's due date.
    assert arrays.milestone_span_start.tolist() == [
        day_number(date(2026, 1, 9)),
        day_number(date(2026, 2, 1)),
    ]
    assert arrays.milestone_fraction.tolist() == [1.0, 0.0]  # completed counts as 100 %
    assert arrays.has_milestones.tolist() == [True, False]
    assert arrays.gate_present.shape == (2, len(GATE_ORDER))


def test_finished_means_every_milestone_completed() -> None:
    done = Milestone("m", date(2026, 2, 1), 10, 100, date(2026, 2, 1))
    open_one = Milestone("n", date(2026, 3, 1), 10, 100)
    assert project("a", milestones=(done,)).finished
    assert not project("a", milestones=(done, open_one)).finished
    assert project("a", percent_complete=100).finished
    assert not project("a", percent_complete=99).finished


def test_gates_and_risk_levels_have_names_in_both_languages() -> None:
    assert [g.value for g in GATE_ORDER] == [
        "design_review", "security_assessment", "acceptance_test", "trial_operation"
    ]  # fmt: skip
    for lang in ("zh-CN", "en"):
        names = catalogue(lang)
        for member in (*GateKind, *RiskLevel):
            assert member.label(lang) in names.values()
    assert GateKind.TRIAL_OPERATION.label("zh-CN") == "试运行"
