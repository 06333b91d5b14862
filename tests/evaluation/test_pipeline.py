"""The whole evaluation pipeline on the mini framework: hand-computed scores and properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityloop.datahub.units import build_units
from cityloop.errors import ConfigError, InputError, MethodError
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import ValuesCube, build_cube
from cityloop.evaluation.groups import groups_from_memberships
from cityloop.evaluation.pipeline import evaluate_cube
from cityloop.evaluation.result import TOTAL
from cityloop.frameworks import Framework, load_framework

MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"
NAN = np.nan


@pytest.fixture(scope="module")
def fw() -> Framework:
    return load_framework(MINI)


def cube_of(
    rows: dict[str, list[float]], fw: Framework, years: tuple[int, ...] = (2024,)
) -> ValuesCube:
    """rows: unit -> values of I1..I5 for each year, concatenated."""
    records = []
    for unit, vals in rows.items():
        for yi, year in enumerate(years):
            for ii, code in enumerate(fw.indicator_codes):
                v = vals[yi * 5 + ii]
                if not np.isnan(v):
                    records.append((unit, year, code, v))
    return build_cube(pd.DataFrame(records, columns=["unit", "year", "indicator", "value"]), fw)


def test_goalposts_scores_by_hand(fw: Framework) -> None:
    # I1 % 0→100, I2 days 20→1 (lower), I3 % (no goalposts: observed), I4 band [10,20], I5 count
    cube = cube_of(
        {"A": [50, 10.5, 80, 15, 4], "B": [100, 1, 60, 25, 2], "C": [0, 20, 70, 30, 0]}, fw
    )
    r = evaluate_cube(cube, fw, EvaluationConfig(normalisation={"method": "goalposts"}))
    # A: I1 .5, I2 (20-10.5)/19 = .5; D1 = .5.
    #    I3 observed 60→80: 1.0; I4 inside band: 1; I5 observed 0→4: 1 → D2 = 1.
    #    total = 100 × (0.6 × .5 + 0.4 × 1) = 70
    a = cube.units.index("A")
    np.testing.assert_allclose(r.scores[a, 0, -1], 70.0)
    # B: D1 = (1 + 1)/2 = 1; I3 0; I4 25 is 5 from band, worst observed distance 10 → .5; I5 .5
    b = cube.units.index("B")
    np.testing.assert_allclose(r.scores[b, 0, -1], 100 * (0.6 + 0.4 * (0 + 0.5 + 0.5) / 3))
    assert r.ranks[b, 0, -1] == 1 and r.ranks[a, 0, -1] == 2  # 73.3 beats 70
    assert "I3" in r.goalpost_fallback and "I1" not in r.goalpost_fallback


def test_same_inputs_give_bit_identical_outputs(fw: Framework) -> None:
    rng = np.random.default_rng(3)
    rows = {f"U{i}": list(rng.uniform(0, 30, 10)) for i in range(12)}
    cfg = EvaluationConfig(weights={"method": "entropy"}, outliers={"method": "winsorise"})
    one = evaluate_cube(cube_of(rows, fw, (2023, 2024)), fw, cfg)
    two = evaluate_cube(cube_of(rows, fw, (2023, 2024)), fw, cfg)
    assert one.scores.tobytes() == two.scores.tobytes()
    assert one.provenance == two.provenance
    pd.testing.assert_frame_equal(one.contributions_table, two.contributions_table)


def test_low_coverage_unit_years_are_refused_and_reported(fw: Framework) -> None:
    cube = cube_of({"A": [1, 2, 3, 4, 5], "B": [1, NAN, NAN, NAN, 5], "C": [9, 9, 9, 9, 9]}, fw)
    r = evaluate_cube(cube, fw, EvaluationConfig(min_coverage=0.6))
    assert r.excluded["unit"].tolist() == ["B"]
    assert "B" not in r.summary()["unit"].tolist()
    assert r.coverage_table.set_index("unit").loc["B", "observed"] == pytest.approx(0.4)


def test_group_ranks_and_group_scores(fw: Framework) -> None:
    units = build_units(
        pd.DataFrame(
            {
                "code": ["P1", "P2", "A", "B", "C"],
                "name_zh": ["甲省", "乙省", "A", "B", "C"],
                "level": ["province", "province", "city", "city", "city"],
                "parent": [None, None, "P1", "P1", "P2"],
                "groups": [None, None, "群", "群", "群"],
            }
        )
    )
    cube = cube_of(
        {"A": [90, 2, 80, 15, 9], "B": [10, 19, 10, 50, 0], "C": [50, 10, 50, 15, 5]}, fw
    )
    groups = groups_from_memberships(units.memberships, cube.units)
    r = evaluate_cube(cube, fw, EvaluationConfig(), groups)
    ranks = r.ranks_table
    total = ranks[(ranks["node"] == TOTAL)]
    by_scope = total.set_index(["scope_kind", "scope", "unit"])["rank"]
    assert by_scope[("all", "all", "A")] == 1
    assert by_scope[("province", "P1", "B")] == 2
    assert by_scope[("province", "P2", "C")] == 1
    assert by_scope[("cluster", "群", "C")] == 2
    gs = r.group_scores.set_index(["group_kind", "group", "node"])
    a, b = r.scores[cube.units.index("A"), 0, -1], r.scores[cube.units.index("B"), 0, -1]
    assert gs.loc[("province", "P1", TOTAL), "mean"] == pytest.approx((a + b) / 2)


def test_group_imputation_needs_the_group_kind(fw: Framework) -> None:
    cube = cube_of({"A": [1, 2, 3, 4, 5], "B": [1, NAN, 3, 4, 5]}, fw)
    with pytest.raises(ConfigError) as err:
        evaluate_cube(cube, fw, EvaluationConfig(imputation=["group_mean"]))
    assert "province" in str(err.value)


def test_ahp_override_sets_weights_and_refuses_inconsistency(fw: Framework) -> None:
    cube = cube_of({"A": [1, 2, 3, 4, 5], "B": [5, 4, 3, 2, 1]}, fw)
    cfg = EvaluationConfig(
        weights={"ahp": {"TOTAL": {"children": ["D1", "D2"], "matrices": [[[1, 3], [1 / 3, 1]]]}}}
    )
    r = evaluate_cube(cube, fw, cfg)
    np.testing.assert_allclose(r.weight[:2], [0.75, 0.25])
    bad = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    cfg = EvaluationConfig(
        weights={"ahp": {"D2": {"children": ["I3", "I4", "I5"], "matrices": [bad]}}}
    )
    with pytest.raises(MethodError):
        evaluate_cube(cube, fw, cfg)
    wrong = EvaluationConfig(
        weights={"ahp": {"D2": {"children": ["I3", "I4"], "matrices": [[[1, 1], [1, 1]]]}}}
    )
    with pytest.raises(ConfigError):
        evaluate_cube(cube, fw, wrong)


def test_strengths_and_weaknesses_point_at_the_gaps(fw: Framework) -> None:
    cube = cube_of(
        {"A": [100, 1, 0, 15, 0], "B": [50, 10, 50, 15, 5], "C": [0, 20, 100, 15, 10]}, fw
    )
    sw = evaluate_cube(cube, fw, EvaluationConfig()).strengths_weaknesses(k=2)
    a = sw[sw["unit"] == "A"].set_index(["side", "position"])["indicator"]
    assert {a[("strength", 1)], a[("strength", 2)]} == {"I1", "I2"}
    assert {a[("weakness", 1)], a[("weakness", 2)]} == {"I3", "I5"}
    # Against the target (full marks) A loses most on I3 and I5, where it scores 0.
    assert {a[("target_gap", 1)], a[("target_gap", 2)]} == {"I3", "I5"}
    points = sw.set_index(["unit", "side", "position"])["gap"]
    assert points[("A", "strength", 1)] > 0
    assert points[("A", "weakness", 1)] < 0
    assert points[("A", "target_gap", 1)] > 0


def test_z_score_has_no_stage_and_warns(fw: Framework) -> None:
    cube = cube_of({"A": [1, 2, 3, 4, 5], "B": [5, 4, 3, 2, 1], "C": [2, 2, 2, 2, 2]}, fw)
    r = evaluate_cube(cube, fw, EvaluationConfig(normalisation={"method": "z_score"}))
    assert (r.stages == -1).all()
    assert "eval.warn.no_stage_unbounded" in r.warnings


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.floats(0, 100), min_size=5, max_size=5), min_size=2, max_size=8),
    st.integers(0, 7),
    st.floats(0, 50),
    st.sampled_from(["min_max", "rank", "goalposts", "distance_to_best", "z_score"]),
)
def test_raising_a_higher_is_better_value_never_lowers_the_units_score(
    rows: list[list[float]], unit: int, raise_by: float, method: str
) -> None:
    fw = load_framework(MINI)
    unit %= len(rows)
    base = {f"U{i}": r for i, r in enumerate(rows)}
    raised = {k: list(v) for k, v in base.items()}
    raised[f"U{unit}"][0] += raise_by  # I1 is higher-is-better
    raised[f"U{unit}"][0] = min(raised[f"U{unit}"][0], 100.0)
    cfg = EvaluationConfig(normalisation={"method": method})
    before = evaluate_cube(cube_of(base, fw), fw, cfg)
    after = evaluate_cube(cube_of(raised, fw), fw, cfg)
    i = before.cube.units.index(f"U{unit}")
    assert after.scores[i, 0, -1] >= before.scores[i, 0, -1] - 1e-9


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.one_of(st.floats(0, 100), st.just(NAN)), min_size=5, max_size=5),
        min_size=3,
        max_size=10,
    ),
    st.sampled_from(["framework", "equal", "entropy", "critic", "pca"]),
)
def test_weights_of_every_node_sum_to_one(rows: list[list[float]], method: str) -> None:
    fw = load_framework(MINI)
    cube = cube_of({f"U{i}": r for i, r in enumerate(rows)}, fw)
    if np.isnan(cube.values).all():  # nothing to weigh: refused, see the test below
        return
    r = evaluate_cube(cube, fw, EvaluationConfig(weights={"method": method}, min_coverage=0.0))
    parent = np.where(fw.parent < 0, fw.n_nodes, fw.parent)
    sums = np.bincount(parent, weights=r.weight[:-1], minlength=fw.n_nodes + 1)
    has_children = np.bincount(parent, minlength=fw.n_nodes + 1) > 0
    np.testing.assert_allclose(sums[has_children], 1.0, atol=1e-9)
    assert np.all(r.weight >= 0)


def test_a_cube_without_any_value_is_refused_clearly() -> None:
    fw = load_framework(MINI)
    cube = cube_of({f"U{i}": [NAN] * 5 for i in range(3)}, fw)
    with pytest.raises(InputError, match="没有任何"):
        evaluate_cube(cube, fw, EvaluationConfig(min_coverage=0.0))
