"""Data-quality measures of a unit's resource catalogue: completeness, timeliness, sharing,
API uptime and an overall score per department, vectorised over resources (pure pandas).

The store hands in per-resource aggregates (``cityloop.store.quality``); nothing here reads a
database or a file. Every definition is written out in ``docs/datahub-quality.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cityloop.errors import InputError, Location, schema_problems

MEASURES = ("completeness", "metadata", "timeliness", "sharing", "uptime")
FREQUENCIES = ("realtime", "daily", "weekly", "monthly", "quarterly", "yearly")
IRREGULAR = "irregular"
SHAREABLE = ("unconditional", "conditional")
TOTAL = "*"  # the department key of the unit-wide row
Light = Literal["green", "amber", "red", "none"]
CHINA = "Asia/Shanghai"  # working days and request dates are the offices' own days


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Frequency(_Strict):
    period_hours: float = Field(gt=0)
    grace_hours: float = Field(ge=0)


class Lights(_Strict):
    green: float = Field(ge=0, le=1)
    amber: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Lights:
        if self.amber > self.green:
            raise ValueError("amber must not exceed green")
        return self


class SharingRules(_Strict):
    decision_working_days: int = Field(ge=0)
    holidays: tuple[str, ...] = ()


class MetadataRules(_Strict):
    required: tuple[str, ...]
    recommended: tuple[str, ...] = ()
    required_when: dict[str, dict[str, str]] = Field(default_factory=dict)
    recommended_weight: float = Field(ge=0, le=1)


class QualityPolicy(_Strict):
    """The weights, lights, frequencies and rules of ``quality-weights.yaml``."""

    weights: dict[str, float]
    lights: Lights
    frequencies: dict[str, Frequency]
    sharing: SharingRules
    metadata: MetadataRules

    @model_validator(mode="after")
    def _complete(self) -> QualityPolicy:
        if set(self.weights) != set(MEASURES) or min(self.weights.values()) < 0:
            raise ValueError(f"weights: give each of {', '.join(MEASURES)} a number >= 0")
        if sum(self.weights.values()) <= 0:
            raise ValueError("weights: at least one must be > 0")
        if set(self.frequencies) != set(FREQUENCIES):
            raise ValueError(f"frequencies: give each of {', '.join(FREQUENCIES)}")
        return self

    def period_seconds(self) -> dict[str, int]:
        """Length of one promised period per frequency, in whole seconds (SQL buckets)."""
        return {k: round(f.period_hours * 3600) for k, f in self.frequencies.items()}


def parse_policy(data: Mapping[str, Any], source: str) -> QualityPolicy:
    """Validate a parsed ``quality-weights.yaml``; refuse it naming the file and the key."""
    try:
        return QualityPolicy.model_validate(data)
    except ValidationError as exc:
        problems = schema_problems(exc, lambda loc: Location(file=source, column=_dotted(loc)))
        raise InputError("dataquality.policy.invalid", problems, file=source) from None


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "—"


# -- measures of each resource --------------------------------------------------------------------


def filled(column: pd.Series) -> pd.Series:
    """Whether each metadata cell holds something: a non-blank text or a non-empty list."""
    if column.dtype == object and column.map(type).isin([list, dict]).any():
        return column.str.len().fillna(0).gt(0)
    return column.fillna("").astype(str).str.strip().ne("")


def metadata_completeness(resources: pd.DataFrame, rules: MetadataRules) -> pd.Series:
    """Share of the catalogue metadata each resource fills, required items weighing 1 and
    recommended ones ``rules.recommended_weight``; conditional items count only where their
    condition holds (a not-shared reason only for a resource that is not shared)."""
    weight = rules.recommended_weight
    got = sum(
        (filled(resources[c]).astype(float) for c in rules.required),
        pd.Series(0.0, resources.index),
    )
    owed = pd.Series(float(len(rules.required)), resources.index)
    for column in rules.recommended:
        got += weight * filled(resources[column])
        owed += weight
    for column, condition in rules.required_when.items():
        applies = np.logical_and.reduce(
            [resources[c].astype(str).eq(v) for c, v in condition.items()]
        )
        got += applies & filled(resources[column])
        owed += applies
    return (got / owed).where(owed > 0)


def table_completeness(cells: pd.DataFrame) -> pd.Series:
    """Share of non-empty cells over a table resource's declared fields and stored rows:
    ``filled / (rows × declared)``; 0 when it has declared fields but no rows."""
    owed = cells["rows"] * cells["declared"]
    share = cells["filled"] / owed.where(owed > 0)
    return share.where(owed > 0, 0.0).where(cells["declared"] > 0)


def expected_readings(
    frequency: pd.Series, window_hours: float, policy: QualityPolicy
) -> pd.Series:
    """Readings each entity owes in the window: whole periods of its frequency, at least one
    (an ``irregular`` resource owes one: the entity reported at all)."""
    period = frequency.map({k: f.period_hours for k, f in policy.frequencies.items()})
    owed: pd.Series = (window_hours // period).clip(lower=1).fillna(1.0)
    return owed


def sensor_completeness(
    readings: pd.DataFrame, frequency: pd.Series, window_hours: float, policy: QualityPolicy
) -> pd.DataFrame:
    """Per sensor resource: share of expected readings present over its entities, and the last
    observation.

    ``readings`` has one row per (resource_id, entity) with ``periods`` (distinct periods of
    the resource's frequency with an observation) and ``last_observed`` (Unix seconds);
    ``frequency`` is indexed by resource id. Periods beyond the expected count are not
    credited, so an over-eager sensor cannot hide a silent one.
    """
    expected = expected_readings(frequency, window_hours, policy)
    owed = readings["resource_id"].map(expected)
    credited = np.minimum(readings["periods"], owed)
    per = pd.DataFrame({"resource_id": readings["resource_id"], "got": credited, "owed": owed})
    sums = per.groupby("resource_id")[["got", "owed"]].sum()
    last = pd.to_datetime(
        readings.groupby("resource_id")["last_observed"].max(), unit="s", utc=True
    )
    out = pd.DataFrame({"completeness": sums["got"] / sums["owed"], "last_observed": last})
    # A sensor resource that no entity feeds has delivered nothing.
    return out.reindex(frequency.index).fillna({"completeness": 0.0})


def timeliness(
    frequency: pd.Series, last_update: pd.Series, at: datetime, policy: QualityPolicy
) -> pd.DataFrame:
    """Whether each resource is on time at ``at`` and how old its data are (days).

    On time: updated at most ``period + grace`` hours before ``at``. Never updated: late.
    ``irregular`` resources promise nothing and are not judged (NaN).
    """
    limit = frequency.map(
        {k: f.period_hours + f.grace_hours for k, f in policy.frequencies.items()}
    )
    age = pd.Timestamp(at) - pd.to_datetime(last_update, utc=True)
    age_hours = (age.dt.total_seconds() / 3600).clip(lower=0)
    on_time = (age_hours <= limit).astype(float).where(frequency.ne(IRREGULAR))
    return pd.DataFrame({"on_time": on_time, "age_days": age_hours / 24})


def request_flags(requests: pd.DataFrame, at: datetime, policy: QualityPolicy) -> pd.DataFrame:
    """Per sharing request (``department`` = the owning department): whether it is judged,
    decided in time, decided at all, approved.

    The owner should decide within ``sharing.decision_working_days`` working days (Monday to
    Friday, China Standard Time, less the listed holidays) of the day it was asked. A pending
    request counts (as late) once that time has run out at ``at``; one still within it is not
    judged yet; withdrawn requests are left out.
    """
    rules = policy.sharing
    live = requests[requests["status"].ne("withdrawn")]
    today = np.datetime64(pd.Timestamp(at).tz_convert(CHINA).date(), "D")
    asked = _china_days(live["requested_at"])
    decided = _china_days(live["decided_at"])
    decided = np.where(np.isnat(decided), today, decided)  # pending: time spent until today
    spent = np.busday_count(asked, decided, holidays=list(rules.holidays))
    done = live["status"].isin(["approved", "refused"]).to_numpy()
    in_time = spent <= rules.decision_working_days
    judged = done | ~in_time
    return pd.DataFrame({
        "department": live["department"].to_numpy(),
        "judged": judged, "in_time": judged & in_time & done,
        "decided": done, "approved": live["status"].eq("approved").to_numpy(),
    })  # fmt: skip


def request_handling(flags: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """Per ``key`` group of ``request_flags``: requests judged, the share decided in time and
    the approval ratio (approved / decided)."""
    sums = flags.groupby(key.rename("department"))[["judged", "in_time", "decided", "approved"]]
    total = sums.sum()
    return pd.DataFrame({
        "requests": total["judged"].astype(int),
        "decided_in_time": total["in_time"] / total["judged"].where(total["judged"] > 0),
        "approval": total["approved"] / total["decided"].where(total["decided"] > 0),
    })  # fmt: skip


def _china_days(moments: pd.Series) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """The calendar day (China Standard Time) of each moment; NaT stays NaT."""
    stamps = pd.to_datetime(moments, utc=True).dt.tz_convert(CHINA).dt.tz_localize(None)
    return stamps.to_numpy().astype("datetime64[D]")


# -- resources, departments and the unit ----------------------------------------------------------


def resource_quality(
    resources: pd.DataFrame,
    cells: pd.DataFrame,
    readings: pd.DataFrame,
    checks: pd.DataFrame,
    access: pd.DataFrame,
    *,
    at: datetime,
    window_days: float,
    policy: QualityPolicy,
) -> pd.DataFrame:
    """Every measure of every resource, indexed by resource id.

    Parameters
    ----------
    resources : DataFrame
        One row per resource (index: id) with its catalogue columns: ``department``,
        ``entity_type`` (None for a table resource), ``update_frequency``, ``sharing_type``,
        ``open_type``, ``status``, ``api_url``, ``data_updated_at`` and the metadata columns.
    cells : DataFrame
        Table resources (index: resource id): ``rows``, ``declared``, ``filled``.
    readings : DataFrame
        Sensor entities: ``resource_id``, ``periods``, ``last_observed`` (Unix seconds).
    checks : DataFrame
        Probes in the window (index: resource id): ``probes``, ``ok_probes``, ``latency_ms``,
        ``last_ok``, ``last_detail``.
    access : DataFrame
        The hub's own API in the window (index: resource id): ``requests``, ``served``.
    at : datetime
        The reference moment (timezone-aware).
    window_days : float
        Length of the window that ends at ``at``.
    policy : QualityPolicy
        Weights, frequencies and rules.

    Returns
    -------
    DataFrame
        ``department``, ``completeness``, ``metadata``, ``on_time``, ``age_days``,
        ``shareable``, ``open``, ``published``, ``has_api``, ``probes``, ``uptime``,
        ``latency_ms``, ``last_ok``, ``last_detail``, ``hub_requests``, ``hub_served``.
    """
    frequency = resources["update_frequency"].astype(str)
    is_sensor = resources["entity_type"].notna()
    sensors = sensor_completeness(readings, frequency[is_sensor], window_days * 24, policy)
    table = table_completeness(cells).reindex(resources.index)
    completeness = table.where(~is_sensor, sensors["completeness"].reindex(resources.index))
    last_update = pd.concat(
        [pd.to_datetime(resources["data_updated_at"], utc=True), sensors["last_observed"]], axis=1
    ).max(axis=1)
    timely = timeliness(frequency, last_update.reindex(resources.index), at, policy)
    probes = checks.reindex(resources.index)
    hub = access.reindex(resources.index).fillna(0)
    has_api = resources["api_url"].fillna("").astype(str).str.strip().ne("")
    return pd.DataFrame({
        "department": resources["department"],
        "completeness": completeness.astype(float),
        "metadata": metadata_completeness(resources, policy.metadata),
        "on_time": timely["on_time"], "age_days": timely["age_days"],
        "shareable": resources["sharing_type"].astype(str).isin(SHAREABLE),
        "open": resources["open_type"].astype(str).eq("open"),
        "published": resources["status"].astype(str).eq("published"),
        "has_api": has_api,
        "probes": probes["probes"].fillna(0).astype(int),
        "uptime": (probes["ok_probes"] / probes["probes"]).where(has_api),
        "latency_ms": probes["latency_ms"],
        "last_ok": probes["last_ok"].astype(object).where(has_api & probes["last_ok"].notna()),
        "last_detail": probes["last_detail"].fillna(""),
        "hub_requests": hub["requests"].astype(int), "hub_served": hub["served"].astype(int),
    })  # fmt: skip


def summarise(measures: pd.DataFrame, flags: pd.DataFrame, policy: QualityPolicy) -> pd.DataFrame:
    """One row per department, plus the unit-wide row ``TOTAL`` last, with every measure,
    the request handling, the overall score and its light.

    Departments: means over their resources (each resource weighs the same, so one large
    table cannot hide many empty small ones); timeliness the share on time of the judged
    resources; uptime the mean of the probed endpoints' uptimes; hub availability and request
    handling pooled over their requests.
    """
    per = _aggregate(measures, measures["department"])
    everything = _aggregate(measures, pd.Series(TOTAL, measures.index))
    # A unit without resources still has its (empty) unit-wide row.
    frame = pd.concat([per, everything]).reindex([*per.index, TOTAL])
    counts = ["resources", "late", "published", "endpoints", "failing", "hub_requests"]
    frame[counts] = frame[counts].fillna(0).astype(int)
    handled = pd.concat([
        request_handling(flags, flags["department"]),
        request_handling(flags, pd.Series(TOTAL, flags.index)),
    ])  # fmt: skip
    frame = frame.join(handled)
    frame["requests"] = frame["requests"].fillna(0).astype(int)
    frame["score"] = overall_score(frame, policy)
    frame["light"] = traffic_light(frame["score"], policy)
    return frame


MEANS = {"completeness": "completeness", "metadata": "metadata", "on_time": "timeliness",
         "shareable": "sharing", "uptime": "uptime"}  # fmt: skip
SUMS = ("late", "open_published", "published", "has_api", "failing", "hub_requests", "hub_served")


def _aggregate(measures: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    frame = measures.assign(
        late=measures["on_time"].eq(0.0),
        failing=measures["last_ok"].eq(False),
        open_published=measures["open"] & measures["published"],
    )
    means = frame[list(MEANS)].astype(float).groupby(key.rename("department")).mean()
    grouped = frame[list(SUMS)].astype(int).groupby(key.rename("department"))
    out = pd.concat(
        [
            grouped.size().rename("resources"),
            means.rename(columns=MEANS),
            frame["age_days"].groupby(key.rename("department")).max().rename("stalest_days"),
            grouped.sum().rename(columns={"has_api": "endpoints"}),
        ],
        axis=1,
    )
    out["open_share"] = out["open_published"] / out["published"].where(out["published"] > 0)
    served = out["hub_served"] / out["hub_requests"].where(out["hub_requests"] > 0)
    out["hub_availability"] = served
    return out.drop(columns=["open_published", "hub_served"])


def overall_score(frame: pd.DataFrame, policy: QualityPolicy) -> pd.Series:
    """Weighted mean of the five measures; an unmeasured one (NaN) is left out and the other
    weights rescaled; NaN when none is measured."""
    values = frame[list(MEASURES)].to_numpy(dtype=float)
    weights = np.array([policy.weights[m] for m in MEASURES])
    present = ~np.isnan(values)
    used = present.astype(float) @ weights
    total = np.where(present, values, 0.0) @ weights
    return pd.Series(np.where(used > 0, total / np.where(used > 0, used, 1.0), np.nan), frame.index)


def traffic_light(score: pd.Series, policy: QualityPolicy) -> pd.Series:
    """``green`` at or above ``lights.green``, ``amber`` at or above ``lights.amber``, ``red``
    below, ``none`` when there is no score."""
    lights = policy.lights
    value = score.to_numpy(dtype=float)
    chosen = np.select(
        [value >= lights.green, value >= lights.amber, ~np.isnan(value)],
        ["green", "amber", "red"],
        "none",
    )
    return pd.Series(chosen, score.index)


def hub_metric_values(summary: pd.DataFrame) -> dict[str, float]:
    """The unit-wide numbers that framework formulas read as ``hub.*`` (each in 0–1, NaN when
    not measurable, and ``resources`` the count)."""
    total = summary.loc[TOTAL]
    return {
        "open_share": float(total["open_share"]),
        "sharing_ratio": float(total["sharing"]),
        "completeness": float(total["completeness"]),
        "timeliness": float(total["timeliness"]),
        "uptime": float(total["uptime"]),
        "resources": float(total["resources"]),
    }
