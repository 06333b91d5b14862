"""Derived indicators: compute a framework's formulas over the sensor series and hub metrics of
a unit and year, write them as indicator values with provenance, and show where one came from.

``cityloop derive``, the ``/derived`` pages and ``/api/derived`` call these; the formula
language is ``cityloop.datahub.formulas``, its evaluation ``cityloop.datahub.formula_eval``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cityloop.datahub.formula_eval import Provenance, daily_profile, evaluate_formula, to_local
from cityloop.datahub.formulas import Formula, Grain, Ref, parse_formula
from cityloop.datahub.indicator_table import IndicatorTable, validate_values
from cityloop.errors import InputError
from cityloop.frameworks import Framework, load_framework, shipped_ids
from cityloop.frameworks.schema import Indicator
from cityloop.i18n import t
from cityloop.services.data_quality import hub_metrics
from cityloop.store import Database, WriteCounts
from cityloop.store.series import DerivedCell, Window

Metrics = Callable[[Database, str, int], Mapping[str, float]]
VALUE_DECIMALS = 4
NO_DATA = "derived.skip.no_data"
NO_METRIC = "derived.skip.no_metric"
NO_VALUE = "derived.skip.no_value"


@dataclass(frozen=True)
class DerivedIndicator:
    """An indicator of a framework with its parsed formula and time zone."""

    indicator: Indicator
    formula: Formula
    timezone: str

    @property
    def code(self) -> str:
        return self.indicator.code


@dataclass(frozen=True)
class DerivedValue:
    """One value computed (and written) for a unit, year and indicator, with its provenance."""

    unit: str
    indicator: str
    value: float
    provenance: dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    """A unit and indicator left without a value, and why (a catalogue key and its params)."""

    unit: str
    indicator: str
    reason: str
    params: dict[str, str] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        return t(self.reason, lang, **self.params)


@dataclass(frozen=True)
class DerivationReport:
    """What ``derive`` did: the values written, the ones skipped and the write counts."""

    framework: str
    year: int
    values: list[DerivedValue]
    skipped: list[Skipped]
    counts: WriteCounts


# -- frameworks with formulas ----------------------------------------------------------------------


def derived_framework(db: Database, framework_id: str) -> Framework:
    """The framework as shipped (its formulas may be newer than a stored version), else the
    latest stored version."""
    if framework_id in shipped_ids():
        return load_framework(framework_id)
    return db.framework(framework_id)


def derived_indicators(fw: Framework) -> list[DerivedIndicator]:
    """The indicators of ``fw`` that carry a formula (already checked when ``fw`` loaded)."""
    return [
        DerivedIndicator(i, parse_formula(i.derived.formula), i.derived.timezone)
        for i in fw.indicators
        if i.derived is not None
    ]


def frameworks_with_formulas() -> list[Framework]:
    """The shipped frameworks that have at least one derived indicator."""
    loaded = [load_framework(fid) for fid in shipped_ids()]
    return [fw for fw in loaded if any(i.derived is not None for i in fw.indicators)]


def year_window(year: int, timezone: str) -> Window:
    """The calendar ``year`` in ``timezone`` as Unix seconds [1 January, next 1 January)."""
    zone = ZoneInfo(timezone)
    start = datetime(year, 1, 1, tzinfo=zone).timestamp()
    end = datetime(year + 1, 1, 1, tzinfo=zone).timestamp()
    return Window(int(start), int(end))


def whole_hour_offsets(window: Window, timezone: str) -> bool:
    """Whether ``timezone`` is a whole number of hours from UTC all through ``window`` (then a
    local hour is a UTC hour, and hourly sums from the database keep local hours exact)."""
    probes = np.arange(window.start, window.end, 86400, dtype=np.int64)
    return bool(np.all((to_local(probes, timezone) - probes) % 3600 == 0))


# -- computing -----------------------------------------------------------------------------------


def derive(
    db: Database,
    framework_id: str,
    units: Sequence[str],
    year: int,
    *,
    actor: str,
    metrics: Metrics = hub_metrics,
) -> DerivationReport:
    """Compute every derived indicator of ``framework_id`` for ``units`` in ``year`` and write
    the values (origin ``derived``, provenance JSON as the origin reference).

    ``year`` is the calendar year in each formula's time zone. An indicator without readings
    in the window, or whose hub metric is not measurable, is skipped and reported. A value
    equal to the stored one is left as it is, so running again changes nothing.
    """
    fw = derived_framework(db, framework_id)
    formulas = derived_indicators(fw)
    if not formulas:
        raise InputError("derived.svc.no_formulas", framework=framework_id)
    known = db.units()
    unknown = sorted(set(units) - set(known.table.index if known is not None else ()))
    if unknown:
        raise InputError("derived.svc.unknown_units", units=", ".join(unknown))
    computed_at = datetime.now(UTC).isoformat(timespec="seconds")
    values: list[DerivedValue] = []
    skipped: list[Skipped] = []
    for unit in units:
        hub = dict(metrics(db, unit, year)) if any(d.formula.metrics for d in formulas) else {}
        read: dict[tuple[Ref, Window, bool], pd.DataFrame] = {}  # a series used twice: one read
        for item in formulas:
            outcome = _derive_one(db, item, unit, year, hub, computed_at, read)
            if isinstance(outcome, DerivedValue):
                values.append(outcome)
            else:
                skipped.append(outcome)
    counts = _write(db, fw, year, values, actor)
    return DerivationReport(fw.id, year, values, skipped, counts)


def _derive_one(
    db: Database,
    item: DerivedIndicator,
    unit: str,
    year: int,
    hub: Mapping[str, float],
    computed_at: str,
    read: dict[tuple[Ref, Window, bool], pd.DataFrame],
) -> DerivedValue | Skipped:
    window = year_window(year, item.timezone)
    hourly_ok = whole_hour_offsets(window, item.timezone)
    frames: dict[Ref, pd.DataFrame] = {}
    for ref, grain in item.formula.grains.items():
        key = (ref, window, hourly_ok and grain == Grain.HOURLY)
        if key not in read:
            read[key] = db.series.frame(unit, ref.entity_type, ref.attribute, window, hourly=key[2])
        frames[ref] = read[key]
    if frames and all(len(f) == 0 for f in frames.values()):
        refs = ", ".join(str(r) for r in frames)
        return Skipped(unit, item.code, NO_DATA, {"series": refs, "year": str(year)})
    result = evaluate_formula(item.formula, frames, timezone=item.timezone, metrics=hub)
    if result.missing_metrics:
        return Skipped(unit, item.code, NO_METRIC, {"metrics": ", ".join(result.missing_metrics)})
    if result.value is None:
        return Skipped(unit, item.code, NO_VALUE, {"formula": item.formula.text})
    provenance = provenance_record(item, window, result.provenance, computed_at)
    return DerivedValue(unit, item.code, round(result.value, VALUE_DECIMALS), provenance)


def provenance_record(
    item: DerivedIndicator, window: Window, found: Provenance, computed_at: str
) -> dict[str, Any]:
    """The compact provenance stored as a derived value's origin reference."""
    return {
        "formula": item.formula.text,
        "timezone": item.timezone,
        "window": [_iso(window.start, item.timezone), _iso(window.end, item.timezone)],
        "series": [str(r) for r in item.formula.refs],
        "observations": found.observations,
        "entities": found.entities,
        "first": None if found.first is None else _iso(found.first, item.timezone),
        "last": None if found.last is None else _iso(found.last, item.timezone),
        "buckets": found.buckets,
        "metrics": found.metrics,
        "computed_at": computed_at,
    }


def _iso(seconds: int, timezone: str) -> str:
    return datetime.fromtimestamp(seconds, ZoneInfo(timezone)).isoformat(timespec="seconds")


def _write(
    db: Database, fw: Framework, year: int, values: list[DerivedValue], actor: str
) -> WriteCounts:
    if not values:
        return WriteCounts(0, 0, 0)
    frame = pd.DataFrame(
        {
            "unit": [v.unit for v in values],
            "year": year,
            "indicator": [v.indicator for v in values],
            "value": [v.value for v in values],
            "source": [t("derived.svc.source", observations=v.provenance["observations"],
                         entities=v.provenance["entities"]) for v in values],
            "note": [v.provenance["formula"] for v in values],
        }
    )  # fmt: skip
    # Checked together (ranges, units, codes) so one bad value refuses the whole derivation.
    table = validate_values(frame, fw, db.units(), source=f"derived:{fw.id}")
    by_cell = {(v.unit, v.indicator): v for v in values}
    cells = [
        (IndicatorTable(table.frame.iloc[[i]].reset_index(drop=True)), _ref(by_cell, row))
        for i, row in enumerate(table.frame.itertuples(index=False))
    ]
    return db.series.write_derived(fw, cells, actor)


def _ref(by_cell: Mapping[tuple[str, str], DerivedValue], row: Any) -> str:
    value = by_cell[(str(row.unit), str(row.indicator))]
    return json.dumps(value.provenance, ensure_ascii=False, separators=(",", ":"))


# -- reading: the stored values and one value's provenance ----------------------------------------


@dataclass(frozen=True)
class ProvenanceView:
    """Everything the provenance page shows of one derived value.

    ``stored`` is None while nothing has been derived; ``series`` maps each series the formula
    reads to its per-day profile (``daily_profile``) and ``entities`` to its entity table.
    """

    framework: Framework
    item: DerivedIndicator
    unit: str
    year: int
    window: Window
    stored: DerivedCell | None
    provenance: dict[str, Any]
    series: dict[str, pd.DataFrame]
    entities: dict[str, pd.DataFrame]


def stored_derived(db: Database, fw: Framework) -> list[DerivedCell]:
    """The derived values stored for ``fw``'s formulas, by unit, year and indicator."""
    return db.series.derived_cells(fw.id, [d.code for d in derived_indicators(fw)])


def provenance_view(
    db: Database, framework_id: str, unit: str, year: int, indicator: str
) -> ProvenanceView:
    """The formula, window, stored value with its provenance, entities and daily series."""
    fw = derived_framework(db, framework_id)
    item = next((d for d in derived_indicators(fw) if d.code == indicator), None)
    if item is None:
        raise InputError("derived.svc.not_derived", framework=fw.id, indicator=indicator)
    window = year_window(year, item.timezone)
    stored = next(
        (
            c
            for c in db.series.derived_cells(fw.id, [indicator])
            if c.unit == unit and c.year == year
        ),
        None,
    )
    series: dict[str, pd.DataFrame] = {}
    entities: dict[str, pd.DataFrame] = {}
    for ref in item.formula.refs:
        frame = db.series.frame(unit, ref.entity_type, ref.attribute, window, hourly=True)
        series[str(ref)] = daily_profile(frame, item.timezone)
        entities[str(ref)] = _entities(db, unit, ref, window, item.timezone)
    provenance = json.loads(stored.origin_ref) if stored is not None else {}
    return ProvenanceView(fw, item, unit, year, window, stored, provenance, series, entities)


def _entities(db: Database, unit: str, ref: Ref, window: Window, timezone: str) -> pd.DataFrame:
    table = db.series.entities(unit, ref.entity_type, ref.attribute, window)
    for column in ("first", "last"):
        table[column] = [_iso(int(s), timezone) for s in table[column]]
    return table.drop(columns=["key"])
