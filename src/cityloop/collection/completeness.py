"""The cells a round asks for (unit × indicator of a department) and the share already stored.

One cross join builds the owed cells and one merge marks those with a value; sums do the rest.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd

from cityloop.datahub.units import RegionLevel, Units
from cityloop.frameworks.tree import Framework

# Deadlines are days in the offices' own time zone (China Standard Time, no daylight saving).
CHINA_TIME = timezone(timedelta(hours=8), "CST")
OWED_COLUMNS = ("unit", "indicator", "department")
SUMMARY_COLUMNS = ("owed", "present", "missing", "share")


def deadline_moment(day: date) -> datetime:
    """The first moment of ``day`` in China Standard Time, as the store keeps a deadline."""
    return datetime.combine(day, time(), CHINA_TIME)


def deadline_day(moment: datetime) -> date:
    """The deadline day of a stored deadline moment (the inverse of ``deadline_moment``)."""
    return moment.astimezone(CHINA_TIME).date()


@dataclass(frozen=True)
class Deadline:
    """A deadline day seen on ``today``: days left (negative once past) and whether it passed.

    Values may be entered up to the end of the deadline day itself.
    """

    day: date
    days_left: int
    passed: bool


def deadline_status(day: date, now: datetime) -> Deadline:
    """The deadline ``day`` as seen at ``now`` (timezone-aware), in China Standard Time."""
    left = (day - now.astimezone(CHINA_TIME).date()).days
    return Deadline(day=day, days_left=left, passed=left < 0)


def collected_units(units: Units, visible: Collection[str]) -> list[str]:
    """The units a round collects among ``visible``: the cities (every unit when the table
    has no city, as the collection template does), in code order."""
    cities = units.of_level(RegionLevel.CITY.value)
    pool = pd.Index(cities or units.codes)
    return sorted(str(c) for c in pool[pool.isin(list(visible))])


def owed_cells(
    framework: Framework, unit_codes: Sequence[str], department: str | None = None
) -> pd.DataFrame:
    """Every (unit, indicator) a round asks for, with the indicator's department.

    Parameters
    ----------
    framework : Framework
        The round's framework; each indicator names the department responsible for it.
    unit_codes : sequence of str
        The units collected (see ``collected_units``).
    department : str, optional
        Only this department's indicators; None: every department.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit``, ``indicator``, ``department`` (strings), units in the given order
        and indicators in framework order within each unit.
    """
    indicators = pd.DataFrame(
        {
            "indicator": [i.code for i in framework.indicators],
            "department": [i.department for i in framework.indicators],
        },
        dtype="string",
    )
    if department is not None:
        indicators = indicators[indicators["department"] == department]
    units = pd.DataFrame({"unit": pd.array(list(unit_codes), dtype="string")})
    return units.merge(indicators, how="cross")[list(OWED_COLUMNS)]


@dataclass(frozen=True)
class Completeness:
    """Which owed cells have a stored value, and the share per department, unit and overall.

    ``cells`` has the owed columns plus ``present`` (bool). ``by_department`` and ``by_unit``
    have the key column plus owed, present, missing (ints) and share (present / owed, in
    [0, 1]; 1 where nothing is owed, as nothing is missing).
    """

    cells: pd.DataFrame
    by_department: pd.DataFrame
    by_unit: pd.DataFrame
    owed: int
    present: int

    @property
    def missing(self) -> int:
        return self.owed - self.present

    @property
    def share(self) -> float:
        """Present / owed over every cell; 1.0 when nothing is owed."""
        return self.present / self.owed if self.owed else 1.0

    def overdue(self, deadline: Deadline) -> bool:
        """The deadline has passed and some owed value is still missing."""
        return deadline.passed and self.missing > 0

    def missing_cells(self, department: str | None = None) -> pd.DataFrame:
        """The owed cells without a value (of one department when given), in owed order."""
        gone = self.cells[~self.cells["present"]]
        if department is not None:
            gone = gone[gone["department"] == department]
        return gone[list(OWED_COLUMNS)].reset_index(drop=True)


def completeness(owed: pd.DataFrame, stored: pd.DataFrame) -> Completeness:
    """Mark the owed cells that ``stored`` holds and sum them up.

    Parameters
    ----------
    owed : pandas.DataFrame
        Columns ``unit``, ``indicator``, ``department`` (see ``owed_cells``).
    stored : pandas.DataFrame
        Columns ``unit`` and ``indicator``: the cells with a value for the round's year
        (others, and repeats, are ignored).

    Returns
    -------
    Completeness
    """
    keys = ["unit", "indicator"]
    have = stored[keys].astype("string").drop_duplicates()
    merged = owed[list(OWED_COLUMNS)].merge(have, on=keys, how="left", indicator="_found")
    cells = merged.drop(columns="_found").assign(present=(merged["_found"] == "both").to_numpy())
    present = int(cells["present"].sum())
    return Completeness(
        cells=cells,
        by_department=_summary(cells, "department"),
        by_unit=_summary(cells, "unit"),
        owed=len(cells),
        present=present,
    )


def _summary(cells: pd.DataFrame, key: str) -> pd.DataFrame:
    """Owed, present, missing and share per value of ``key``, in first-seen order."""
    grouped = cells.groupby(key, sort=False, observed=True)["present"]
    out = pd.DataFrame({"owed": grouped.size(), "present": grouped.sum()}).astype("int64")
    out["missing"] = out["owed"] - out["present"]
    out["share"] = np.where(out["owed"] > 0, out["present"] / out["owed"].clip(lower=1), 1.0)
    return out.reset_index()[[key, *SUMMARY_COLUMNS]]
