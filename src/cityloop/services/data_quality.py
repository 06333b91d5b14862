"""The data-quality dashboard as a use-case: one unit's report per department and resource, the
``hub.*`` numbers framework formulas read, the xlsx export, and probing service endpoints.

Joins ``db.quality`` (SQL aggregates) with ``cityloop.datahub.quality`` (the measures).
"""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import yaml
from pydantic import BaseModel

from cityloop import __version__
from cityloop.accounts import Role
from cityloop.collection import CHINA_TIME
from cityloop.datahub import quality as measures
from cityloop.errors import CityLoopError, InputError
from cityloop.i18n import current_language, pick, t
from cityloop.services.files import write_atomically
from cityloop.services.workbook import write_workbook
from cityloop.store import Database
from cityloop.store.quality import NewCheck, Window

POLICY_FILE = "quality-weights.yaml"
DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 366
PROBE_WORKERS = 16  # endpoints answer (or time out) in parallel: a cron run stays short
PROBE_READ_BYTES = 1024  # enough to know the body started; the data itself is not wanted
PROBE_SCHEMES = ("http", "https")


class DepartmentQuality(BaseModel):
    """One department's measures (or the unit's, ``department`` = ``*``); 0–1 or None."""

    department: str
    name: str
    resources: int
    completeness: float | None
    metadata: float | None
    timeliness: float | None
    late: int
    stalest_days: float | None
    sharing: float | None
    open_share: float | None
    endpoints: int
    uptime: float | None
    failing: int
    hub_availability: float | None
    requests: int
    decided_in_time: float | None
    approval: float | None
    score: float | None
    light: str
    detail: bool = True  # whether this reader may see the department's resources


class ResourceQuality(BaseModel):
    """One resource's measures and what is wrong with it (``problems``: catalogue keys)."""

    id: int
    code: str
    name: str
    department: str
    kind: str  # table | sensor
    update_frequency: str
    completeness: float | None
    metadata: float | None
    on_time: bool | None
    age_days: float | None
    sharing_type: str
    open_type: str
    status: str
    api_url: str
    probes: int
    uptime: float | None
    latency_ms: float | None
    last_ok: bool | None
    last_detail: str
    problems: list[str]


class QualityReport(BaseModel):
    """The dashboard of one unit at one moment over a window of days."""

    unit: str
    at: datetime
    window_days: int
    departments: list[DepartmentQuality]
    total: DepartmentQuality
    resources: list[ResourceQuality]
    weights: dict[str, float]
    lights: dict[str, float]


@lru_cache(maxsize=1)
def quality_policy() -> measures.QualityPolicy:
    """The shipped ``cityloop/datahub/quality-weights.yaml``, validated."""
    text = resources.files("cityloop.datahub").joinpath(POLICY_FILE).read_text("utf-8")
    return measures.parse_policy(yaml.safe_load(text), POLICY_FILE)


def quality_report(
    db: Database,
    unit: str,
    *,
    at: datetime | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    policy: measures.QualityPolicy | None = None,
) -> QualityReport:
    """The data-quality report of ``unit``'s catalogue at ``at`` (default: now) over the
    ``window_days`` before it: per department, per resource and for the unit."""
    policy = policy or quality_policy()
    summary, per_resource, resources_frame, window = _measure(db, unit, at, window_days, policy)
    names = _department_names(db)
    rows = [_department_row(dept, record, names) for dept, record in summary.iterrows()]
    problems = _problems(per_resource, policy)
    listed = per_resource.join(resources_frame.drop(columns=["department"])).assign(
        problems=problems
    )
    return QualityReport(
        unit=unit,
        at=window.end,
        window_days=window_days,
        departments=[r for r in rows if r.department != measures.TOTAL],
        total=next(r for r in rows if r.department == measures.TOTAL),
        resources=[_resource_row(int(str(i)), r) for i, r in listed.iterrows()],
        weights=dict(policy.weights),
        lights={"green": policy.lights.green, "amber": policy.lights.amber},
    )


def for_reader(report: QualityReport, role: Role, department: str | None) -> QualityReport:
    """What a reader may see: a data officer sees every department's aggregate numbers but
    the resources of their own department only; other roles see everything."""
    if role is not Role.DATA_OFFICER:
        return report
    return report.model_copy(
        update={
            "departments": [
                d.model_copy(update={"detail": d.department == department})
                for d in report.departments
            ],
            "resources": [r for r in report.resources if r.department == department],
        }
    )


def hub_metrics(db: Database, unit: str, year: int) -> dict[str, float]:
    """The unit's data-hub numbers for ``year`` that framework formulas read as ``hub.*``:
    ``open_share``, ``sharing_ratio``, ``completeness``, ``timeliness``, ``uptime`` (0–1,
    NaN when not measurable) and ``resources`` (a count).

    Measured at the end of ``year`` (China Standard Time), or now if that is still to come,
    over the default window before it. The catalogue itself is read as it is now.
    """
    year_end = datetime(year + 1, 1, 1, tzinfo=CHINA_TIME) - timedelta(seconds=1)
    at = min(year_end, datetime.now(UTC))
    summary = _measure(db, unit, at, DEFAULT_WINDOW_DAYS, quality_policy())[0]
    return measures.hub_metric_values(summary)


def export_report(report: QualityReport, path: str | Path, lang: str | None = None) -> Path:
    """Write the report to an ``.xlsx`` workbook: the departments (and the unit) and the
    resources, with translated headers."""
    out = Path(path)
    if out.suffix.lower() != ".xlsx":
        raise InputError("dataquality.export_suffix", suffix=out.suffix or out.name)
    lang = lang or current_language()
    departments = pd.DataFrame([d.model_dump() for d in [*report.departments, report.total]])
    departments = departments.drop(columns=["detail"]).assign(
        light=lambda f: f["light"].map(lambda v: t(f"dataquality.light.{v}", lang))
    )
    listed = pd.DataFrame(
        [r.model_dump() for r in report.resources], columns=list(ResourceQuality.model_fields)
    )
    listed["problems"] = listed["problems"].map(
        lambda keys: "; ".join(t(f"dataquality.problem.{k}", lang) for k in keys)
    )
    sheets = {
        t("dataquality.sheet.departments", lang): _headed(departments, lang),
        t("dataquality.sheet.resources", lang): _headed(listed, lang),
    }
    return write_atomically(out, lambda tmp: write_workbook(tmp, sheets, lang))


# -- probing service endpoints ----------------------------------------------------------------


@dataclass(frozen=True)
class ProbeResult:
    """One endpoint's answer: ok (2xx/3xx within the timeout), how fast, and a short detail."""

    resource_id: int
    url: str
    ok: bool
    latency_ms: float | None
    detail: str
    at: datetime


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer of the endpoint itself: record it, do not follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def probe_endpoints(db: Database, unit: str, *, timeout: float = 5.0) -> list[ProbeResult]:
    """GET every ``api_url`` of ``unit``'s resources once and record the results as resource
    checks; return them (in resource order)."""
    _require_unit(db, unit)
    targets = db.quality.endpoints(unit)
    with ThreadPoolExecutor(max_workers=PROBE_WORKERS) as pool:
        results = list(pool.map(lambda target: probe(*target, timeout=timeout), targets))
    db.quality.record_checks(
        [NewCheck(r.resource_id, r.at, r.ok, r.latency_ms, r.detail) for r in results]
    )
    return results


def probe(resource_id: int, url: str, *, timeout: float) -> ProbeResult:
    """GET ``url`` once: ok for a 2xx or 3xx answer that arrived within ``timeout`` seconds."""
    at = datetime.now(UTC)
    if urlsplit(url).scheme.lower() not in PROBE_SCHEMES:
        # file:, ftp: and the like are never fetched from the server.
        return ProbeResult(resource_id, url, False, None, "unsupported scheme", at)
    request = urllib.request.Request(url, headers={"User-Agent": f"CityLoop-probe/{__version__}"})
    opener = urllib.request.build_opener(_NoRedirect)
    started = time.perf_counter()
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(PROBE_READ_BYTES)
            status = int(response.status)
    except urllib.error.HTTPError as answered:
        status = int(answered.code)
    except (TimeoutError, urllib.error.URLError, OSError) as failed:
        reason = getattr(failed, "reason", failed)
        if isinstance(reason, TimeoutError):
            return ProbeResult(resource_id, url, False, None, f"timeout after {timeout:g} s", at)
        return ProbeResult(resource_id, url, False, None, f"error: {reason}"[:300], at)
    latency = (time.perf_counter() - started) * 1000
    ok = 200 <= status < 400 and latency <= timeout * 1000
    return ProbeResult(resource_id, url, ok, round(latency, 1), f"HTTP {status}", at)


# -- helpers ----------------------------------------------------------------------------------


def _measure(
    db: Database,
    unit: str,
    at: datetime | None,
    window_days: int,
    policy: measures.QualityPolicy,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Window]:
    """(department summary, per-resource measures, resources, window) of ``unit``."""
    _require_unit(db, unit)
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise InputError("dataquality.bad_window", days=window_days, most=MAX_WINDOW_DAYS)
    end = at or datetime.now(UTC)
    if end.tzinfo is None:
        raise InputError("dataquality.naive_time", at=end.isoformat())
    window = Window(unit, end - timedelta(days=window_days), end)
    store = db.quality
    catalogue = store.resources(window)
    per_resource = measures.resource_quality(
        catalogue,
        store.table_cells(window),
        store.sensor_readings(window, policy.period_seconds()),
        store.checks(window),
        store.access(window),
        at=end,
        window_days=window_days,
        policy=policy,
    )
    flags = measures.request_flags(store.sharing_requests(window), end, policy)
    return measures.summarise(per_resource, flags, policy), per_resource, catalogue, window


def _require_unit(db: Database, unit: str) -> None:
    units = db.units()
    if units is None or unit not in units.table.index:
        raise CityLoopError("dataquality.unknown_unit", unit=unit)


def _department_names(db: Database) -> dict[str, str]:
    frame = db.quality.departments()
    names = {
        str(code): pick({"zh": str(row["name_zh"]), "en": str(row["name_en"] or "")})
        for code, row in frame.iterrows()
    }
    return {**names, measures.TOTAL: t("dataquality.total")}


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _department_row(department: Any, record: pd.Series, names: dict[str, str]) -> DepartmentQuality:
    values = {k: _number(v) for k, v in record.items()}
    return DepartmentQuality.model_validate(
        {
            **values,
            "department": str(department),
            "name": names.get(str(department), str(department)),
        }
    )


def _resource_row(resource_id: int, record: pd.Series) -> ResourceQuality:
    values = {k: _number(v) for k, v in record.items()}
    on_time = values["on_time"]
    return ResourceQuality.model_validate(
        {
            **values,
            "id": resource_id,
            "name": pick({"zh": str(record["name_zh"]), "en": str(record["name_en"] or "")}),
            "kind": "table" if record["entity_type"] is None else "sensor",
            "on_time": None if on_time is None else bool(on_time),
            "update_frequency": str(record["update_frequency"]),
            "sharing_type": str(record["sharing_type"]),
            "open_type": str(record["open_type"]),
            "status": str(record["status"]),
            "api_url": str(record["api_url"] or ""),
        }
    )


def _problems(per_resource: pd.DataFrame, policy: measures.QualityPolicy) -> pd.Series:
    """Catalogue keys of what is wrong with each resource, worst first."""
    amber = policy.lights.amber
    flags = pd.DataFrame(
        {
            "endpoint_failing": per_resource["last_ok"].eq(False)
            | per_resource["uptime"].lt(amber),
            "not_probed": per_resource["has_api"] & per_resource["probes"].eq(0),
            "never_updated": per_resource["on_time"].eq(0) & per_resource["age_days"].isna(),
            "stale": per_resource["on_time"].eq(0) & per_resource["age_days"].notna(),
            "incomplete": per_resource["completeness"].lt(amber),
            "metadata_missing": per_resource["metadata"].lt(amber),
        }
    )
    return flags.apply(lambda row: [k for k, v in row.items() if v], axis=1).reindex(
        per_resource.index
    )


def _headed(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``frame`` with its columns named by ``dataquality.col.*`` in ``lang``."""
    return frame.rename(columns=lambda c: t(f"dataquality.col.{c}", lang))
