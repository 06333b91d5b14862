"""The shipped ISO 37122:2019 and ITU-T Y.4903 / U4SSC framework files: counts, tree, targets.

The counts asserted here are the ones stated in docs/frameworks/iso37122-u4ssc.md.
"""

from __future__ import annotations

import math
import re
from importlib import resources

import numpy as np
import pytest

from cityloop.frameworks import Direction, Framework, ValueType, load_framework
from cityloop.frameworks.schema import WeightStatus

ISO_ID = "iso37122-2019"
U4SSC_ID = "itu-y4903-u4ssc"

# Clause numbers checked against a public ISO 37122 register (see the file header). The file
# encodes exactly these; the standard's other 56 indicators wait in the docs until verified.
ISO_CONFIRMED = {
    "5.1", "5.3", "6.2", "7.6", "7.10", "8.2", "9.2", "10.2", "11.1", "16.2", "17.1", "17.2",
    "18.1", "19.5", "19.6", "19.10", "19.14", "20.2", "21.3", "22.3", "22.5", "23.1", "23.2",
    "23.3",
}  # fmt: skip
ISO_PER_THEME = {
    5: 2, 6: 1, 7: 2, 8: 1, 9: 1, 10: 1, 11: 1, 16: 1, 17: 2, 18: 1, 19: 4, 20: 1, 21: 1, 22: 2,
    23: 3,
}  # fmt: skip
# ISO 37120 themes (clauses 12-15) with no confirmed ISO 37122 indicator, so not encoded.
ISO_THEMES_WITHOUT_CONFIRMED = {12, 13, 14, 15}
U4SSC_CATEGORY_NAMES = {
    "ICT Infrastructure", "Water and Sanitation", "Drainage", "Electricity Supply", "Transport",
    "Public Sector", "Innovation", "Employment", "Waste", "Buildings", "Urban Planning",
    "Air Quality", "Environmental Quality", "Public Space and Nature", "Energy", "Education",
    "Health", "Culture", "Housing", "Social Inclusion", "Safety", "Food Security",
}  # fmt: skip
U4SSC_KPI_CODE = re.compile(r"^(EC|EN|SC)-[A-Z]+-[A-Z]+-\d+[CA]$")

# The range a target must lie in for each value type (None = unbounded on that side).
VALUE_RANGE: dict[ValueType, tuple[float | None, float | None]] = {
    ValueType.PERCENTAGE: (0.0, 100.0),
    ValueType.SHARE: (0.0, 1.0),
    ValueType.COUNT: (0.0, None),
    ValueType.AMOUNT: (0.0, None),
    ValueType.RATE: (0.0, None),
    ValueType.INDEX: (None, None),
    ValueType.SCORE: (None, None),
    ValueType.BOOLEAN: (0.0, 1.0),
}


@pytest.fixture(scope="module")
def iso() -> Framework:
    return load_framework(ISO_ID)


@pytest.fixture(scope="module")
def u4ssc() -> Framework:
    return load_framework(U4SSC_ID)


def _nodes_at_depth(fw: Framework, depth: int) -> list[str]:
    return [fw.codes[i] for i in np.flatnonzero(fw.depth == depth)]


# -- shared properties ------------------------------------------------------------------------


@pytest.mark.parametrize("fw_id", [ISO_ID, U4SSC_ID])
def test_leaf_path_weights_sum_to_one(fw_id: str) -> None:
    fw = load_framework(fw_id)
    share = fw.path_weight()[fw.leaf_nodes]
    assert share.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(share > 0)


@pytest.mark.parametrize("fw_id", [ISO_ID, U4SSC_ID])
def test_standard_assigns_no_weights(fw_id: str) -> None:
    fw = load_framework(fw_id)
    nodes = [*fw.dimensions, *fw.indicators]
    assert all(n.weight is None for n in nodes)
    assert all(n.weight_status == WeightStatus.EQUAL_BY_DEFAULT for n in nodes)


@pytest.mark.parametrize("fw_id", [ISO_ID, U4SSC_ID])
def test_targets_consistent_with_direction_and_value_type(fw_id: str) -> None:
    fw = load_framework(fw_id)
    for ind in fw.indicators:
        if ind.target is None:
            continue
        low, high = VALUE_RANGE[ind.value_type]
        assert low is None or ind.target >= low, ind.code
        assert high is None or ind.target <= high, ind.code
        if ind.direction == Direction.BAND:
            assert ind.band is not None
            assert ind.band[0] <= ind.target <= ind.band[1], ind.code
        if ind.worst is not None:
            better = (
                ind.target > ind.worst
                if ind.direction == Direction.HIGHER
                else (ind.target < ind.worst)
            )
            assert better, ind.code


@pytest.mark.parametrize("fw_id", [ISO_ID, U4SSC_ID])
def test_every_leaf_is_described_in_both_languages(fw_id: str) -> None:
    fw = load_framework(fw_id)
    for ind in fw.indicators:
        assert ind.name.zh and ind.name.en, ind.code
        assert ind.definition is not None and ind.definition.zh and ind.definition.en, ind.code


# -- ISO 37122:2019 ---------------------------------------------------------------------------


def test_iso_has_15_themes_and_24_confirmed_indicators(iso: Framework) -> None:
    assert iso.n_dimensions == len(iso.dimensions) == 15
    assert len(iso.indicators) == 24
    assert all(d.parent is None for d in iso.dimensions)
    themes = set(range(5, 24)) - ISO_THEMES_WITHOUT_CONFIRMED
    assert {d.code for d in iso.dimensions} == {f"ISO37122-{c}" for c in themes}
    assert set(np.unique(iso.depth[iso.leaf_nodes])) == {2}


def test_iso_codes_follow_their_clause(iso: Framework) -> None:
    per_theme: dict[int, int] = {}
    for ind in iso.indicators:
        match = re.fullmatch(r"ISO37122-(\d+)\.(\d+)", ind.code)
        assert match, ind.code
        theme = int(match.group(1))
        assert ind.parent == f"ISO37122-{theme}"
        per_theme[theme] = per_theme.get(theme, 0) + 1
    assert per_theme == ISO_PER_THEME


def test_iso_holds_exactly_the_confirmed_clauses(iso: Framework) -> None:
    codes = set(iso.indicator_codes)
    assert codes == {f"ISO37122-{c}" for c in ISO_CONFIRMED}
    assert len(ISO_CONFIRMED) == 24


def test_iso_no_indicator_is_marked_unconfirmed() -> None:
    text = resources.files("cityloop.frameworks").joinpath(f"{ISO_ID}.yaml").read_text("utf-8")
    assert "\nindicators:\n" in text
    indicators_section = text.split("\nindicators:\n", 1)[1]
    assert "ISO37122-5.1" in indicators_section
    assert "# unconfirmed" not in indicators_section


def test_iso_sets_no_targets(iso: Framework) -> None:
    assert all(math.isnan(t) for t in iso.target)


# -- ITU-T Y.4903 / U4SSC -------------------------------------------------------------------


def test_u4ssc_counts(u4ssc: Framework) -> None:
    assert _nodes_at_depth(u4ssc, 1) == ["EC", "EN", "SC"]
    assert len(_nodes_at_depth(u4ssc, 2)) == 7
    categories = _nodes_at_depth(u4ssc, 3)
    assert len(categories) == 27  # 22 category names; four of them appear under two sub-dimensions
    names = {u4ssc.name(c, "en") for c in categories}
    assert names == U4SSC_CATEGORY_NAMES
    assert len(u4ssc.indicators) == 91
    assert sum(i.core for i in u4ssc.indicators) == 55
    assert sum(not i.core for i in u4ssc.indicators) == 36


def test_u4ssc_kpis_per_dimension(u4ssc: Framework) -> None:
    per_dimension = {"EC": 0, "EN": 0, "SC": 0}
    for code in u4ssc.indicator_codes:
        per_dimension[code.split("-")[0]] += 1
    assert per_dimension == {"EC": 45, "EN": 17, "SC": 29}


def test_u4ssc_every_kpi_sits_under_dimension_subdimension_category(u4ssc: Framework) -> None:
    for ind in u4ssc.indicators:
        i = u4ssc.index[ind.code]
        assert u4ssc.depth[i] == 4, ind.code
        category = u4ssc.parent[i]
        sub_dimension = u4ssc.parent[category]
        dimension = u4ssc.parent[sub_dimension]
        assert (u4ssc.depth[category], u4ssc.depth[sub_dimension], u4ssc.depth[dimension]) == (
            3,
            2,
            1,
        )
        # The KPI number starts with its dimension and sub-dimension, e.g. EC-ICT-… under EC-ICT.
        assert ind.code.startswith(u4ssc.codes[sub_dimension] + "-"), ind.code
        assert u4ssc.codes[sub_dimension].startswith(u4ssc.codes[dimension] + "-")


def test_u4ssc_core_flag_matches_published_number(u4ssc: Framework) -> None:
    for ind in u4ssc.indicators:
        assert U4SSC_KPI_CODE.match(ind.code), ind.code
        assert ind.core is ind.code.endswith("C"), ind.code


def test_u4ssc_only_published_target_is_fixed_broadband(u4ssc: Framework) -> None:
    with_target = {i.code: i.target for i in u4ssc.indicators if i.target is not None}
    assert with_target == {"EC-ICT-ICT-2C": 60.0}
