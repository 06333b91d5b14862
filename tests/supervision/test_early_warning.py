"""Early warnings fire exactly on the planted projects and not on the clean ones, switch on just
past each threshold and not at it, and roll up into the dashboard's traffic lights."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from importlib import resources

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.errors import InputError
from cityloop.i18n import t
from cityloop.supervision.early_warning import (
    RULES_FILE,
    EarlyWarning,
    WarningKind,
    early_warnings,
    parse_rules,
    project_lights,
    traffic_lights,
    warning_text,
)
from cityloop.supervision.tracking import (
    BudgetYear,
    GateKind,
    Milestone,
    QualityGate,
    SpendEntry,
    TrackedProject,
)

RULES = parse_rules(
    yaml.safe_load(resources.files("cityloop.supervision").joinpath(RULES_FILE).read_text("utf-8"))
).warnings
STATUS = date(2026, 6, 30)
LIGHTS = ("green", "amber", "red")
K = WarningKind


def clean(code: str, **fields) -> TrackedProject:  # type: ignore[no-untyped-def]
    """A project exactly as it should be on 30 Jun 2026.

    PV = 40 + 60 × 91/183 = 69.84 (m1 done; m2's span 31 Mar → 30 Sep is 91 of 183 days in);
    EV = 40 + 50 % × 60 = 70 → SPI 1.002; AC = 40 + 30 = 70 → CPI 1; 2026 spend 70 ≤ budget 100.
    """
    base = {
        "name": code,
        "domain": "egov",
        "phase": "启动实施",
        "owner_department": "大数据局",
        "start_date": date(2026, 1, 1),
        "last_update": date(2026, 6, 25),
        "budget": (BudgetYear(2026, 100),),
        "milestones": (
            Milestone("m1", date(2026, 3, 31), 40, 100, date(2026, 3, 31)),
            Milestone("m2", date(2026, 9, 30), 60, 50),
        ),
        "spend": (SpendEntry(date(2026, 3, 31), 40), SpendEntry(date(2026, 6, 1), 30)),
        "gates": (
            QualityGate(GateKind.DESIGN_REVIEW, date(2026, 2, 1), date(2026, 2, 1)),
            QualityGate(GateKind.SECURITY_ASSESSMENT, date(2026, 9, 15)),
            QualityGate(GateKind.ACCEPTANCE_TEST, date(2026, 10, 15)),
            QualityGate(GateKind.TRIAL_OPERATION, date(2026, 11, 1)),
        ),
    }
    return TrackedProject(code, **(base | fields))


def gates(**changed: QualityGate | None) -> tuple[QualityGate, ...]:
    """The clean gates with some replaced (``None`` drops one)."""
    by_kind = {g.kind.value: g for g in clean("x").gates} | changed
    return tuple(g for g in by_kind.values() if g is not None)


CLEAN = clean("x")
M1, M2 = CLEAN.milestones
PLANTED = [
    clean("clean_a"),
    # EV = 40 + 10 % × 60 = 46 → SPI 46/69.84 = 0.659 (red); paid only 46 so CPI stays 1.
    clean("late_spi", milestones=(M1, replace(M2, percent_complete=10)),
          spend=(SpendEntry(date(2026, 3, 31), 46),)),
    # m1 still 90 % done, 91 days past 31 Mar (red); EV 36 + 30 = 66, SPI 0.945, paid 66.
    clean("late_milestone", milestones=(replace(M1, percent_complete=90, completed_date=None), M2),
          spend=(SpendEntry(date(2026, 3, 31), 66),)),
    # AC 90 against EV 70 → CPI 0.778 (red); 90 ≤ 2026 budget 100 × 1.1.
    clean("over_cpi", spend=(SpendEntry(date(2026, 3, 31), 90),)),
    # 2026 budget 60: 70 spent > 60 × 1.1 = 66 (amber); CPI 1.
    clean("over_year", budget=(BudgetYear(2026, 60), BudgetYear(2027, 40))),
    # Design review due 1 Feb, passed 1 Mar: 28 days late (amber).
    clean("gate_late", gates=gates(
        design_review=QualityGate(GateKind.DESIGN_REVIEW, date(2026, 2, 1), date(2026, 3, 1)))),
    clean("gate_skipped", gates=gates(
        security_assessment=QualityGate(GateKind.SECURITY_ASSESSMENT, date(2026, 9, 15),
                                        skipped=True))),
    # Acceptance test passed early (1 May) while the security assessment is still open.
    clean("gate_order", gates=gates(
        acceptance_test=QualityGate(GateKind.ACCEPTANCE_TEST, date(2026, 10, 15),
                                    date(2026, 5, 1)))),
    # Trial operation passed with no acceptance test in the project at all (and before the
    # open security assessment: out of order too, the same kind).
    clean("trial_alone", gates=gates(
        acceptance_test=None,
        trial_operation=QualityGate(GateKind.TRIAL_OPERATION, date(2026, 11, 1),
                                    date(2026, 6, 1)))),
    # Last updated 1 Apr: 90 days ago, more than 30 (amber), not more than 90.
    clean("stale", last_update=date(2026, 4, 1)),
    # Finished early and quiet since: not stale, nothing late.
    clean("finished_quiet", last_update=date(2026, 1, 1),
          milestones=(M1, replace(M2, completed_date=date(2026, 6, 15))),
          spend=(SpendEntry(date(2026, 3, 31), 40), SpendEntry(date(2026, 6, 15), 60))),
    # No milestones: PV = 365 × 181/365 = 181 (1 Jan–30 Jun); EV = 50 % × 365 = 182.5; AC 180.
    clean("budget_only", milestones=(), budget=(BudgetYear(2026, 365),), percent_complete=50,
          spend=(SpendEntry(date(2026, 5, 1), 180),)),
]  # fmt: skip


def pairs(warnings: tuple[EarlyWarning, ...]) -> set[tuple[str, WarningKind]]:
    return {(w.project, w.kind) for w in warnings}


def test_each_rule_fires_on_exactly_its_planted_projects() -> None:
    found = early_warnings(PLANTED, STATUS, RULES)
    assert pairs(found) == {
        ("late_spi", K.DELAY),
        ("late_milestone", K.DELAY),
        ("over_cpi", K.OVERSPEND),
        ("over_year", K.OVERSPEND),
        ("gate_late", K.GATE_LATE),
        ("gate_skipped", K.GATE_SKIPPED),
        ("gate_order", K.GATE_SKIPPED),
        ("trial_alone", K.GATE_SKIPPED),
        ("stale", K.STALE),
    }
    by = {(w.project, w.key): w for w in found}
    assert by["late_spi", "supervision.warning.delay_spi"].severity == "red"
    assert by["late_spi", "supervision.warning.delay_spi"].params["spi"] == 0.659
    late = by["late_milestone", "supervision.warning.delay_milestone"]
    assert (late.severity, late.params["days"], late.params["planned"]) == ("red", 91, "2026-03-31")
    assert by["over_cpi", "supervision.warning.overspend_cpi"].params["cpi"] == 0.778
    year = by["over_year", "supervision.warning.overspend_year"]
    assert (year.severity, year.params["year"], year.params["percent"]) == ("amber", 2026, 16.7)
    assert by["gate_late", "supervision.warning.gate_passed_late"].params["days"] == 28
    assert by["gate_order", "supervision.warning.gate_out_of_order"].params["before"] == (
        "security_assessment"
    )
    assert ("trial_alone", "supervision.warning.trial_without_acceptance") in by
    assert by["stale", "supervision.warning.stale"].severity == "amber"


@settings(max_examples=30)
@given(
    st.permutations(PLANTED).flatmap(
        lambda p: st.lists(st.sampled_from(p), unique_by=lambda x: x.code)
    )
)
def test_a_portfolio_warns_as_its_projects_do_alone(chosen: list[TrackedProject]) -> None:
    # The vectorised rules must not mix projects up: any subset, in any order, gives each
    # project exactly the warnings it has on its own, in input order.
    together = early_warnings(chosen, STATUS, RULES)
    alone = tuple(w for p in chosen for w in early_warnings([p], STATUS, RULES))
    assert together == alone


def test_messages_name_the_gate_in_each_language() -> None:
    found = early_warnings([PLANTED[6]], STATUS, RULES)
    assert "安全评估" in warning_text(found[0], "zh-CN")
    assert "Security assessment" in warning_text(found[0], "en")


def one_milestone(status_offset: int, percent: float = 0) -> TrackedProject:
    """One milestone of value 100 due 10 Jan; the project was updated on the status date."""
    due = date(2026, 1, 10)
    return clean(
        "p",
        milestones=(Milestone("m", due, 100, percent),),
        spend=(),
        gates=(),
        last_update=due + timedelta(days=status_offset),
    )


@pytest.mark.parametrize(("percent", "expected"), [(90, set()), (89.9, {"amber"}), (79.9, {"red"})])
def test_spi_threshold(percent: float, expected: set[str]) -> None:
    # Status 10 Jan: PV = 100; EV = percent → SPI 0.9 (at the limit: no warning), 0.899, 0.799.
    found = early_warnings([one_milestone(0, percent)], date(2026, 1, 10), RULES)
    assert {w.severity for w in found if w.kind is K.DELAY} == expected


@pytest.mark.parametrize(
    ("late", "expected"), [(14, set()), (15, {"amber"}), (60, {"amber"}), (61, {"red"})]
)
def test_milestone_days_threshold(late: int, expected: set[str]) -> None:
    # 90 % done: SPI 0.9 does not fire, so only the overdue milestone can.
    status = date(2026, 1, 10) + timedelta(days=late)
    found = early_warnings([one_milestone(late, 90)], status, RULES)
    assert {w.severity for w in found if w.kind is K.DELAY} == expected


@pytest.mark.parametrize(
    ("spent", "expected"), [(100, set()), (100.2, {"amber"}), (112.6, {"red"})]
)
def test_cpi_threshold(spent: float, expected: set[str]) -> None:
    # EV 90 against AC 100 → CPI 0.9 (no warning); 100.2 → 0.898; 112.6 → 0.799. The year's
    # budget (1000) is far from any of these amounts.
    project = replace(
        one_milestone(0, 90),
        spend=(SpendEntry(date(2026, 1, 5), spent),),
        budget=(BudgetYear(2026, 1000),),
    )
    found = early_warnings([project], date(2026, 1, 10), RULES)
    assert {w.severity for w in found if w.kind is K.OVERSPEND} == expected


@pytest.mark.parametrize(
    ("spent", "expected"), [(110, set()), (110.01, {"amber"}), (125, {"amber"}), (125.01, {"red"})]
)
def test_yearly_budget_threshold(spent: float, expected: set[str]) -> None:
    # Budget 100 in 2026, BAC 1000 (so CPI = 500/spent stays above 1): more than 110 is amber,
    # more than 125 red.
    project = clean(
        "p",
        budget=(BudgetYear(2026, 100), BudgetYear(2027, 900)),
        gates=(),
        milestones=(Milestone("m", date(2026, 6, 30), 1000, 50),),
        spend=(SpendEntry(date(2026, 2, 1), spent),),
    )
    found = early_warnings([project], STATUS, RULES)
    assert {w.severity for w in found if w.kind is K.OVERSPEND} == expected


@pytest.mark.parametrize(("days", "expected"), [(14, set()), (15, {"amber"}), (61, {"red"})])
def test_gate_late_threshold(days: int, expected: set[str]) -> None:
    passed = date(2026, 2, 1) + timedelta(days=days)
    project = clean("p", gates=gates(
        design_review=QualityGate(GateKind.DESIGN_REVIEW, date(2026, 2, 1), passed)))  # fmt: skip
    found = early_warnings([project], STATUS, RULES)
    assert {w.severity for w in found if w.kind is K.GATE_LATE} == expected


def test_an_open_gate_past_its_grace_is_late_too() -> None:
    # Security assessment due 15 Sep, still open on 1 Oct: 16 days → amber.
    found = early_warnings([CLEAN], date(2026, 10, 1), RULES)
    late = [w for w in found if w.kind is K.GATE_LATE]
    assert [(w.key, w.params["days"], w.severity) for w in late] == [
        ("supervision.warning.gate_overdue", 16, "amber")
    ]


@pytest.mark.parametrize(("days", "expected"), [(30, set()), (31, {"amber"}), (90, {"amber"}),
                                                (91, {"red"})])  # fmt: skip
def test_stale_threshold(days: int, expected: set[str]) -> None:
    project = clean("p", last_update=STATUS - timedelta(days=days))
    found = early_warnings([project], STATUS, RULES)
    assert {w.severity for w in found if w.kind is K.STALE} == expected


def test_traffic_lights_by_share_of_red_projects() -> None:
    found = early_warnings(PLANTED, STATUS, RULES)
    codes = [p.code for p in PLANTED]
    lights = project_lights(codes, found)
    light = dict(zip(codes, lights, strict=True))
    assert light["clean_a"] == "green" and light["late_spi"] == "red"
    assert light["over_year"] == "amber" and light["stale"] == "amber"
    # Phase A: late_spi (red) + 3 clean → 1/4 = 25 % red ≥ 25 % → red.
    # Phase B: late_milestone (red) + 4 clean → 20 % red → amber (it has a warning).
    # Phase C: over_year (amber) → amber. Phase D: clean only → green.
    groups = ["A", "A", "A", "A", "B", "B", "B", "B", "B", "C", "D", "D"]
    chosen = ["late_spi", "clean_a", "finished_quiet", "budget_only",
              "late_milestone", "clean_a", "finished_quiet", "budget_only", "clean_a",
              "over_year", "clean_a", "budget_only"]  # fmt: skip
    result = traffic_lights(groups, [light[c] for c in chosen], RULES)
    assert [(g.group, g.light, g.projects, g.red, g.amber) for g in result] == [
        ("A", "red", 4, 1, 0),
        ("B", "amber", 5, 1, 0),
        ("C", "amber", 1, 0, 1),
        ("D", "green", 2, 0, 0),
    ]


def test_rules_file_faults_are_named_by_key() -> None:
    with pytest.raises(InputError) as caught:
        parse_rules({"delay": {"spi_amber": 0.7, "spi_red": 0.8}}, "mine.yaml")
    columns = {p.location.column for p in caught.value.problems}
    assert {"delay.spi_red", "stale.days_amber", "lights.red_share"} <= columns
    assert "boundary.max_infrastructure_ratio" in columns
    assert all(p.location.file == "mine.yaml" for p in caught.value.problems)


def test_a_project_with_milestones_only_has_no_yearly_rule() -> None:
    # No yearly budget and 300 spent against a BAC of 100: only CPI can speak (EV 50 / AC 300).
    project = clean("p", budget=(), spend=(SpendEntry(date(2026, 1, 5), 300),))
    found = early_warnings([project], date(2026, 1, 10), RULES)
    assert [w.key for w in found if w.kind is K.OVERSPEND] == []  # EV 0 on 10 Jan: not judged
    found = early_warnings([project], STATUS, RULES)
    assert [(w.key, w.severity) for w in found if w.kind is K.OVERSPEND] == [
        ("supervision.warning.overspend_cpi", "red")
    ]
    assert early_warnings([replace(project, spend=())], STATUS, RULES) == ()


def test_every_kind_and_light_has_a_name_in_both_languages() -> None:
    for lang in ("zh-CN", "en"):
        assert all(kind.label(lang) != f"supervision.warning_kind.{kind}" for kind in K)
        assert all(t(f"supervision.light.{x}", lang) != f"supervision.light.{x}" for x in LIGHTS)
    assert K.GATE_SKIPPED.label("zh-CN") == "关口跳过或顺序错误"
