"""Boundary checks: each missing link and each unrelated project is flagged on exactly the
planted projects, and the infrastructure / citizen-facing split is worked by hand."""

from __future__ import annotations

import math
from datetime import date
from importlib import resources

import pytest
import yaml

from cityloop.i18n import t
from cityloop.supervision.boundary import (
    INFRASTRUCTURE_HEAVY,
    BoundaryKind,
    link_flags,
    spending_classes,
    spending_split,
)
from cityloop.supervision.early_warning import RULES_FILE, parse_rules
from cityloop.supervision.tracking import BudgetYear, SpendEntry, TrackedProject

RULES = parse_rules(
    yaml.safe_load(resources.files("cityloop.supervision").joinpath(RULES_FILE).read_text("utf-8"))
).boundary
DOMAINS = {"egov", "network", "iot", "health", "industry"}


def project(code: str, domain: str = "egov", cost: float = 100, **fields) -> TrackedProject:  # type: ignore[no-untyped-def]
    base = {
        "name": code,
        "domain": domain,
        "phase": "启动实施",
        "owner_department": "大数据局",
        "start_date": date(2026, 1, 1),
        "last_update": date(2026, 1, 1),
        "plan_types": ("livelihood",),
        "indicators": ("L2P1-X",),
        "needs": ("one_stop",),
        "budget": (BudgetYear(2026, cost),),
        "spend": (SpendEntry(date(2026, 3, 1), cost / 2),),
    }
    return TrackedProject(code, **(base | fields))


def test_missing_links_and_unrelated_projects_are_flagged_exactly() -> None:
    projects = [
        project("linked"),
        project("no_indicator", indicators=()),
        project("no_need", needs=()),
        project("no_links", indicators=(), needs=()),
        project("no_type", plan_types=()),
        project("car_park", domain="parking"),
        project("linked_too", domain="network", plan_types=("infrastructure",)),
    ]
    flags = link_flags(projects, DOMAINS)
    assert [(f.project, f.kind, f.key) for f in flags] == [
        ("no_indicator", BoundaryKind.NO_INDICATOR, "supervision.boundary.no_indicator"),
        ("no_need", BoundaryKind.NO_NEED, "supervision.boundary.no_need"),
        ("no_links", BoundaryKind.NO_INDICATOR, "supervision.boundary.no_indicator"),
        ("no_links", BoundaryKind.NO_NEED, "supervision.boundary.no_need"),
        ("no_type", BoundaryKind.UNRELATED, "supervision.boundary.no_plan_type"),
        ("car_park", BoundaryKind.UNRELATED, "supervision.boundary.unknown_domain"),
    ]
    assert "parking" in t(flags[-1].key, "en", **flags[-1].params)


def test_spending_classes_follow_plan_type_then_domain() -> None:
    projects = [
        project("fibre", "network", plan_types=("infrastructure",)),  # infrastructure
        project("clinic", "health"),  # citizen-facing by plan type and domain
        project("sensors", "iot", plan_types=("infrastructure", "livelihood")),  # both: ½ + ½
        project("factory", "industry", plan_types=("industry",)),  # neither
        project("portal", "egov", plan_types=("innovation",)),  # citizen-facing by domain
    ]
    infra, citizen = spending_classes(projects, RULES)
    assert infra.tolist() == [1, 0, 0.5, 0, 0]
    assert citizen.tolist() == [0, 1, 0.5, 0, 1]


def test_programme_heavy_on_infrastructure_is_flagged() -> None:
    projects = [
        project("fibre", "network", 300, plan_types=("infrastructure",)),
        project("clinic", "health", 100),
        project("sensors", "iot", 100, plan_types=("infrastructure", "livelihood")),
        project("factory", "industry", 50, plan_types=("industry",)),
    ]
    planned = spending_split(projects, RULES, basis="planned")
    # Infrastructure 300 + ½ × 100 = 350; citizen-facing 100 + ½ × 100 = 150; other 50.
    assert (planned.infrastructure, planned.citizen, planned.other) == (350, 150, 50)
    assert planned.ratio == pytest.approx(350 / 150)  # 2.33 > 2
    assert planned.infrastructure_share == pytest.approx(350 / 550)
    assert planned.flagged
    assert "2.33" in t(INFRASTRUCTURE_HEAVY, "en", **planned.params)
    # Half of each budget was spent by 1 Mar: the same split at half the amounts.
    actual = spending_split(projects, RULES, basis="actual")
    assert (actual.infrastructure, actual.citizen, actual.flagged) == (175, 75, True)
    before = spending_split(projects, RULES, basis="actual", status_date=date(2026, 2, 1))
    assert before.infrastructure == 0 and math.isnan(before.ratio) and not before.flagged


@pytest.mark.parametrize(("fibre", "flagged"), [(200, False), (201, True)])
def test_ratio_threshold(fibre: float, flagged: bool) -> None:
    # Citizen-facing 100: infrastructure 200 is exactly twice (not more), 201 is more.
    projects = [
        project("fibre", "network", fibre, plan_types=("infrastructure",)),
        project("clinic", "health", 100),
    ]
    assert spending_split(projects, RULES, basis="planned").flagged is flagged


def test_only_infrastructure_is_flagged() -> None:
    only = [project("fibre", "network", 10, plan_types=("infrastructure",))]
    split = spending_split(only, RULES, basis="planned")
    assert split.ratio == math.inf and split.flagged


def test_every_boundary_kind_has_a_name_in_both_languages() -> None:
    for lang in ("zh-CN", "en"):
        assert all(k.label(lang) != f"supervision.boundary_kind.{k}" for k in BoundaryKind)
    assert BoundaryKind.NO_NEED.label("en") == "No need linked"
