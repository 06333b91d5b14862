"""Evaluate a parsed derived-indicator formula over observation frames, fully vectorised.

Series are DataFrames of readings (or hourly sums of readings) per entity; every step is a
pandas groupby or mask. The answer carries its provenance: readings, entities, time span.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cityloop.datahub.formulas import (
    COVERAGE_STEPS,
    Arithmetic,
    Call,
    Comparison,
    Formula,
    Kind,
    Metric,
    Negative,
    Node,
    Number,
    Ref,
    Series,
    Text,
    kind_of,
    parse_hours,
)

# A frame: ``entity``, ``t`` (Unix seconds; local wall-clock seconds once evaluation starts),
# ``value``, ``text``, and the sums that let hourly pre-aggregated rows stand for their
# readings: ``n`` readings, ``nv`` numeric readings, ``vsum``/``vmin``/``vmax`` of the values,
# ``first``/``last`` reading time (UTC seconds). A raw reading is a row with n = 1.
FRAME_COLUMNS = ("entity", "t", "value", "text", "n", "nv", "vsum", "vmin", "vmax", "first", "last")
HOUR, DAY = 3600, 86400
UNIT_ENTITY = "*"  # the entity of a bucket that pools every entity of the unit
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


@dataclass(frozen=True)
class Provenance:
    """What a derived value rests on: readings, entities, first/last reading (UTC seconds),
    the buckets (rows) the final reduction saw, and the hub metrics it used."""

    observations: int
    entities: int
    first: int | None
    last: int | None
    buckets: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FormulaResult:
    """The value (None when the data give none) and its provenance."""

    value: float | None
    provenance: Provenance
    missing_metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Condition:
    frame: pd.DataFrame  # entity, t
    holds: np.ndarray[Any, np.dtype[np.bool_]]
    valid: np.ndarray[Any, np.dtype[np.bool_]]


def raw_frame(entity: Any, t: Any, value: Any = None, text: Any = None) -> pd.DataFrame:
    """A frame of raw readings from columns (``value`` or ``text`` may be None)."""
    times = np.asarray(t, dtype=np.int64)
    values = np.full(len(times), np.nan) if value is None else np.asarray(value, dtype=np.float64)
    texts = pd.Series([None] * len(times) if text is None else list(text), dtype=object)
    numeric = ~np.isnan(values)
    return pd.DataFrame(
        {
            "entity": np.asarray(entity), "t": times, "value": values, "text": texts.to_numpy(),
            "n": np.ones(len(times), dtype=np.int64), "nv": numeric.astype(np.int64),
            "vsum": values, "vmin": values, "vmax": values, "first": times, "last": times,
        }
    )  # fmt: skip


def to_local(seconds: Any, timezone: str) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Unix seconds (UTC) as wall-clock seconds in ``timezone`` (seconds since local 1970-01-01)."""
    stamps = pd.DatetimeIndex(
        pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s", utc=True)
    )
    local = stamps.tz_convert(timezone).tz_localize(None)
    return np.asarray(local.to_numpy().astype("datetime64[s]").astype(np.int64))


def evaluate_formula(
    formula: Formula,
    frames: Mapping[Ref, pd.DataFrame],
    *,
    timezone: str,
    metrics: Mapping[str, float] | None = None,
) -> FormulaResult:
    """The formula's value over ``frames`` (one per series it reads, UTC times).

    Parameters
    ----------
    formula : Formula
        From ``parse_formula``.
    frames : mapping of Ref to DataFrame
        Readings of each series in the window (``FRAME_COLUMNS``; ``raw_frame`` builds one).
    timezone : str
        IANA zone of the local hours and days (``Asia/Shanghai``).
    metrics : mapping, optional
        Hub metrics by name (``sharing_ratio`` …).

    Returns
    -------
    FormulaResult
        ``value`` is None when a series has no usable reading or a metric is missing.
    """
    metrics = dict(metrics or {})
    # A metric the hub could not measure (None or NaN) leaves the value undetermined.
    missing = tuple(m for m in formula.metrics if not _measured(metrics.get(m)))
    local = {ref: frame.assign(t=to_local(frame["t"], timezone)) for ref, frame in frames.items()}
    run = _Run(local, metrics)
    value = None if missing else run.scalar(formula.root)
    if value is not None and not np.isfinite(value):
        value = None
    used = [frames[ref] for ref in formula.refs if ref in frames and len(frames[ref])]
    provenance = Provenance(
        observations=int(sum(int(f["n"].sum()) for f in used)),
        entities=int(sum(f["entity"].nunique() for f in used)),
        first=int(min(f["first"].min() for f in used)) if used else None,
        last=int(max(f["last"].max() for f in used)) if used else None,
        buckets=run.buckets,
        metrics={m: float(metrics[m]) for m in formula.metrics if m not in missing},
    )
    return FormulaResult(value, provenance, missing)


def daily_profile(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Per local day: ``day`` (ISO date), ``mean``, ``min``, ``max``, ``readings`` — the chart
    under a derived value."""
    local = frame.assign(t=to_local(frame["t"], timezone))
    days = _bucket(local, DAY, ["mean", "min", "max", "count"])
    return pd.DataFrame(
        {
            "day": pd.to_datetime(days["t"], unit="s").dt.strftime("%Y-%m-%d"),
            "mean": days["mean"], "min": days["min"], "max": days["max"],
            "readings": days["count"].astype(np.int64),
        }
    ).reset_index(drop=True)  # fmt: skip


# -- the interpreter -----------------------------------------------------------------------------


class _Run:
    """One evaluation: series frames in local time, metrics, and the buckets reduced."""

    def __init__(self, frames: Mapping[Ref, pd.DataFrame], metrics: Mapping[str, float]) -> None:
        self.frames = frames
        self.metrics = metrics
        self.buckets = 0

    def scalar(self, node: Node) -> float | None:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Metric):
            return float(self.metrics[node.name])
        if isinstance(node, Negative):
            inner = self.scalar(node.operand)
            return None if inner is None else -inner
        if isinstance(node, Arithmetic):
            left, right = self.scalar(node.left), self.scalar(node.right)
            if left is None or right is None:
                return None
            if node.op == "/" and right == 0:
                return None
            return float(OPERATORS[node.op](left, right))
        assert isinstance(node, Call)
        if node.function in ("share", "share_entities"):
            return self.share(node)
        return self.reduce(node.function, self.series(node.argument))

    def reduce(self, function: str, frame: pd.DataFrame) -> float | None:
        self.buckets += len(frame)
        if function == "count":
            return float(frame["n"].sum())
        if function == "median":
            values = frame["value"].dropna()
            return float(values.median()) if len(values) else None
        if int(frame["nv"].sum()) == 0:
            return None
        if function == "mean":
            return float(frame["vsum"].sum() / frame["nv"].sum())
        column = {"sum": "vsum", "min": "vmin", "max": "vmax"}[function]
        reduced = getattr(frame[column], function)()
        return float(reduced)

    def share(self, node: Call) -> float | None:
        assert isinstance(node.argument, Comparison)
        cond = self.condition(node.argument)
        self.buckets += int(cond.valid.sum())
        if not cond.valid.any():
            return None
        if node.function == "share":
            return float(cond.holds[cond.valid].mean())
        per = pd.DataFrame(
            {"entity": cond.frame["entity"].to_numpy()[cond.valid], "holds": cond.holds[cond.valid]}
        )
        return float(per.groupby("entity")["holds"].all().mean())

    def condition(self, node: Comparison) -> _Condition:
        op = OPERATORS[node.op]
        swapped = kind_of(node.left) != Kind.SERIES
        series_node, other = (node.right, node.left) if swapped else (node.left, node.right)
        frame = self.series(series_node)
        if isinstance(other, Text):
            column = frame["text"]
            valid = column.notna().to_numpy()
            compared = column.astype(object).where(valid, "")
            holds = op(other.value, compared) if swapped else op(compared, other.value)
            return _Condition(frame, np.asarray(holds, dtype=bool) & valid, valid)
        limit = self.scalar(other)
        values = frame["value"].to_numpy(dtype=np.float64)
        valid = ~np.isnan(values) & (limit is not None)
        with np.errstate(invalid="ignore"):
            holds = op(limit, values) if swapped else op(values, limit)
        return _Condition(frame, np.asarray(holds, dtype=bool) & valid, valid)

    def series(self, node: Node) -> pd.DataFrame:
        if isinstance(node, Series):
            return self.frames.get(node.ref, raw_frame([], [])).reset_index(drop=True)
        if isinstance(node, Negative):
            frame = self.series(node.operand)
            return _derived(frame, -frame["value"].to_numpy(dtype=np.float64))
        if isinstance(node, Arithmetic):
            return self.arithmetic(node)
        assert isinstance(node, Call)
        frame = self.series(node.argument)
        name, option = node.function, node.option or ""
        if name in ("hourly", "daily"):
            buckets = _bucket(frame, HOUR if name == "hourly" else DAY, [option])
            return _derived(buckets, buckets[option].to_numpy(dtype=np.float64))
        if name == "per_entity":
            return _per_entity(frame, option)
        if name == "hours":
            kept = np.zeros(24, dtype=bool)
            kept[sorted(parse_hours(option))] = True
            in_hours: pd.DataFrame = frame[kept[(frame["t"].to_numpy() // HOUR) % 24]]
            return in_hours.reset_index(drop=True)
        if name == "coverage":
            return _coverage(frame, COVERAGE_STEPS[option])
        # latest: each entity's last reading that holds a value or a text
        frame = frame[frame["value"].notna() | frame["text"].notna()]
        if not len(frame):
            return frame.reset_index(drop=True)
        last: pd.DataFrame = frame.loc[frame.groupby("entity")["t"].idxmax()]
        return last.reset_index(drop=True)

    def arithmetic(self, node: Arithmetic) -> pd.DataFrame:
        left_series = not _is_scalar(node.left)
        frame = self.series(node.left if left_series else node.right)
        scalar = self.scalar(node.right if left_series else node.left)
        values = frame["value"].to_numpy(dtype=np.float64)
        factor = np.nan if scalar is None else scalar
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (
                OPERATORS[node.op](values, factor)
                if left_series
                else OPERATORS[node.op](factor, values)
            )
        out = np.where(np.isfinite(out), out, np.nan)
        return _derived(frame, out)


def _measured(value: float | None) -> bool:
    return value is not None and bool(np.isfinite(value))


def _is_scalar(node: Node) -> bool:
    return kind_of(node) == Kind.SCALAR


def _bucket(frame: pd.DataFrame, size: int, aggregates: list[str]) -> pd.DataFrame:
    """Pool every entity's readings per bucket of ``size`` seconds: t, first, last and each of
    ``aggregates`` (mean, min, max, sum, count); buckets without a value for them dropped."""
    grouped = frame.assign(b=frame["t"].to_numpy() // size * size).groupby("b", sort=True)
    out = _sums(grouped, aggregates)
    out["t"] = out.index.to_numpy(dtype=np.int64)
    out["entity"] = UNIT_ENTITY
    return out.reset_index(drop=True)


def _per_entity(frame: pd.DataFrame, aggregate: str) -> pd.DataFrame:
    grouped = frame.groupby("entity", sort=True)
    out = _sums(grouped, [aggregate])
    out["t"] = grouped["t"].min()
    out = out.reset_index()
    return _derived(out, out[aggregate].to_numpy(dtype=np.float64))


def _sums(grouped: Any, aggregates: list[str]) -> pd.DataFrame:
    numeric = grouped["nv"].sum()
    total = grouped["vsum"].sum(min_count=1)
    columns = {
        "mean": lambda: total / numeric.where(numeric > 0),
        "sum": lambda: total,
        "min": lambda: grouped["vmin"].min(),
        "max": lambda: grouped["vmax"].max(),
        "count": lambda: grouped["n"].sum().astype(np.float64),
    }
    out = pd.DataFrame({name: columns[name]() for name in aggregates})
    out["first"] = grouped["first"].min()
    out["last"] = grouped["last"].max()
    return out.dropna(subset=aggregates, how="all")


def _coverage(frame: pd.DataFrame, step: int) -> pd.DataFrame:
    """Per entity: the share of the series' buckets (first to last bucket of any entity) in
    which the entity has at least one reading."""
    if not len(frame):
        return _derived(frame, np.zeros(0))
    bucket = frame["t"].to_numpy() // step
    span = int(bucket.max() - bucket.min() + 1)
    grouped = frame.assign(b=bucket).groupby("entity", sort=True)
    out = pd.DataFrame(
        {
            "share": grouped["b"].nunique() / span, "t": grouped["t"].min(),
            "first": grouped["first"].min(), "last": grouped["last"].max(),
        }
    ).reset_index()  # fmt: skip
    return _derived(out, out["share"].to_numpy(dtype=np.float64))


def _derived(frame: pd.DataFrame, values: np.ndarray[Any, Any]) -> pd.DataFrame:
    """Rows that each stand for one computed value (not for readings): n = 1."""
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    numeric = keep[keep].astype(np.int64)
    return pd.DataFrame(
        {
            "entity": frame["entity"].to_numpy()[keep], "t": frame["t"].to_numpy()[keep],
            "value": values[keep], "text": np.full(int(keep.sum()), None, dtype=object),
            "n": np.ones(int(keep.sum()), dtype=np.int64), "nv": numeric, "vsum": values[keep],
            "vmin": values[keep], "vmax": values[keep],
            "first": frame["first"].to_numpy()[keep], "last": frame["last"].to_numpy()[keep],
        }
    )  # fmt: skip
