"""Owed cells and completeness: worked examples and properties (hypothesis) of the pure code."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.collection import (
    collected_units,
    completeness,
    deadline_day,
    deadline_moment,
    deadline_status,
    owed_cells,
)
from cityloop.datahub.units import build_units
from cityloop.frameworks import Framework, load_framework
from tests.store.samples import MINI

UNITS = build_units(
    pd.DataFrame(
        {
            "code": ["100000", "110100", "110101", "120100"],
            "name_zh": ["省", "甲市", "甲市一区", "乙市"],
            "level": ["province", "city", "district", "city"],
            "parent": [None, "100000", "110100", "100000"],
        }
    )
)


@pytest.fixture(scope="module")
def mini() -> Framework:
    return load_framework(MINI)


def test_owed_cells_are_the_department_indicators_of_each_city(mini: Framework) -> None:
    units = collected_units(UNITS, {"100000", "110100", "110101", "120100"})
    assert units == ["110100", "120100"]  # cities only: no province, no district
    owed = owed_cells(mini, units, "ecology_environment")
    assert owed.to_dict("records") == [
        {"unit": "110100", "indicator": "I3", "department": "ecology_environment"},
        {"unit": "110100", "indicator": "I5", "department": "ecology_environment"},
        {"unit": "120100", "indicator": "I3", "department": "ecology_environment"},
        {"unit": "120100", "indicator": "I5", "department": "ecology_environment"},
    ]
    assert len(owed_cells(mini, units)) == 2 * len(mini.indicators)
    assert collected_units(UNITS, {"110101"}) == []  # a district user collects no city


def test_completeness_worked_example(mini: Framework) -> None:
    owed = owed_cells(mini, ["110100", "120100"])
    stored = pd.DataFrame(
        {  # two owed cells, one repeated, one of a unit not asked for
            "unit": ["110100", "110100", "120100", "999999"],
            "indicator": ["I1", "I1", "I3", "I1"],
        }
    )
    done = completeness(owed, stored)
    assert (done.owed, done.present, done.missing) == (10, 2, 8)
    assert done.share == pytest.approx(0.2)
    by_dept = done.by_department.set_index("department")
    assert by_dept.loc["data_bureau", ["owed", "present", "missing"]].tolist() == [4, 1, 3]
    assert by_dept.loc["data_bureau", "share"] == pytest.approx(0.25)
    assert by_dept.loc["housing_construction", "share"] == 0.0
    by_unit = done.by_unit.set_index("unit")
    assert by_unit["present"].to_dict() == {"110100": 1, "120100": 1}
    missing = done.missing_cells("ecology_environment")
    assert missing[["unit", "indicator"]].values.tolist() == [
        ["110100", "I3"],
        ["110100", "I5"],
        ["120100", "I5"],
    ]


def test_deadline_is_a_day_in_china_time() -> None:
    day = date(2026, 12, 31)
    moment = deadline_moment(day)
    assert moment.astimezone(UTC) == datetime(2026, 12, 30, 16, 0, tzinfo=UTC)
    assert deadline_day(moment.astimezone(UTC)) == day
    # 15:59 UTC on the 31st is 23:59 in Beijing: the last minute of the deadline day.
    assert deadline_status(day, datetime(2026, 12, 31, 15, 59, tzinfo=UTC)).passed is False
    late = deadline_status(day, datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    assert (late.passed, late.days_left) == (True, -1)
    assert deadline_status(day, datetime(2026, 12, 1, tzinfo=UTC)).days_left == 30


def test_overdue_only_when_past_and_incomplete(mini: Framework) -> None:
    owed = owed_cells(mini, ["110100"], "housing_construction")
    empty = completeness(owed, pd.DataFrame({"unit": [], "indicator": []}))
    full = completeness(owed, pd.DataFrame({"unit": ["110100"], "indicator": ["I4"]}))
    past = deadline_status(date(2026, 1, 1), datetime(2026, 6, 1, tzinfo=UTC))
    future = deadline_status(date(2027, 1, 1), datetime(2026, 6, 1, tzinfo=UTC))
    assert empty.overdue(past) and not empty.overdue(future)
    assert not full.overdue(past) and full.share == 1.0


MINI_FW = load_framework(MINI)
CODES = ["I1", "I2", "I3", "I4", "I5"]
CITIES = ["110100", "120100"]


@settings(max_examples=60)
@given(
    units=st.lists(st.sampled_from(CITIES), unique=True),
    department=st.sampled_from([None, "data_bureau", "ecology_environment"]),
    stored=st.lists(st.tuples(st.sampled_from([*CITIES, "130100"]), st.sampled_from(CODES))),
)
def test_completeness_properties(
    units: list[str], department: str | None, stored: list[tuple[str, str]]
) -> None:
    owed = owed_cells(MINI_FW, units, department)
    done = completeness(owed, pd.DataFrame(stored, columns=["unit", "indicator"]))
    assert 0.0 <= done.share <= 1.0
    assert (done.share == 1.0) == (done.missing == 0)
    expected = {(u, i) for u, i in stored} & set(zip(owed["unit"], owed["indicator"], strict=True))
    assert done.present == len(expected)
    for summary in (done.by_department, done.by_unit):
        assert summary["owed"].sum() == done.owed
        assert summary["present"].sum() == done.present
        assert summary["share"].between(0, 1).all()
        assert ((summary["share"] == 1) == (summary["missing"] == 0)).all()
    assert len(done.missing_cells()) == done.missing
