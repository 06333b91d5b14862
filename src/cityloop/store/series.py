"""Reads of the sensor time series for derived indicators, and the derived values' writes.

``db.series`` (a ``SeriesStore``) reads one attribute of one entity type of a unit in a time
window, as raw readings or pre-aggregated per entity and hour in SQL, in the frame shape
``cityloop.datahub.formula_eval`` evaluates; it writes derived values through the value path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cityloop.datahub.formula_eval import FRAME_COLUMNS
from cityloop.datahub.indicator_table import IndicatorTable
from cityloop.frameworks import Framework
from cityloop.store.bulk import WriteCounts
from cityloop.store.models import IndicatorValue, Observation, OriginKind, SensorEntity
from cityloop.store.surveys import Sessions
from cityloop.store.values import Origin, upsert_values

HOUR = 3600


@dataclass(frozen=True)
class Window:
    """A half-open span of Unix seconds (UTC): ``start <= observed_at < end``."""

    start: int
    end: int


@dataclass(frozen=True)
class DerivedCell:
    """A stored derived value with the provenance JSON it was written with."""

    unit: str
    year: int
    indicator: str
    value: float
    origin_ref: str
    entered_by: str
    entered_at: datetime


HOURLY_ROW = np.dtype(
    [("entity", "i8"), ("t", "i8"), ("n", "i8"), ("nv", "i8"), ("vsum", "f8"), ("vmin", "f8"),
     ("vmax", "f8"), ("first", "i8"), ("last", "i8")]
)  # fmt: skip


def read_series(
    session: Session,
    unit: str,
    entity_type: str,
    attribute: str,
    window: Window,
    *,
    hourly: bool,
) -> pd.DataFrame:
    """One attribute of every ``entity_type`` entity of ``unit`` in ``window`` (``FRAME_COLUMNS``).

    With ``hourly`` the database sums each entity's readings per UTC hour (count, numeric
    count, sum, min, max, first and last time): a year of readings every few minutes comes
    back as a tenth of the rows, and every formula whose grain is hourly gets the same answer.
    Entities are their keys; ``entity_names`` maps keys to NGSI-LD ids.
    """
    o = Observation
    if hourly:
        hour = (o.observed_at // HOUR) * HOUR
        # No NULLs come back (an hour of texts only has nv = 0), so rows fit a typed array.
        query: Select[Any] = select(
            o.entity_key, hour, func.count(), func.count(o.value),
            func.coalesce(func.sum(o.value), 0.0), func.coalesce(func.min(o.value), 0.0),
            func.coalesce(func.max(o.value), 0.0), func.min(o.observed_at),
            func.max(o.observed_at),
        ).group_by(o.entity_key, hour)  # fmt: skip
    else:
        query = select(o.entity_key, o.observed_at, o.value, o.text)
    query = query.where(
        o.entity_key.in_(_entity_keys(unit, entity_type)),
        o.attribute == attribute,
        o.observed_at >= window.start,
        o.observed_at < window.end,
    )
    result = session.connection().execute(query)
    # Straight from the driver's cursor: building a SQLAlchemy Row per reading cost more than
    # the query itself on a year of readings (benchmarks/derive.py).
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    if not hourly:
        return _raw(list(zip(*rows, strict=True)) if rows else [()] * 4)
    # One typed array straight from the tuples: three times faster than transposing them.
    hours = np.fromiter(rows, dtype=HOURLY_ROW, count=len(rows))
    numeric = hours["nv"] > 0
    frame = pd.DataFrame(
        {
            "entity": hours["entity"], "t": hours["t"],
            "value": np.where(numeric, hours["vsum"] / np.maximum(hours["nv"], 1), np.nan),
            "text": np.full(len(hours), None, dtype=object),
            "n": hours["n"], "nv": hours["nv"], "vsum": hours["vsum"],
            "vmin": np.where(numeric, hours["vmin"], np.nan),
            "vmax": np.where(numeric, hours["vmax"], np.nan),
            "first": hours["first"], "last": hours["last"],
        }
    )  # fmt: skip
    return frame[list(FRAME_COLUMNS)]


def _raw(columns: Sequence[Sequence[Any]]) -> pd.DataFrame:
    entity, t, value, text = columns
    values = np.asarray(value, dtype=np.float64)  # None (a text reading) becomes NaN
    times = np.asarray(t, dtype=np.int64)
    return pd.DataFrame(
        {
            "entity": np.asarray(entity, dtype=np.int64), "t": times, "value": values,
            "text": np.asarray(text, dtype=object), "n": np.ones(len(times), dtype=np.int64),
            "nv": (~np.isnan(values)).astype(np.int64),
            "vsum": values, "vmin": values, "vmax": values, "first": times, "last": times,
        }
    )  # fmt: skip


def _entity_keys(unit: str, entity_type: str) -> Select[tuple[int]]:
    e = SensorEntity
    return select(e.key).where(e.unit_code == unit, e.entity_type == entity_type)


def entity_table(
    session: Session, unit: str, entity_type: str, attribute: str, window: Window
) -> pd.DataFrame:
    """Per entity of the type in ``unit``: ``key``, ``entity_id``, ``observations``, ``first``
    and ``last`` (UTC seconds) of ``attribute`` in ``window`` (entities without any left out)."""
    o, e = Observation, SensorEntity
    query = (
        select(e.key, e.entity_id, func.count(), func.min(o.observed_at), func.max(o.observed_at))
        .join(o, o.entity_key == e.key)
        .where(
            e.unit_code == unit,
            e.entity_type == entity_type,
            o.attribute == attribute,
            o.observed_at >= window.start,
            o.observed_at < window.end,
        )
        .group_by(e.key, e.entity_id)
        .order_by(e.entity_id)
    )
    rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=["key", "entity_id", "observations", "first", "last"])


def derived_cells(
    session: Session, framework_id: str, indicators: Sequence[str]
) -> list[DerivedCell]:
    """The stored values of ``indicators`` whose origin is a derivation, by unit, year, code."""
    v = IndicatorValue
    rows = session.execute(
        select(v.region_code, v.year, v.indicator, v.value, v.origin_ref, v.entered_by)
        .add_columns(v.entered_at)
        .where(
            v.framework_id == framework_id,
            v.indicator.in_(list(indicators)),
            v.origin_kind == OriginKind.DERIVED,
        )
        .order_by(v.region_code, v.year, v.indicator)
    ).all()
    return [DerivedCell(*row) for row in rows]


class SeriesStore:
    """``db.series``: sensor series for formulas and the derived values, one transaction each."""

    def __init__(self, db: Sessions) -> None:
        self._db = db

    def frame(
        self, unit: str, entity_type: str, attribute: str, window: Window, *, hourly: bool
    ) -> pd.DataFrame:
        with self._db.reader() as s:
            return read_series(s, unit, entity_type, attribute, window, hourly=hourly)

    def entities(self, unit: str, entity_type: str, attribute: str, window: Window) -> pd.DataFrame:
        with self._db.reader() as s:
            return entity_table(s, unit, entity_type, attribute, window)

    def derived_cells(self, framework_id: str, indicators: Sequence[str]) -> list[DerivedCell]:
        with self._db.reader() as s:
            return derived_cells(s, framework_id, indicators)

    def write_derived(
        self, fw: Framework, cells: Sequence[tuple[IndicatorTable, str]], actor: str
    ) -> WriteCounts:
        """Write each one-value table with its own provenance (``Origin(DERIVED, ref)``), all
        in one transaction: the normal value write, so history and audit are as for any value."""
        totals = np.zeros(3, dtype=np.int64)
        with self._db.session() as s:
            for table, ref in cells:
                counts = upsert_values(s, table, fw, actor, Origin(OriginKind.DERIVED, ref))
                totals += (counts.inserted, counts.updated, counts.unchanged)
        return WriteCounts(int(totals[0]), int(totals[1]), int(totals[2]))
