"""The shipped GB/T 33356 framework files: they load, have the documented shape and honest weights.

The counts asserted here are the ones written in docs/frameworks/gbt33356.md; the standard's own
counts (2016: 8/21/54, 2022: 9/29/62) differ where items could not be read from public text.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from cityloop.frameworks import Framework, departments, load_framework, shipped_ids
from cityloop.frameworks.schema import WeightStatus

FRAMEWORK_IDS = ("gbt33356-2016", "gbt33356-2022")

# (first-level, second-level, leaves) as built; see the docs for what each leaf is.
BUILT_COUNTS = {
    "gbt33356-2016": (8, 21, 39),
    "gbt33356-2022": (9, 0, 9),
}
# Leaves that are scoring items of the standard (code …-An) versus placeholders (code …-X).
ITEM_AND_PLACEHOLDER_COUNTS = {
    "gbt33356-2016": (27, 12),
    "gbt33356-2022": (0, 9),
}

# GB/T 33356-2016 first-level weights (惠民服务 … 市民体验), confirmed, in points out of 100.
WEIGHTS_2016_L = [37, 9, 8, 7, 7, 8, 4, 20]
# 惠民服务 second-level weights L1P1 … L1P8 confirmed; L1P9 = 37 − 35 derived.
WEIGHTS_2016_L1P = [8, 3, 3, 3, 3, 3, 7, 5, 2]

ITEM_CODE = re.compile(r"^L\d+P\d+-A\d+$")
PLACEHOLDER_CODE = re.compile(r"^L\d+(P\d+)?-X$")
DIMENSION_CODE = re.compile(r"^L\d+(P\d+)?$")


@pytest.fixture(scope="module", params=FRAMEWORK_IDS)
def framework(request: pytest.FixtureRequest) -> Framework:
    return load_framework(request.param)


@pytest.fixture(scope="module")
def fw2016() -> Framework:
    return load_framework("gbt33356-2016")


def _level_counts(fw: Framework) -> tuple[int, int, int]:
    dim_depth = fw.depth[: fw.n_dimensions]
    return (
        int(np.sum(dim_depth == 1)),
        int(np.sum(dim_depth == 2)),
        len(fw.indicators),
    )


def test_both_files_are_shipped() -> None:
    assert set(FRAMEWORK_IDS) <= set(shipped_ids())


def test_loads_with_documented_counts(framework: Framework) -> None:
    assert framework.id in FRAMEWORK_IDS
    assert _level_counts(framework) == BUILT_COUNTS[framework.id]


def test_leaves_are_items_or_marked_placeholders(framework: Framework) -> None:
    codes = [i.code for i in framework.indicators]
    items = [c for c in codes if ITEM_CODE.match(c)]
    placeholders = [c for c in codes if PLACEHOLDER_CODE.match(c)]
    assert len(items) + len(placeholders) == len(codes)
    assert (len(items), len(placeholders)) == ITEM_AND_PLACEHOLDER_COUNTS[framework.id]
    for ind in framework.indicators:
        if PLACEHOLDER_CODE.match(ind.code):
            assert "占位" in ind.name.zh
            assert "placeholder" in ind.name.en


def test_codes_follow_the_standards_scheme(framework: Framework) -> None:
    for dim in framework.dimensions:
        assert DIMENSION_CODE.match(dim.code), dim.code
        if dim.parent is not None:
            assert dim.code.startswith(dim.parent + "P")
    for ind in framework.indicators:
        assert ind.parent is not None
        assert ind.code.startswith(ind.parent + "-")


def test_2016_first_level_weights_are_the_confirmed_figures(fw2016: Framework) -> None:
    top = fw2016.top_nodes
    assert [fw2016.codes[i] for i in top] == [f"L{k}" for k in range(1, 9)]
    expected = np.array(WEIGHTS_2016_L, dtype=np.float64) / 100
    np.testing.assert_array_equal(fw2016.weight[top], expected)
    for i in top:
        assert fw2016.dimensions[i].weight_status == WeightStatus.CONFIRMED


def test_2016_services_second_level_shares(fw2016: Framework) -> None:
    children = fw2016.children(fw2016.index["L1"])
    assert [fw2016.codes[i] for i in children] == [f"L1P{k}" for k in range(1, 10)]
    share = fw2016.path_weight()[children]
    np.testing.assert_allclose(share, np.array(WEIGHTS_2016_L1P) / 100, rtol=0, atol=1e-12)
    status = [fw2016.dimensions[i].weight_status for i in children]
    assert status == [WeightStatus.CONFIRMED] * 8 + [WeightStatus.DERIVED]


def test_weighted_nodes_cite_a_source(framework: Framework) -> None:
    for node in [*framework.dimensions, *framework.indicators]:
        if node.weight is not None:
            assert node.weight_source.strip(), node.code
            assert node.weight_status != WeightStatus.EQUAL_BY_DEFAULT, node.code
        else:
            assert node.weight_status == WeightStatus.EQUAL_BY_DEFAULT, node.code


def test_no_weight_is_marked_unconfirmed(framework: Framework) -> None:
    # Unconfirmed weights are left out (equal by default) rather than shipped as if they were real.
    nodes = [*framework.dimensions, *framework.indicators]
    assert all(n.weight_status != WeightStatus.UNCONFIRMED for n in nodes)


def test_2022_weights_are_all_equal_by_default() -> None:
    # The 2022 weights could not be read, so none is shipped: nine first-level indicators at 1/9.
    fw = load_framework("gbt33356-2022")
    assert all(n.weight is None for n in [*fw.dimensions, *fw.indicators])
    np.testing.assert_allclose(fw.weight[fw.top_nodes], np.full(9, 1 / 9))


def test_every_department_exists(framework: Framework) -> None:
    known = departments()
    for ind in framework.indicators:
        assert ind.department in known, (ind.code, ind.department)


def test_survey_leaves_are_survey_scores(framework: Framework) -> None:
    survey = [i for i in framework.indicators if i.source_kind == "survey"]
    assert [i.code[:2] for i in survey] == ["L8"]
    for ind in survey:
        assert ind.department == "survey_agency"
        assert ind.value_type == "score"
        assert (ind.worst, ind.target) == (0, 100)


def test_leaf_path_weights_sum_to_one(framework: Framework) -> None:
    leaf_share = framework.path_weight()[framework.leaf_nodes]
    assert np.all(leaf_share > 0)
    assert leaf_share.sum() == pytest.approx(1.0, abs=1e-12)
