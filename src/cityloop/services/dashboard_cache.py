"""The dashboards' shared tables: a stored run's scores read once per process, and the regions,
raw values and newest run re-read after a few seconds; every overview and ranking reads these.

Runs never change, so a run's tables are read once and kept (a small LRU); regions and raw
values may change, so they are kept only for ``FRESH_SECONDS``. Request threads share what is
kept and never change it. Cached tables are indexed by unit or indicator code only, with their
label lookups built before they are shared (``settled``): pandas builds an index's hash table
on first use, and a (year, unit) MultiIndex looked up by two threads at once could look
half-built, so ``.loc[(year, unit)]`` answered a frame instead of a row.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from cityloop.accounts.scope import visible_units
from cityloop.datahub.units import Units
from cityloop.errors import CityLoopError
from cityloop.evaluation import overview
from cityloop.evaluation.result import TOTAL
from cityloop.frameworks import Framework
from cityloop.i18n import pick, t
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.store import Database
from cityloop.store.runs import RunRow

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

RUNS_KEPT = 4  # a run of 300 cities × 5 years is ~100k score rows, some 10 MB as frames
FRESH_SECONDS = 30.0  # how stale regions and raw values on a dashboard may be
NEWEST_SECONDS = 5.0  # how long a new run may wait before it is the default one shown
TOTAL_COLUMNS = ["score", "change", "rank", "ranked", "stage"]

# Every read of regions or raw values gets a number no other read has, so tables derived from
# one read are never taken for another's (timestamps of two databases' reads could be equal).
_reads = itertools.count(1)


class NoRunError(CityLoopError):
    """There is no stored run to show (none yet for the framework, or no such id)."""


class Cache(Generic[K, V]):
    """A bounded, thread-safe LRU whose entries may expire; ``get`` builds what is missing."""

    def __init__(self, size: int, ttl: float | None = None) -> None:
        self.size, self.ttl = size, ttl
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()

    def get(self, key: K, build: Callable[[], V]) -> V:
        found = self._fresh(key)
        if found is not None:
            return found[0]
        # One build at a time: twenty first requests for a run read its rows once, not twenty.
        with self._build_lock:
            found = self._fresh(key)
            if found is not None:
                return found[0]
            value = build()
            with self._lock:
                self._entries[key] = (time.monotonic(), value)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            return value

    def _fresh(self, key: K) -> tuple[V] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or (self.ttl is not None and time.monotonic() - entry[0] > self.ttl):
                return None
            self._entries.move_to_end(key)
            return (entry[1],)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def settled(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``, checked to have unique row and column labels, its label lookups built now.

    Asking an index whether it is unique builds its hash table; done before the frame is
    cached, every later lookup from any thread only reads it, and a label always finds one row.
    """
    for labels in (frame.index, frame.columns):
        if not labels.is_unique:
            raise ValueError(f"a cached dashboard table has repeated labels: {labels.name}")
    return frame


@dataclass(frozen=True)
class YearScores:
    """One year of a run, every table indexed by the codes of the units evaluated that year."""

    totals: pd.DataFrame  # unit → score, change, rank, ranked, stage
    dimensions: pd.DataFrame  # unit × first-level dimension codes
    indicators: pd.DataFrame  # unit × indicator codes: normalised scores
    medians: dict[str, float]  # TOTAL and each dimension code → peer median (NaN: none)
    best: str | None  # the unit ranked first on the total


@dataclass(frozen=True)
class RunView:
    """A run's tables as the dashboards read them, built once per run."""

    key: tuple[str, int, str]  # database, run id, creation time: what identifies the run
    run: RunRow
    framework: Framework
    years: tuple[int, ...]
    dimensions: tuple[str, ...]  # first-level dimension codes, in framework order
    by_year: dict[int, YearScores]
    spec: pd.DataFrame  # indicator code → direction, target, target_source, band_low, band_high


@dataclass(frozen=True)
class Regions:
    """The stored regions with the labels a dashboard shows per unit."""

    serial: int  # which read of the regions: tells the tables built from them apart
    units: Units
    labels: pd.DataFrame  # unit → name_zh, name_en, province, clusters (list of names)

    def name(self, code: str, lang: str | None = None) -> str:
        """The unit's name in ``lang`` (default: the reader's); its code if it is unknown."""
        if code not in self.labels.index:
            return code
        row = self.labels.loc[code]
        return pick({"zh": str(row["name_zh"]), "en": str(row["name_en"])}, lang)


@dataclass(frozen=True)
class RawYear:
    """One year's raw values of a run's units, and the best of them per indicator."""

    serial: int  # which read of the values
    values: pd.DataFrame  # unit × indicator
    best: pd.Series  # indicator → best peer value (NaN for band indicators)


RUNS: Cache[tuple[str, int, str], RunView] = Cache(RUNS_KEPT)
RUN_ROWS: Cache[tuple[str, int], RunRow] = Cache(64, NEWEST_SECONDS)
NEWEST: Cache[tuple[str, str], RunRow] = Cache(16, NEWEST_SECONDS)
REGIONS: Cache[str, Regions] = Cache(8, FRESH_SECONDS)
VISIBLE: Cache[tuple[int, str | None], frozenset[str]] = Cache(256)
RAW: Cache[tuple[tuple[str, int, str], int], RawYear] = Cache(16, FRESH_SECONDS)


def build_view(db: Database, run: RunRow, key: tuple[str, int, str]) -> RunView:
    """Read a run's scores once and shape them per year for the dashboards."""
    fw = db.framework(run.framework_id, run.framework_version)
    scores = db.run_scores(run.id)
    scores = scores[scores["score"].notna() | (scores["level"] == 0)]

    def wide(mask: pd.Series, columns: list[str]) -> pd.DataFrame:
        part = scores[mask.to_numpy()]
        table = part.pivot(index=["year", "unit"], columns="node", values="score")
        return table.reindex(columns=columns).astype(np.float64)

    dims = [c for c, d in zip(fw.codes, fw.depth, strict=True) if d == 1]
    total_rows = scores[scores["node"] == TOTAL].set_index(["year", "unit"]).sort_index()
    totals = total_rows[TOTAL_COLUMNS]
    dimensions = wide(scores["level"] == 1, dims)
    indicators = wide(scores["node"].isin(fw.indicator_codes), list(fw.indicator_codes))
    medians = overview.peer_median(pd.concat([totals[["score"]], dimensions], axis=1))
    medians = medians.rename(columns={"score": TOTAL})
    years = tuple(int(y) for y in totals.index.get_level_values("year").unique())
    # The (year, unit) tables stay local to this build; what is kept is split by year.
    by_year = {y: year_scores(y, totals, dimensions, indicators, medians) for y in years}
    return RunView(key, run, fw, years, tuple(dims), by_year, settled(target_spec(run, fw)))


def year_scores(
    year: int,
    totals: pd.DataFrame,
    dimensions: pd.DataFrame,
    indicators: pd.DataFrame,
    medians: pd.DataFrame,
) -> YearScores:
    """One year of (year, unit) tables, indexed by unit; every table has the totals' units."""

    def of_year(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame.index.get_level_values("year") == year].droplevel("year")

    own = settled(of_year(totals))
    return YearScores(
        totals=own,
        dimensions=settled(of_year(dimensions).reindex(own.index)),
        indicators=settled(of_year(indicators).reindex(own.index)),
        medians={str(c): float(v) for c, v in medians.loc[year].items()},
        best=overview.best_unit(own["score"]),
    )


def target_spec(run: RunRow, fw: Framework) -> pd.DataFrame:
    """Each indicator's direction, target (the run's override, else the framework's) and band."""
    overrides = {str(k): float(v) for k, v in (run.config.get("targets") or {}).items()}
    target = pd.Series(fw.target, index=list(fw.indicator_codes))
    override = pd.Series(overrides, dtype=np.float64).reindex(target.index)
    return pd.DataFrame(
        {
            "direction": fw.direction,
            "target": override.fillna(target),
            "target_source": np.where(override.notna(), "config", "framework"),
            "band_low": fw.band[:, 0],
            "band_high": fw.band[:, 1],
        },
        index=target.index,
    )


def run_view(db: Database, run_id: int | None, framework: str | None) -> RunView:
    """The run asked for (``run_id``), else the newest run of ``framework``; cached."""
    if run_id is not None:
        run = RUN_ROWS.get((db.url, run_id), lambda: stored_run(db, run_id))
    else:
        fid = framework or DEFAULT_FRAMEWORK
        run = NEWEST.get((db.url, fid), lambda: newest_run(db, fid))
    # The run's creation time is in the key: a restored database may reuse an id.
    key = (db.url, run.id, run.created_at.isoformat())
    return RUNS.get(key, lambda: build_view(db, run, key))


def stored_run(db: Database, run_id: int) -> RunRow:
    run = db.run(run_id)
    if run is None:
        raise NoRunError("dash.unknown_run", run=run_id)
    return run


def newest_run(db: Database, framework: str) -> RunRow:
    runs = db.runs(framework)
    if not runs:
        raise NoRunError("dash.no_run", framework=framework)
    return runs[0]


def choose_year(view: RunView, year: int | None) -> int:
    """``year``, or the run's latest year; a year the run does not have is refused."""
    if year is None:
        return max(view.years)
    if year not in view.years:
        raise CityLoopError("dash.unknown_year", year=year, years=", ".join(map(str, view.years)))
    return year


def regions(db: Database) -> Regions:
    """The stored regions (cached for ``FRESH_SECONDS``); ``NoRunError`` when none are loaded.

    Keyed by the database URL, which names the database (a SQLite file, a PostgreSQL database).
    """
    return REGIONS.get(db.url, lambda: read_regions(db))


def read_regions(db: Database) -> Regions:
    units = db.units()
    if units is None:
        raise NoRunError("dash.no_regions")
    m = units.memberships
    province = m[m["kind"] == "province"].drop_duplicates("unit").set_index("unit")["group"]
    clusters = m[m["kind"] == "cluster"].groupby("unit")["group"].agg(list)
    labels = pd.DataFrame(
        {
            "name_zh": units.table["name_zh"].astype(str),
            "name_en": units.table["name_en"].fillna("").astype(str),
            "province": province.reindex(units.table.index).fillna("").astype(str),
        }
    )
    labels["clusters"] = clusters.reindex(labels.index)
    labels["clusters"] = [c if isinstance(c, list) else [] for c in labels["clusters"]]
    settled(units.table)
    return Regions(next(_reads), units, settled(labels))


def visible(reg: Regions, scope: str | None) -> frozenset[str]:
    """``visible_units`` of the cached regions, cached per scope."""
    return VISIBLE.get((reg.serial, scope), lambda: frozenset(visible_units(reg.units, scope)))


def raw_year(db: Database, view: RunView, year: int) -> RawYear:
    """The raw values of the run's units in ``year`` (cached for ``FRESH_SECONDS``)."""

    def build() -> RawYear:
        frame = db.values_frame(view.framework.id, [year])
        wide = frame.pivot(index="unit", columns="indicator", values="value")
        wide = wide.reindex(index=view.by_year[year].totals.index, columns=view.spec.index)
        best = overview.peer_best(wide, view.spec["direction"])
        return RawYear(next(_reads), settled(wide), best)

    return RAW.get((view.key, year), build)


def num(x: Any) -> float | None:
    """A JSON-safe number: None for NaN, NA or None."""
    return None if x is None or pd.isna(x) else float(x)


def whole(x: Any) -> int | None:
    """A JSON-safe whole number: None for NaN, NA or None."""
    return None if x is None or pd.isna(x) else int(x)


def stage_name(stage: Any) -> str:
    """The development stage's name in the reader's language; "" for none."""
    return t(f"stage.{stage}") if stage else ""
