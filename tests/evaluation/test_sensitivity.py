"""Sobol indices against the Ishigami function's known values, factor groups, the weight
perturbation's properties and the sensitivity table of an uncertainty run."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from SALib.test_functions import Ishigami

from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import ValuesCube
from cityloop.evaluation.sensitivity import base_for, design_rows, sobol_design, sobol_indices
from cityloop.evaluation.uncertainty import uncertainty
from cityloop.evaluation.uncertainty_kernel import perturb_weights, segment_sums
from cityloop.frameworks import load_framework
from cityloop.i18n import use_language

# Ishigami & Homma (1990) with a = 7, b = 0.1: analytic first-order and total indices.
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


def test_ishigami_indices_match_the_analytic_values() -> None:
    design = sobol_design(["x1", "x2", "x3"], ["x1", "x2", "x3"], 2**14 * 8, seed=5)
    assert design.base == 2**14 and design.points.shape == (design_rows(3, 2**14), 3)
    assert design.points.min() >= 0 and design.points.max() < 1
    y = Ishigami.evaluate(-np.pi + 2 * np.pi * design.points)
    table = sobol_indices(design, y, seed=5)
    assert list(table["factor"]) == ["x1", "x2", "x3"]
    np.testing.assert_allclose(table["S1"], ISHIGAMI_S1, atol=0.03)
    np.testing.assert_allclose(table["ST"], ISHIGAMI_ST, atol=0.03)
    assert (table["S1_conf"] > 0).all() and (table["ST_conf"] < 0.05).all()


def test_grouped_variables_form_one_factor() -> None:
    # y = x1 + x2 with x3 inert: the group {x1, x2} explains everything.
    design = sobol_design(["x1", "x2", "x3"], ["a", "a", "b"], 2**12 * 6, seed=1)
    assert design.factors == ("a", "b")
    assert design.points.shape[0] == design_rows(2, design.base)
    y = design.points[:, 0] + design.points[:, 1]
    table = sobol_indices(design, y, seed=1)
    np.testing.assert_allclose(table["S1"], [1.0, 0.0], atol=0.02)
    np.testing.assert_allclose(table["ST"], [1.0, 0.0], atol=0.02)


def test_constant_output_gives_zero_indices() -> None:
    design = sobol_design(["x1", "x2"], ["x1", "x2"], 64, seed=1)
    table = sobol_indices(design, np.ones(design.points.shape[0]), seed=1)
    assert (table[["S1", "ST"]].to_numpy() == 0).all()


@pytest.mark.parametrize(
    ("reps", "factors", "base"), [(1000, 3, 64), (8, 3, 1), (1, 5, 1), (10_000, 10, 256)]
)
def test_base_is_the_largest_power_of_two_that_fits(reps: int, factors: int, base: int) -> None:
    assert base_for(reps, factors) == base


# -- weight perturbation ------------------------------------------------------------------------


@st.composite
def weight_trees(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(base weights (reps, n), draws u, perturbed nodes, parent ids) for random sibling groups."""
    sizes = draw(st.lists(st.integers(2, 6), min_size=1, max_size=5))
    parent = np.repeat(np.arange(len(sizes)) + 100, sizes)
    n = parent.size
    raw = draw(hnp.arrays(np.float64, n, elements=st.floats(0.01, 10)))
    base = raw / segment_sums(raw[None, :], parent)[0]
    reps = draw(st.integers(1, 8))
    u = draw(hnp.arrays(np.float64, (reps, n), elements=st.floats(0, 1, exclude_max=True)))
    full_parent = np.append(parent, -1)  # a root column with weight 0, never perturbed
    return np.tile(np.append(base, 0.0), (reps, 1)), u, np.arange(n), full_parent


@settings(max_examples=150, deadline=None)
@given(tree=weight_trees(), spread=st.floats(0, 1), mode=st.sampled_from(["uniform", "dirichlet"]))
def test_perturbed_weights_are_non_negative_and_sum_to_one_per_parent(
    tree: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], spread: float, mode: str
) -> None:
    base, u, nodes, parent = tree
    w = perturb_weights(
        base, u, nodes, parent, perturbation=mode, spread=spread, concentration=50.0
    )
    assert w.shape == base.shape
    assert (w >= 0).all()
    np.testing.assert_allclose(segment_sums(w[:, nodes], parent[nodes]), 1.0, rtol=1e-12)
    assert (w[:, -1] == 0).all()
    if mode == "uniform":  # each weight moves by at most the spread before re-scaling
        ratio = w[:, nodes] / base[:, nodes]
        bound = (1 + spread) / (1 - spread) if spread < 1 else np.inf
        assert (ratio <= bound * (1 + 1e-12)).all()


@settings(max_examples=50, deadline=None)
@given(tree=weight_trees())
def test_zero_spread_leaves_the_weights_unchanged(
    tree: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    base, u, nodes, parent = tree
    for mode, spread in (("uniform", 0.0), ("none", 0.5)):
        w = perturb_weights(
            base, u, nodes, parent, perturbation=mode, spread=spread, concentration=1.0
        )
        assert np.array_equal(w, base)


def test_dirichlet_draws_centre_on_the_weights() -> None:
    base = np.array([[0.5, 0.3, 0.2, 0.0]])
    u = np.random.default_rng(0).random((20_000, 3))
    w = perturb_weights(
        np.repeat(base, 20_000, axis=0),
        u,
        np.arange(3),
        np.array([3, 3, 3, -1]),
        perturbation="dirichlet",
        spread=0.0,
        concentration=100.0,
    )
    np.testing.assert_allclose(w[:, :3].mean(axis=0), base[0, :3], atol=0.003)
    # Var of a Dirichlet component: w(1 − w) / (c + 1).
    np.testing.assert_allclose(w[:, 0].var(), 0.25 / 101, rtol=0.05)


# -- the sensitivity table of an uncertainty run --------------------------------------------------


@pytest.fixture(scope="module")
def mini_cube() -> ValuesCube:
    fw = load_framework("tests/data/mini-framework.yaml")
    values = np.random.default_rng(4).uniform(0, 30, size=(30, 1, 5))
    return ValuesCube(tuple(f"U{i:02d}" for i in range(30)), (2024,), fw.indicator_codes, values)


def test_sensitivity_table_names_and_ranks_the_factors(mini_cube: ValuesCube) -> None:
    fw = load_framework("tests/data/mini-framework.yaml")
    result = uncertainty(
        mini_cube,
        fw,
        EvaluationConfig(),
        {
            "replications": 4000,
            "weight_spread": 0.3,
            "normalisations": ["min_max", "rank"],
            "leave_out": "dimension",
        },
    )
    factors = ["weights:TOTAL", "weights:D1", "weights:D2", "normalisation", "leave_out"]
    assert result.provenance["design"] == "sobol"
    assert result.replications == design_rows(5, result.provenance["sobol_base"])
    with use_language("en"):
        table = result.sensitivity_table
    assert list(table["factor"]) == factors
    assert list(table["label"]) == [
        "Dimension weights",
        "Weights inside Services (D1)",
        "Weights inside Environment (D2)",
        "Normalisation method",
        "Leaving one dimension out",
    ]
    with use_language("zh-CN"):
        assert result.sensitivity_table["label"].iloc[3] == "标准化方法"
    assert np.isfinite(table[["S1", "S1_conf", "ST", "ST_conf"]].to_numpy()).all()
    # Dropping one of two dimensions moves ranks far more than ±30 % on a weight.
    top = table.set_index("factor")["ST"]
    assert top["leave_out"] == top.max()
    assert list(result.factors.columns) == factors


def test_no_sensitivity_table_without_sobol_or_with_one_factor(mini_cube: ValuesCube) -> None:
    fw = load_framework("tests/data/mini-framework.yaml")
    plain = uncertainty(mini_cube, fw, EvaluationConfig(), {"replications": 300, "sobol": False})
    assert plain.sensitivity_table.empty and plain.replications == 300
    one = uncertainty(
        mini_cube,
        fw,
        EvaluationConfig(),
        {"replications": 300, "weights": "none", "normalisations": ["min_max", "z_score"]},
    )
    assert one.sensitivity_table.empty and one.provenance["design"] == "monte_carlo"
    assert list(one.factors.columns) == ["normalisation"]
