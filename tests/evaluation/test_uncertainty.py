"""The uncertainty analysis: zero perturbation is the point estimate, options map to configs,
results do not depend on chunking, summaries are consistent and bad specs are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cityloop.datahub.units import build_units
from cityloop.demo.generator import generate_demo
from cityloop.errors import ConfigError
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import ValuesCube, build_cube
from cityloop.evaluation.groups import GroupKind, groups_from_memberships
from cityloop.evaluation.pipeline import evaluate_cube
from cityloop.evaluation.uncertainty import uncertainty
from cityloop.frameworks import Framework, load_framework

MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"

CONFIGS = {
    "default": EvaluationConfig(),
    "geometric_top": EvaluationConfig(aggregation={"by_level": {0: "geometric"}}),
    "goalposts_carry": EvaluationConfig(
        imputation=["carry_forward", "group_mean"], normalisation={"method": "goalposts"}
    ),
    "rank_per_year_entropy": EvaluationConfig(
        normalisation={"method": "rank", "scope": "per_year"},
        weights={"method": "entropy"},
        outliers={"method": "winsorise"},
    ),
    "z_score_geometric": EvaluationConfig(
        normalisation={"method": "z_score"}, aggregation={"default": "geometric"}
    ),
}


@pytest.fixture(scope="module")
def demo() -> tuple[ValuesCube, Framework, dict[str, GroupKind]]:
    """The synthetic demo panel on the GB/T 33356-2016 tree: missing values, 3 levels."""
    fw = load_framework("gbt33356-2016")
    data = generate_demo([fw], n_cities=40)
    cube = build_cube(data.values[fw.id], fw)
    units = build_units(data.units)
    return cube, fw, groups_from_memberships(units.memberships, cube.units)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_zero_perturbation_is_the_point_estimate(
    demo: tuple[ValuesCube, Framework, dict[str, GroupKind]], name: str
) -> None:
    cube, fw, groups = demo
    config = CONFIGS[name]
    point = evaluate_cube(cube, fw, config, groups)
    for year_index, year in enumerate(cube.years[-2:], start=len(cube.years) - 2):
        result = uncertainty(
            cube,
            fw,
            config,
            {"replications": 50, "weights": "uniform", "weight_spread": 0.0, "year": year},
            groups,
        )
        want_score = point.scores[:, year_index, -1]
        assert result.year == year
        np.testing.assert_allclose(result.point_score, want_score, rtol=0, atol=0)
        assert np.all(np.isnan(result.scores) == np.isnan(want_score)[None, :])
        np.testing.assert_allclose(
            result.scores, np.broadcast_to(want_score, result.scores.shape), rtol=1e-13, atol=1e-12
        )
        assert np.array_equal(
            result.ranks, np.broadcast_to(point.ranks[:, year_index, -1], result.ranks.shape)
        )
        assert np.array_equal(
            result.stages, np.broadcast_to(point.stages[:, year_index, -1], result.stages.shape)
        )
        assert np.all(result.rank_shift == 0)


def test_zero_perturbation_on_the_mini_framework() -> None:
    fw = load_framework(MINI)
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 30, size=(9, 1, 5))
    values[rng.random(values.shape) < 0.15] = np.nan
    cube = ValuesCube(tuple(f"U{i}" for i in range(9)), (2024,), fw.indicator_codes, values)
    point = evaluate_cube(cube, fw, EvaluationConfig(min_coverage=0.2))
    result = uncertainty(
        cube, fw, EvaluationConfig(min_coverage=0.2), {"replications": 5, "weights": "none"}
    )
    np.testing.assert_allclose(result.scores[0], point.scores[:, 0, -1], rtol=1e-13)
    assert np.array_equal(result.ranks[0], point.ranks[:, 0, -1])


def test_each_option_reproduces_the_pipeline_with_that_choice(
    demo: tuple[ValuesCube, Framework, dict[str, GroupKind]],
) -> None:
    cube, fw, groups = demo
    spec = {
        "replications": 400,
        "weights": "none",
        "sobol": False,
        "normalisations": ["min_max", "goalposts", "rank"],
        "aggregations": ["arithmetic", "geometric"],
        "imputations": [["none"], ["carry_forward"]],
    }
    result = uncertainty(cube, fw, EvaluationConfig(), spec, groups)
    chosen = result.factors[["normalisation", "aggregation", "imputation"]].to_numpy()
    assert set(map(tuple, chosen)) == {
        (n, a, i) for n in range(3) for a in range(2) for i in range(2)
    }
    for n, a, i in [(0, 0, 0), (1, 1, 0), (2, 0, 1), (1, 1, 1)]:
        config = EvaluationConfig(
            normalisation={"method": spec["normalisations"][n]},
            aggregation={"default": spec["aggregations"][a]},
            imputation=spec["imputations"][i],
        )
        want = evaluate_cube(cube, fw, config, groups)
        rows = np.flatnonzero((chosen == (n, a, i)).all(axis=1))
        want_scores = np.broadcast_to(want.scores[:, -1, -1], result.scores[rows].shape)
        np.testing.assert_allclose(result.scores[rows], want_scores, rtol=1e-12, atol=1e-11)
        assert np.array_equal(result.ranks[rows[0]], want.ranks[:, -1, -1])


def test_leaving_out_a_dimension_matches_a_zero_weight(
    demo: tuple[ValuesCube, Framework, dict[str, GroupKind]],
) -> None:
    cube, fw, groups = demo
    result = uncertainty(
        cube,
        fw,
        EvaluationConfig(),
        {"replications": 300, "weights": "none", "leave_out": "dimension", "sobol": False},
    )
    left = result.factors["leave_out"].to_numpy()
    assert set(left) == set(range(len(fw.top_nodes) + 1))
    none_left = np.flatnonzero(left == 0)
    np.testing.assert_allclose(
        result.scores[none_left],
        np.broadcast_to(result.point_score, (none_left.size, len(cube.units))),
        rtol=1e-12,
    )
    # Dimension L1 out: the overall index is the re-weighted mean of the other dimensions.
    point = evaluate_cube(cube, fw, EvaluationConfig(), groups)
    top = fw.top_nodes
    dims = point.scores[:, -1, top]
    w = fw.weight[top].copy()
    w[0] = 0.0
    present = ~np.isnan(dims)
    with np.errstate(invalid="ignore"):  # a unit with only L1 has no score without it
        want = 100 * np.nansum(dims / 100 * w, axis=1) / (present @ w)
    row = np.flatnonzero(left == 1)[0]
    np.testing.assert_allclose(result.scores[row], want, rtol=1e-12)


@pytest.mark.parametrize("sobol", [False, True])
def test_chunk_size_does_not_change_anything(
    demo: tuple[ValuesCube, Framework, dict[str, GroupKind]], sobol: bool
) -> None:
    cube, fw, groups = demo
    spec = {
        "replications": 3000,
        "seed": 11,
        "sobol": sobol,
        "weights": "dirichlet",
        "normalisations": ["min_max", "rank"],
        "leave_out": "indicator",
    }
    runs = [
        uncertainty(cube, fw, EvaluationConfig(), {**spec, "chunk_size": size}, groups)
        for size in (None, 257, 1024, 5000)
    ]
    for other in runs[1:]:
        assert np.array_equal(other.scores, runs[0].scores, equal_nan=True)
        assert np.array_equal(other.ranks, runs[0].ranks)
        assert other.factors.equals(runs[0].factors)
    again = uncertainty(cube, fw, EvaluationConfig(), {**spec, "seed": 12}, groups)
    assert not np.array_equal(again.ranks, runs[0].ranks)


def test_small_perturbation_brackets_the_point_rank(
    demo: tuple[ValuesCube, Framework, dict[str, GroupKind]],
) -> None:
    cube, fw, groups = demo
    result = uncertainty(
        cube,
        fw,
        EvaluationConfig(),
        {"replications": 2000, "weight_spread": 0.02, "sobol": False, "top_k": 5},
        groups,
    )
    table = result.summary_table
    ranked = table[table["point_rank"] > 0]
    assert (ranked["rank_p05"] <= ranked["point_rank"]).all()
    assert (ranked["point_rank"] <= ranked["rank_p95"]).all()
    assert (ranked["rank_p05"] <= ranked["median_rank"]).all()
    assert (ranked["median_rank"] <= ranked["rank_p95"]).all()
    assert (ranked["score_p05"] <= ranked["score_p95"]).all()
    assert table["score_p05"].isna().sum() == (table["point_rank"] == 0).sum()
    for column in ("p_top_k", "p_stage_change"):
        values = table[column].dropna()
        assert ((values >= 0) & (values <= 1)).all()
    assert table["p_top_k"].sum() == pytest.approx(5.0)  # five places in the top 5, every time
    assert list(table["point_rank"][table["point_rank"] > 0]) == sorted(ranked["point_rank"])
    # A bigger spread moves ranks more: the mean rank shift grows.
    wide = uncertainty(
        cube,
        fw,
        EvaluationConfig(),
        {"replications": 2000, "weight_spread": 0.5, "sobol": False},
        groups,
    )
    assert wide.rank_shift.mean() > result.rank_shift.mean() > 0


def test_progress_is_reported_per_chunk(
    demo: tuple[ValuesCube, Framework, dict[str, GroupKind]],
) -> None:
    cube, fw, groups = demo
    calls: list[tuple[int, int]] = []
    result = uncertainty(
        cube,
        fw,
        EvaluationConfig(),
        {"replications": 1000, "chunk_size": 300, "sobol": False},
        groups,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]
    assert result.provenance["chunks"] == 4
    assert result.provenance["data_hash"] == cube.data_hash
    assert result.provenance["scheduler"] == "local"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"replications": 0}, "replications"),
        ({"weight_spread": 1.5}, "weight_spread"),
        ({"weights": "gaussian"}, "weights"),
        ({"normalisations": ["min_max", "cube_root"]}, "normalisations.1"),
        ({"imputations": [[]]}, "imputations"),
        ({"replication": 10}, "replication"),
    ],
)
def test_invalid_spec_is_refused_with_the_field(
    demo: tuple[ValuesCube, Framework, dict[str, GroupKind]], spec: dict[str, object], field: str
) -> None:
    cube, fw, groups = demo
    with pytest.raises(ConfigError) as err:
        uncertainty(cube, fw, EvaluationConfig(), spec, groups)
    assert err.value.key == "unc.spec_invalid"
    assert any(p.location.column == field for p in err.value.problems), err.value.problems
    assert field in str(err.value)


def test_unknown_year_is_refused(demo: tuple[ValuesCube, Framework, dict[str, GroupKind]]) -> None:
    cube, fw, groups = demo
    with pytest.raises(ConfigError) as err:
        uncertainty(cube, fw, EvaluationConfig(), {"year": 1999}, groups)
    assert "1999" in str(err.value) and str(cube.years[0]) in str(err.value)
