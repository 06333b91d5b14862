"""The planner's conversions: score points per indicator (a hand-worked example), caps from the
headroom, need coverage, and the trajectory (effects the year after finishing, stopped at the
target) — with a property test tying the trajectory's end to the optimiser's capped gain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.planning.plan_gains import (
    Yardstick,
    effect_matrix,
    factor_table,
    need_values,
    project_gains,
    trajectory,
)
from cityloop.planning.project_types import CatalogueProject, EffectRange, PlanType

FW = "fw"


def yardstick(current: tuple[float, ...] = (80.0, 30.0, np.nan, 5.0)) -> Yardstick:
    """Four indicators: a percentage (higher better), a duration in days (lower better, target
    10, worst 50), a percentage the city did not report, and a band (no goalposts)."""
    return Yardstick(
        codes=("A", "B", "C", "D"),
        weight=np.array([0.3, 0.5, 0.2, 0.0]),
        target=np.array([100.0, 10.0, 100.0, np.nan]),
        worst=np.array([0.0, 50.0, 0.0, np.nan]),
        direction=np.array([1, -1, 1, 0]),
        current=np.array(current),
        scale=100.0,
    )


def project(
    code: str,
    effects: dict[str, float],
    cost: tuple[float, ...] = (100.0,),
    applications: tuple[str, ...] = (),
    framework: str = FW,
) -> CatalogueProject:
    return CatalogueProject(
        code=code, name_zh=code, name_en=code, domain="egov", description_zh="",
        description_en="", cost=cost, staff=tuple(1.0 for _ in cost), prerequisites=(),
        plan_types=(PlanType.LIVELIHOOD,), applications=applications,
        effects=tuple(EffectRange(framework, i, v / 2, v, 2 * v) for i, v in effects.items()),
        foundation=3, importance=4,
    )  # fmt: skip


def test_gain_is_weight_times_improvement_over_the_goalpost_range_on_the_score_scale() -> None:
    y = yardstick()
    # A: 0.3 × 10 / |100 − 0| × 100 = 3.0 points; B: 0.5 × 8 days / |10 − 50| × 100 = 10.0.
    projects = [project("p", {"A": 10.0, "B": 8.0}), project("q", {"C": 25.0})]
    effects, ignored = effect_matrix(projects, y, FW, "likely")
    gains = project_gains(effects, y)
    assert gains[0].tolist() == pytest.approx([3.0, 10.0, 0.0, 0.0])
    assert gains[1].tolist() == pytest.approx([0.0, 0.0, 5.0, 0.0])
    assert ignored == []
    low, _ = effect_matrix(projects, y, FW, "low")
    assert project_gains(low, y)[0, 0] == pytest.approx(1.5)


def test_caps_are_the_headroom_to_the_target_and_the_whole_range_when_unreported() -> None:
    y = yardstick()
    # A: 20 points short of 100; B: 30 days, 20 above the target of 10; C unreported: 100.
    assert y.headroom[:3].tolist() == pytest.approx([20.0, 20.0, 100.0])
    assert y.cap[:3].tolist() == pytest.approx([6.0, 25.0, 20.0])
    past = yardstick((100.0, 8.0, np.nan, 5.0))
    assert past.headroom[:2].tolist() == [0.0, 0.0]
    assert np.isnan(y.cap[3])  # a band has no goalposts: no cap and no gain


def test_effects_outside_the_framework_or_without_goalposts_are_reported_not_counted() -> None:
    y = yardstick()
    projects = [project("p", {"D": 3.0, "Z": 1.0}), project("q", {"A": 4.0}, framework="other")]
    effects, ignored = effect_matrix(projects, y, FW, "likely")
    assert effects.sum() == 0.0
    assert ignored == [("p", "D"), ("p", "Z")]


def test_need_value_is_lambda_times_the_summed_demand_share() -> None:
    projects = [project("p", {}, applications=("a", "b")), project("q", {}, applications=("c",))]
    values = need_values(projects, {"a": 60.0, "b": 20.0}, need_weight=5.0)
    assert values.tolist() == pytest.approx([4.0, 0.0])


def test_factor_table_has_the_five_factors() -> None:
    table = factor_table([project("p", {}, cost=(100.0, 50.0))])
    assert table.iloc[0].to_dict() == {"code": "p", "foundation": 3, "importance": 4,
                                       "cycle": 2, "funding": 150.0, "personnel": 2.0}  # fmt: skip


def test_effects_count_from_the_year_after_finishing_and_stop_at_the_target() -> None:
    y = yardstick()
    # p improves A by 15 and finishes in plan year 1; q improves A by 15 more, finishing in 2.
    effects = np.array([[15.0, 0, 0, 0], [15.0, 0, 0, 0], [0, 0, 0, 0]])
    path = trajectory(effects, np.array([1, 2, -1]), y, baseline_total=50.0, first_year=2026,
                      horizon=5, thresholds=(40.0, 60.0, 80.0))  # fmt: skip
    assert path.years.tolist() == [2026, 2027, 2028, 2029, 2030, 2031]
    assert path.values[:, 0].tolist() == [80.0, 80.0, 95.0, 100.0, 100.0, 100.0]
    assert path.total.tolist() == pytest.approx([50.0, 50.0, 54.5, 56.0, 56.0, 56.0])
    assert path.stage.tolist() == [1] * 6
    lower = trajectory(np.array([[0, 12.0, 0, 0]]), np.array([0]), y, baseline_total=59.0,
                       first_year=2026, horizon=2, thresholds=(40.0, 60.0, 80.0))  # fmt: skip
    assert lower.values[:, 1].tolist() == [30.0, 18.0, 18.0]  # days fall towards 10
    assert lower.stage.tolist() == [1, 2, 2]  # 59 + 0.5 × 12 / 40 × 100 = 74


@settings(max_examples=60, deadline=None)
@given(
    effects=st.lists(st.lists(st.floats(0, 40), min_size=4, max_size=4), min_size=1, max_size=6),
    finish=st.lists(st.integers(-1, 4), min_size=6, max_size=6),
    current=st.tuples(st.floats(0, 100), st.floats(10, 50), st.just(np.nan), st.just(5.0)),
)
def test_the_path_rises_never_passes_the_target_and_ends_at_the_capped_gain(
    effects: list[list[float]], finish: list[int], current: tuple[float, ...]
) -> None:
    y = yardstick(current)
    matrix = np.array(effects)
    done = np.array(finish[: len(effects)], dtype=np.int64)
    path = trajectory(matrix, done, y, baseline_total=40.0, first_year=2026, horizon=5,
                      thresholds=(40.0, 60.0, 80.0))  # fmt: skip
    assert np.all(np.diff(path.total) >= -1e-9)
    assert np.all(path.values[:, 0] <= 100.0 + 1e-9) and np.all(path.values[:, 1] >= 10.0 - 1e-9)
    chosen = done >= 0  # every chosen project has finished by the year after the last phase
    gains = project_gains(matrix, y)
    capped = np.minimum(gains[chosen].sum(axis=0), np.nan_to_num(y.cap, nan=0.0)).sum()
    assert path.total[-1] - 40.0 == pytest.approx(capped, abs=1e-9)
