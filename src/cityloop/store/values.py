"""Indicator values: the current value of each cell, and the append-only history of its writes.

An import is compared with what is stored in one query; only new and changed cells are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from cityloop.datahub.indicator_table import VALUE_COLUMNS, IndicatorTable
from cityloop.errors import DataValidationError, Problem
from cityloop.frameworks import Framework
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.bulk import WriteCounts, as_list, execute_chunked, insert_rows
from cityloop.store.frameworks import register_framework
from cityloop.store.models import IndicatorValue, OriginKind, Region, ValueHistory, table_of

KEY = ("unit", "year", "indicator")
CELL_KEY = ("region_code", "year", "indicator")  # the same, as columns of the tables
TEXT = ("source", "note")


@dataclass(frozen=True)
class Origin:
    """Where values came from: the kind and a reference (file name, API request id, form)."""

    kind: OriginKind
    ref: str = ""


def upsert_values(
    session: Session, table: IndicatorTable, fw: Framework, actor: str, origin: Origin
) -> WriteCounts:
    """Write a validated table: current values, one history row per write, one audit row.

    Every region must already be stored; otherwise nothing is written and each unknown code is
    reported. The caller's transaction makes the whole table go in, or none of it.
    """
    frame = table.frame
    _check_regions(session, frame)
    register_framework(session, fw, actor)
    stored = _stored(session, fw.id, sorted(int(y) for y in frame["year"].unique()))
    merged = frame.merge(stored, on=list(KEY), how="left", suffixes=("", "_old"))
    old = merged["value_old"].to_numpy(dtype=np.float64, na_value=np.nan)
    is_new = np.isnan(old)  # a stored value is never missing
    differs = merged["value"].to_numpy() != old
    for col in TEXT:
        differs |= (merged[col] != merged[f"{col}_old"]).fillna(True).to_numpy(dtype=bool)
    changed = ~is_new & differs
    now = utc_now()
    stamp = {
        "entered_by": actor,
        "entered_at": now,
        "origin_kind": origin.kind,
        "origin_ref": origin.ref,
    }
    current = table_of(IndicatorValue)
    insert_rows(session, current, _cells(merged[is_new]), {"framework_id": fw.id, **stamp})
    statement = (
        update(current)
        .where(
            current.c.framework_id == fw.id,
            *(current.c[c] == bindparam(f"k_{c}") for c in CELL_KEY),
        )
        .values({c: bindparam(f"v_{c}") for c in ("value", *TEXT, *stamp)})
    )
    cells = _cells(merged[changed])
    execute_chunked(
        session,
        statement,
        {f"k_{c}": cells[c] for c in CELL_KEY} | {f"v_{c}": cells[c] for c in ("value", *TEXT)},
        {f"v_{c}": value for c, value in stamp.items()},
    )
    history = merged[is_new | changed]
    insert_rows(
        session,
        table_of(ValueHistory),
        {**_cells(history), "previous_value": as_list(history["value_old"])},
        {"framework_id": fw.id, **stamp},
    )
    counts = WriteCounts(int(is_new.sum()), int(changed.sum()), int((~is_new & ~differs).sum()))
    record_audit(
        session,
        actor,
        "upsert",
        "indicator_values",
        fw.id,
        after={
            **asdict(counts),
            "origin_kind": origin.kind.value,
            "origin_ref": origin.ref,
            "years": sorted(int(y) for y in frame["year"].unique()),
            "regions": int(frame["unit"].nunique()),
        },
        at=now,
    )
    return counts


def values_frame(
    session: Session, framework_id: str, years: Sequence[int] | None = None
) -> pd.DataFrame:
    """The current values of a framework as the long table the importer and the engine read:
    unit, year, indicator, value, source, note, sorted by unit, year and indicator."""
    v = IndicatorValue
    query = select(v.region_code, v.year, v.indicator, v.value, v.source, v.note).where(
        v.framework_id == framework_id
    )
    if years is not None:
        query = query.where(v.year.in_([int(y) for y in years]))
    frame = pd.DataFrame(session.execute(query).all(), columns=list(VALUE_COLUMNS)).astype(
        {"unit": "string", "year": "int64", "indicator": "string", "value": "float64"}
        | dict.fromkeys(TEXT, "string")
    )
    # Sorted here, by code point as the importer sorts: a database's collation may differ.
    return frame.sort_values(list(KEY), ignore_index=True)


def _cells(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """The columns of ``frame`` as the tables name them, as plain Python values."""
    return {
        "region_code": frame["unit"].astype(str).tolist(),
        "year": frame["year"].astype(int).tolist(),
        "indicator": frame["indicator"].astype(str).tolist(),
        "value": frame["value"].astype(float).tolist(),
        **{col: frame[col].astype(str).tolist() for col in TEXT},
    }


def _stored(session: Session, framework_id: str, years: list[int]) -> pd.DataFrame:
    v = IndicatorValue
    rows = session.execute(
        select(v.region_code, v.year, v.indicator, v.value, v.source, v.note).where(
            v.framework_id == framework_id, v.year.in_(years)
        )
    ).all()
    frame = pd.DataFrame(rows, columns=[*KEY, "value_old", "source_old", "note_old"])
    return frame.astype({"unit": "string", "year": "int64", "indicator": "string"})


def _check_regions(session: Session, frame: pd.DataFrame) -> None:
    known = set(session.scalars(select(Region.code)))
    unknown = sorted(set(frame["unit"].astype(str)) - known)
    if unknown:
        raise DataValidationError(
            "values.invalid",
            [Problem("store.unknown_region", {"value": code}) for code in unknown],
            file="<database>",
        )
