"""Cells refused before any write: another department's indicator, a region outside the user's,
another year, together with the importer's own rules, each located by row and column."""

from __future__ import annotations

import pandas as pd
import pytest

from cityloop.accounts import Action, Principal, Role
from cityloop.collection import CellsRefusedError, checked_table
from cityloop.datahub.indicator_table import IndicatorTable
from cityloop.frameworks import Framework, load_framework
from tests.collection.test_completeness import UNITS
from tests.store.samples import MINI

OFFICER = Principal("li", Role.DATA_OFFICER, scope="110100", department="data_bureau")


@pytest.fixture(scope="module")
def mini() -> Framework:
    return load_framework(MINI)


def frame(*rows: tuple[str, object, str, object]) -> pd.DataFrame:
    return pd.DataFrame(
        [(u, y, i, v, "", "") for u, y, i, v in rows],
        columns=["unit", "year", "indicator", "value", "source", "note"],
        dtype=object,
    )


def check(mini: Framework, data: pd.DataFrame, who: Principal = OFFICER) -> IndicatorTable:
    return checked_table(
        data, mini, UNITS, who, Action.UPLOAD_VALUES, 2026, source="f.xlsx", sheet="数据填报"
    )


def test_own_cells_pass(mini: Framework) -> None:
    table = check(mini, frame(("110100", 2026, "I1", "85%"), ("110101", 2026, "I2", 3)))
    assert table.frame["value"].tolist() == [85.0, 3.0]


def test_every_refused_row_is_located(mini: Framework) -> None:
    data = frame(
        ("110100", 2026, "I1", 50),  # row 2: fine
        ("110100", 2026, "I3", 50),  # row 3: ecology's indicator
        ("120100", 2026, "I1", 50),  # row 4: another city
        ("110100", 2025, "I2", 5),  # row 5: another year
        ("110100", 2026, "I2", -1),  # row 6: a negative amount (the importer's rule)
        ("120100", 2026, "I4", ""),  # row 7: empty value, nothing to write: not refused
    )
    with pytest.raises(CellsRefusedError) as err:
        check(mini, data)
    found = [(p.location.row, p.location.column, p.key) for p in err.value.problems]
    assert found == [
        (3, "indicator", "collect.denied_department"),
        (4, "unit", "collect.denied_region"),
        (5, "year", "collect.wrong_year"),
        (6, "value", "values.negative"),
    ]
    assert err.value.denied
    assert all(
        p.location.file == "f.xlsx" and p.location.sheet == "数据填报" for p in err.value.problems
    )
    text = err.value.render("en")
    assert "indicator I3 belongs to department ecology_environment" in text


def test_only_invalid_cells_is_not_a_denial(mini: Framework) -> None:
    with pytest.raises(CellsRefusedError) as err:
        check(mini, frame(("110100", 2026, "I1", 150)))
    assert not err.value.denied
    assert [p.key for p in err.value.problems] == ["values.percentage_range"]


def test_an_administrator_may_write_any_department_and_region(mini: Framework) -> None:
    admin = Principal("root", Role.ADMINISTRATOR)
    table = check(mini, frame(("120100", 2026, "I3", 90), ("110100", 2026, "I1", 1)), admin)
    assert len(table.frame) == 2
