"""The plan service on both backends: the inputs come from the city's evaluation exactly as the
formula says, a solve is consistent with its trajectory, a saved plan round-trips and is
audited, the Excel export holds the result's numbers, scenarios and "why not" answer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import openpyxl
import pytest
from sqlalchemy import select

from cityloop.errors import InputError
from cityloop.services import plan as service
from cityloop.services import plan_scenarios, runs, survey_demo
from cityloop.services import store as store_service
from cityloop.services.plan_catalogue import unit_catalogue
from cityloop.services.plan_export import plan_workbook
from cityloop.services.plan_inputs import plan_inputs
from cityloop.services.plan_settings import PlanSettings, settings_from_form
from cityloop.services.plan_view import PlanView
from cityloop.services.survey_demo import CITIZEN, ENTERPRISE, GOVERNMENT
from cityloop.store import Database, Settings
from cityloop.store.models import AuditEntry
from tests.store.databases import BACKENDS, new_database_url

FW = "gbt33356-2016"
SETTINGS = PlanSettings(budget=(5000.0,), staff=(30.0,))


@dataclass
class Planned:
    db: Database
    city: str  # a city with synthetic needs surveys
    other: str  # a city without
    view: PlanView  # the city solved with SETTINGS


@pytest.fixture(scope="module", params=BACKENDS)
def planned(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Planned]:
    folder = tmp_path_factory.mktemp(f"plan-{request.param}")
    for url in new_database_url(str(request.param), folder):
        db = Database.open(Settings(database_url=url))
        db.upgrade()
        store_service.load_demo(db, [FW], n_cities=40, user="fixture")
        runs.evaluate_stored(db, FW, actor="fixture")
        units = db.units()
        assert units is not None
        cities = units.of_level("city")
        sizes = {CITIZEN: 80, GOVERNMENT: 30, ENTERPRISE: 30}
        city = survey_demo.load_demo_surveys(db, 2025, actor="fixture", sizes=sizes).unit
        other = next(c for c in cities if c != city)
        yield Planned(db, city, other, service.solve_plan(db, city, SETTINGS))
        db.dispose()


def test_inputs_follow_the_formula_from_the_stored_evaluation(planned: Planned) -> None:
    db, city = planned.db, planned.city
    inputs = plan_inputs(db, city, FW, case="likely", need_weight=5.0)
    fw = db.framework(FW)
    # The run used the framework's own weights: the share of an indicator is the product of
    # the within-parent weights up to the root.
    share = fw.path_weight()[fw.leaf_nodes]
    year = inputs.evaluated.year
    values = db.values_frame(FW, [year])
    mine = values[values["unit"] == city].set_index("indicator")["value"]
    k, i = np.argwhere(inputs.effects > 0)[0]
    code = fw.indicator_codes[i]
    span = abs(fw.target[i] - fw.worst[i])
    assert inputs.gains[k, i] == pytest.approx(share[i] * inputs.effects[k, i] / span * 100)
    headroom = max(fw.target[i] - mine[code], 0.0) if code in mine else span
    assert inputs.evaluated.yardstick.cap[i] == pytest.approx(share[i] * headroom / span * 100)
    # The needs survey: each project is worth λ × its applications' summed demand share.
    assert inputs.survey_year == 2025 and inputs.demand
    p = inputs.projects[int(np.argmax(inputs.need_value))]
    expected = 5.0 * sum(inputs.demand.get(a, 0.0) for a in p.applications) / 100
    assert inputs.need_value.max() == pytest.approx(expected) and expected > 0
    without = plan_inputs(db, planned.other, FW, case="likely", need_weight=5.0)
    assert without.survey_year is None and not without.need_value.any()


def test_a_solve_agrees_with_its_trajectory_and_limits(planned: Planned) -> None:
    view = planned.view
    assert view.status == "optimal" and view.chosen
    assert view.first_year == view.evaluation_year + 1
    assert view.objective == pytest.approx(view.need_total + view.gain_total, abs=1e-6)
    assert all(u.budget_used <= u.budget_available + 1e-6 for u in view.years)
    spent = sum(u.budget_used for u in view.years)
    assert spent == pytest.approx(sum(p.total_cost for p in view.chosen))
    first = view.trajectory[0]
    assert first.total == pytest.approx(view.baseline_total)  # nothing finished yet
    assert [p.year for p in view.trajectory] == list(range(view.first_year,
                                                           view.first_year + 6))  # fmt: skip


def test_an_impossible_setting_is_explained_and_cannot_be_saved(planned: Planned) -> None:
    view = service.solve_plan(planned.db, planned.city, SETTINGS.model_copy(
        update={"mandatory": ("one_network_gov",)}))  # fmt: skip
    assert view.status == "infeasible" and view.conflicts
    assert "one_network_gov" in view.conflicts[0].render()
    with pytest.raises(InputError, match="不可行"):
        service.save_plan(planned.db, view, SETTINGS, "x", actor="alice")
    with pytest.raises(InputError) as refused:
        service.solve_plan(planned.db, planned.city, {"mandatory": ["no_such"], "budget": [1]})
    assert "no_such" in refused.value.render()


def test_form_settings_are_checked_field_by_field() -> None:
    s = settings_from_form({"budget": "3000，4000, 5000, 5000, 5000", "staff": "20",
                            "share_livelihood": "30", "w_funding": "2"})  # fmt: skip
    assert s.yearly(s.budget, "budget")[1] == 4000.0
    assert s.min_share == {"livelihood": 0.3}
    assert s.factor_weights["funding"] == 2.0 and s.factor_weights["cycle"] == 0.0
    with pytest.raises(InputError) as refused:
        settings_from_form({"budget": "lots"})
    assert "budget" in refused.value.render()
    with pytest.raises(InputError) as wrong:
        settings_from_form({"phase_years": "2, 2.5"})
    assert "phase_years" in wrong.value.render()
    with pytest.raises(InputError, match="5"):
        PlanSettings(budget=(1.0, 2.0)).yearly((1.0, 2.0), "budget")


def test_a_saved_plan_round_trips_and_is_audited(planned: Planned) -> None:
    db, view = planned.db, planned.view
    saved = service.save_plan(db, view, SETTINGS, " 十四五示意规划 ", actor="alice")
    assert saved.name == "十四五示意规划" and saved.view == view
    again = service.plan(db, saved.id)
    assert again.view == view and again.settings.first_year == view.first_year
    assert next(p.id for p in service.plans_of(db, [planned.city])) == saved.id
    assert service.plans_of(db, [planned.other]) == []
    with db.reader() as s:
        audited = s.scalars(select(AuditEntry).where(AuditEntry.entity == "plans")).all()
    assert any(a.entity_id == str(saved.id) and a.actor == "alice" for a in audited)
    with pytest.raises(service.PlanNotFoundError):
        service.plan(db, 10**6)


def test_the_workbook_holds_the_results_numbers(planned: Planned) -> None:
    view = planned.view
    book = openpyxl.load_workbook(io.BytesIO(plan_workbook(view, SETTINGS, "p", "en")))
    assert book.sheetnames == ["Settings", "Schedule", "Budget by year", "Scores", "Trajectory"]
    rows = list(book["Schedule"].iter_rows(values_only=True))
    header = rows[0]
    assert [r[0] for r in rows[1:]] == [p.code for p in view.chosen]
    for p, row in zip(view.chosen, rows[1:], strict=True):
        by_year = {int(h): v for h, v in zip(header, row, strict=True) if str(h).isdigit()}
        assert sum(by_year.values()) == pytest.approx(p.total_cost)
        assert by_year[p.start_year] == p.cost[0]
    budget = list(book["Budget by year"].iter_rows(values_only=True))[1:]
    assert [r[2] for r in budget] == pytest.approx([u.budget_used for u in view.years])
    trajectory = list(book["Trajectory"].iter_rows(values_only=True))[1:]
    assert [r[1] for r in trajectory] == pytest.approx([p.total for p in view.trajectory])
    zh = openpyxl.load_workbook(io.BytesIO(plan_workbook(view, SETTINGS, "p", "zh-CN")))
    assert zh.sheetnames[1] == "实施计划"


def test_scenarios_change_what_they_say_and_robustness_covers_every_case(planned: Planned) -> None:
    left_out = planned.view.left_out
    forced = next(p.code for p in left_out if not p.excluded)
    specs = plan_scenarios.default_scenarios(SETTINGS, forced)
    assert [s.name for s in specs] == ["base", "budget_cut", "shorter", forced]
    c = plan_scenarios.compare(planned.db, planned.city, SETTINGS, specs)
    base, cut, shorter, mandatory = c.scenarios
    assert cut.budget_available == pytest.approx(0.8 * base.budget_available)
    assert shorter.phase_years == [2, 1, 1] and base.added == base.dropped == []
    assert cut.objective is not None and base.objective is not None
    assert cut.objective <= base.objective + 1e-6
    if mandatory.status == "optimal":
        assert forced in mandatory.chosen and forced in mandatory.added
    assert {r.code for r in c.robustness} >= set(base.chosen)
    assert all(set(r.chosen) == {"low", "likely", "high"} for r in c.robustness)


def test_why_not_forces_the_project_in_and_reports_the_cost(planned: Planned) -> None:
    cheap = min((p for p in planned.view.left_out), key=lambda p: p.total_cost)
    found = service.bring_in(planned.db, planned.city, SETTINGS, cheap.code)
    if found.possible:
        assert found.loss >= -1e-6 and found.start_year is not None
    else:
        assert found.conflicts
    with pytest.raises(InputError):
        service.bring_in(planned.db, planned.city, SETTINGS, "no_such")


def test_built_projects_count_as_finished_and_are_not_candidates(planned: Planned) -> None:
    db, city = planned.db, planned.city
    before = planned.view
    built = ("gov_extranet", "gov_cloud")
    after = service.solve_plan(db, city, SETTINGS.model_copy(update={"built": built}))
    rows = {p.code: p for p in after.projects}
    assert all(rows[c].built and not rows[c].chosen for c in built)
    # Their dependants no longer wait for them: one that needs the cloud starts in year one,
    # and with the foundation in place the plan holds more projects than without it.
    catalogue = unit_catalogue(db, city).projects
    on_cloud = [p for p in after.chosen if "gov_cloud" in catalogue[p.code].prerequisites]
    assert min(p.start_year for p in on_cloud if p.start_year is not None) == after.first_year
    assert len(after.chosen) > len(before.chosen)
    with pytest.raises(InputError) as caught:
        service.solve_plan(db, city, SETTINGS.model_copy(update={"built": ("no_such",)}))
    assert "no_such" in str(caught.value.problems[0].params)
    both = SETTINGS.model_copy(update={"built": built, "mandatory": ("gov_cloud",)})
    with pytest.raises(InputError) as caught:
        service.solve_plan(db, city, both)
    assert [p.key for p in caught.value.problems] == ["planweb.settings.built_and_mandatory"]
