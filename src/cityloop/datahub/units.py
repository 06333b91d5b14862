"""Administrative units (province → city → district) and the groups they belong to.

A units file is a table with one row per unit; groups come from the parent province, from
the size class and from the ``groups`` column (city clusters such as 长三角, separated by ';').
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pandas as pd

from cityloop.errors import DataValidationError, Location, Problem


class RegionLevel(StrEnum):
    """The levels of the administrative hierarchy, highest first."""

    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"


LEVELS = tuple(level.value for level in RegionLevel)
LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}
UNIT_COLUMNS = (
    "code",
    "name_zh",
    "name_en",
    "level",
    "parent",
    "population",
    "size_class",
    "groups",
)
REQUIRED_UNIT_COLUMNS = ("code", "name_zh", "level")
# Chinese headers a user may write instead of the English ones.
UNIT_HEADER_ALIASES = {
    "代码": "code",
    "单位代码": "code",
    "名称": "name_zh",
    "单位名称": "name_zh",
    "英文名称": "name_en",
    "层级": "level",
    "上级": "parent",
    "上级代码": "parent",
    "人口": "population",
    "常住人口": "population",
    "规模等级": "size_class",
    "分组": "groups",
    "城市群": "groups",
}
LEVEL_ALIASES = {
    "省": "province",
    "市": "city",
    "区县": "district",
    "区": "district",
    "县": "district",
}


@dataclass(frozen=True)
class Units:
    """The unit table and every (unit, group) membership, as DataFrames.

    ``table`` is indexed by unit code. ``memberships`` has columns unit, group, kind where
    kind is ``province`` (the unit's ancestor province), ``size_class`` or ``cluster``.
    """

    table: pd.DataFrame
    memberships: pd.DataFrame

    @property
    def codes(self) -> list[str]:
        return [str(c) for c in self.table.index]

    def of_level(self, level: str) -> list[str]:
        return [str(c) for c in self.table.index[self.table["level"] == level]]

    def group_of(self, kind: str) -> pd.Series:
        """Each unit's group of ``kind`` (first one if several); NaN where it has none."""
        sub = self.memberships[self.memberships["kind"] == kind].drop_duplicates("unit")
        return sub.set_index("unit")["group"].reindex(self.table.index)

    def group_kinds(self) -> list[str]:
        return sorted(self.memberships["kind"].unique().tolist())


def build_units(frame: pd.DataFrame, *, source: str = "<DataFrame>") -> Units:
    """Validate a unit table and derive memberships; raise ``DataValidationError`` on faults."""
    df = frame.rename(columns=lambda c: UNIT_HEADER_ALIASES.get(str(c).strip(), str(c).strip()))
    problems: list[Problem] = []
    for col in REQUIRED_UNIT_COLUMNS:
        if col not in df.columns:
            problems.append(
                Problem("units.missing_column", {"column": col}, Location(file=source, column=col))
            )
    if problems:
        raise DataValidationError("units.invalid", problems, file=source)
    df = df.copy()
    df.index = pd.RangeIndex(2, len(df) + 2)  # each record's spreadsheet row (header is row 1)
    df = df[~df.isna().all(axis=1)]  # a blank line is no unit
    for col in UNIT_COLUMNS:
        if col not in df.columns:
            df[col] = pd.NA
    df["code"] = df["code"].astype("string").str.strip()
    df["level"] = df["level"].astype("string").str.strip().replace(LEVEL_ALIASES)
    df["parent"] = df["parent"].astype("string").str.strip().replace("", pd.NA)

    def add(mask: pd.Series, key: str, column: str, **params: object) -> None:
        for i in df.index[mask.fillna(False).astype(bool)]:
            problems.append(
                Problem(
                    key,
                    {**params, "value": str(df.at[i, column])},
                    Location(file=source, row=int(i), column=column),
                )
            )

    add(df["code"].isna() | (df["code"] == ""), "units.empty_code", "code")
    add(df["code"].duplicated(keep="first") & df["code"].notna(), "units.duplicate_code", "code")
    add(~df["level"].isin(LEVELS), "units.bad_level", "level", expected="/".join(LEVELS))
    known = set(df["code"].dropna())
    add(df["parent"].notna() & ~df["parent"].isin(known), "units.unknown_parent", "parent")
    population = pd.to_numeric(df["population"], errors="coerce")
    add(
        df["population"].notna() & (population.isna() | (population < 0)),
        "units.bad_population",
        "population",
    )
    if not problems:
        level_of = df.set_index("code")["level"]
        parent_level = df["parent"].map(level_of)
        add(
            parent_level.notna() & (parent_level.map(LEVEL_RANK) >= df["level"].map(LEVEL_RANK)),
            "units.parent_not_higher",
            "parent",
        )
    if problems:
        raise DataValidationError("units.invalid", problems, file=source)
    df["population"] = population
    table = df.set_index("code")[[c for c in UNIT_COLUMNS if c != "code"]]
    return Units(table=table, memberships=_memberships(table))


def read_units(path: Path) -> Units:
    """Read a units table from CSV (UTF-8, with or without BOM, or GBK) or XLSX."""
    from cityloop.datahub.tables import read_table

    return build_units(read_table(path), source=str(path))


def _memberships(table: pd.DataFrame) -> pd.DataFrame:
    parts: list[pd.DataFrame] = []
    # Province: walk the parent chain up to the province for every unit at once.
    province = pd.Series(table.index.where(table["level"] == "province"), index=table.index)
    ancestor = table["parent"]
    for _ in LEVELS:
        level_of_ancestor = ancestor.map(table["level"])
        province = province.fillna(ancestor.where(level_of_ancestor == "province"))
        ancestor = ancestor.map(table["parent"])
    has_province = province.notna() & (table["level"] != "province")
    parts.append(
        pd.DataFrame(
            {
                "unit": table.index[has_province],
                "group": province[has_province].to_numpy(),
                "kind": "province",
            }
        )
    )
    size = table["size_class"].dropna().astype(str)
    parts.append(pd.DataFrame({"unit": size.index, "group": size.to_numpy(), "kind": "size_class"}))
    clusters = table["groups"].dropna().astype(str).str.split(";").explode().str.strip()
    clusters = clusters[clusters != ""]
    parts.append(
        pd.DataFrame({"unit": clusters.index, "group": clusters.to_numpy(), "kind": "cluster"})
    )
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"unit": "string", "group": "string", "kind": "string"})
