"""The diagnosis method as editable data: which framework nodes, survey subjects and stages speak
for which plan type, and the thresholds of the diagnosis (``plan-types.yaml``), validated.

Every fault of a file is reported at once with its file, entry and field; nothing is half-read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from cityloop.errors import InputError, Location, Problem
from cityloop.evaluation.config import STAGES
from cityloop.planning.project_types import PlanType
from cityloop.survey.items import Subject

METHOD_FILE = "plan-types.yaml"
PLAN_TYPES = tuple(PlanType)
WEIGHT_TOLERANCE = 1e-6
PARTS = ("evaluation", "needs", "stage")
# The C parser when PyYAML has it; both are safe loaders.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class DiagnosisRules:
    """The thresholds of the diagnosis; ``docs/plan-diagnosis.md`` explains each one."""

    weak_percentile: float = 1 / 3
    below_own_mean: float = 0.10
    strong_percentile: float = 2 / 3
    part_weights: Mapping[str, float] | None = None
    domain_weight: float = 0.5
    secondary_ratio: float = 0.8
    urgent_top_share: float = 1 / 3
    important_weight: float = 0.05
    infrastructure_weight: float = 0.5
    min_share_primary: float = 0.40
    min_share_secondary: float = 0.20

    def part_weight(self, part: str) -> float:
        """The weight of ``part`` (evaluation, needs or stage) before renormalising."""
        weights = self.part_weights or {"evaluation": 0.45, "needs": 0.40, "stage": 0.15}
        return float(weights.get(part, 0.0))


@dataclass(frozen=True)
class DiagnosisMethod:
    """The plan-type mapping and the rules, as the diagnosis uses them.

    ``subjects``, ``stages`` and each frame of ``nodes`` have one row per subject, stage or
    second-level node and one column per plan type (``PLAN_TYPES`` order); each row sums to
    one. ``why`` holds the one-line rationale ``{zh, en}`` of every row, keyed by
    (section, code) with section ``subject``, ``stage`` or ``node``.
    """

    rules: DiagnosisRules
    subjects: pd.DataFrame
    stages: pd.DataFrame
    nodes: Mapping[str, pd.DataFrame]
    why: Mapping[tuple[str, str], Mapping[str, str]]
    source: str = METHOD_FILE

    def framework_nodes(self, framework_id: str) -> pd.DataFrame:
        """The node mapping of ``framework_id``; ``InputError`` naming the mapped ones if none."""
        if framework_id not in self.nodes:
            raise InputError(
                "plandiag.method.no_framework",
                framework=framework_id,
                known=", ".join(sorted(self.nodes)) or "—",
                file=self.source,
            )
        return self.nodes[framework_id]


class _Problems:
    """Collects the problems of one file so that all of them are reported at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[Problem] = []

    def add(self, key: str, entry: str | None, field: str | None, **params: Any) -> None:
        where = Location(file=self.source, sheet=entry, column=field)
        self.found.append(Problem(key, params, where))


def load_method(path: str | Path | None = None) -> DiagnosisMethod:
    """The diagnosis method from ``path`` (default: the packaged ``plan-types.yaml``)."""
    if path is None:
        text = resources.files("cityloop.planning").joinpath(METHOD_FILE).read_text("utf-8")
        return parse_method(yaml.load(text, Loader=_LOADER), METHOD_FILE)
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError("plandiag.method.unreadable", file=str(path), detail=str(exc)) from exc
    return parse_method(data, str(path))


def parse_method(data: Any, source: str) -> DiagnosisMethod:
    """Validate a parsed ``plan-types.yaml``; ``InputError`` listing every fault if any."""
    problems = _Problems(source)
    if not isinstance(data, Mapping):
        problems.add("plandiag.method.section_missing", None, "rules", section="rules")
        raise InputError("plandiag.method.invalid", problems.found, file=source)
    rules = _rules(data.get("rules"), problems)
    why: dict[tuple[str, str], Mapping[str, str]] = {}
    subjects = _table(data.get("subjects"), "subject", [s.value for s in Subject], why, problems)
    stages = _table(data.get("stages"), "stage", list(STAGES), why, problems)
    nodes: dict[str, pd.DataFrame] = {}
    frameworks = data.get("frameworks")
    if not isinstance(frameworks, Mapping) or not frameworks:
        problems.add("plandiag.method.section_missing", None, "frameworks", section="frameworks")
    else:
        for fid, spec in frameworks.items():
            entries = spec.get("nodes") if isinstance(spec, Mapping) else None
            nodes[str(fid)] = _table(entries, "node", None, why, problems, f"frameworks.{fid}")
    if problems.found:
        raise InputError("plandiag.method.invalid", problems.found, file=source)
    return DiagnosisMethod(rules, subjects, stages, nodes, why, source)


def _table(
    entries: Any,
    section: str,
    allowed: list[str] | None,
    why: dict[tuple[str, str], Mapping[str, str]],
    problems: _Problems,
    where: str | None = None,
) -> pd.DataFrame:
    """One section (subjects, stages or a framework's nodes) as a code × plan-type frame."""
    name = where or f"{section}s"
    rows: dict[str, list[float]] = {}
    if not isinstance(entries, Mapping) or not entries:
        problems.add("plandiag.method.section_missing", None, name, section=name)
        return pd.DataFrame(columns=[p.value for p in PLAN_TYPES], dtype="float64")
    for raw_code, spec in entries.items():
        code = str(raw_code)
        entry = f"{name}.{code}"
        if allowed is not None and code not in allowed:
            problems.add(
                f"plandiag.method.unknown_{section}",
                entry,
                None,
                code=code,
                allowed=", ".join(allowed),
            )
            continue
        types = spec.get("types") if isinstance(spec, Mapping) else None
        weights = _type_weights(types, entry, problems)
        text = spec.get("why") if isinstance(spec, Mapping) else None
        if not isinstance(text, Mapping) or not all(text.get(k) for k in ("zh", "en")):
            problems.add("plandiag.method.missing_why", entry, "why")
        else:
            why[(section, code)] = {"zh": str(text["zh"]), "en": str(text["en"])}
        if weights is not None:
            rows[code] = weights
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=[p.value for p in PLAN_TYPES], dtype="float64"
    )


def _type_weights(types: Any, entry: str, problems: _Problems) -> list[float] | None:
    """The entry's weight of each plan type (0 where not named); None when they are unusable."""
    if not isinstance(types, Mapping) or not types:
        problems.add("plandiag.method.no_types", entry, "types")
        return None
    known = {p.value for p in PLAN_TYPES}
    ok = True
    for key, value in types.items():
        if str(key) not in known:
            problems.add(
                "plandiag.method.unknown_type",
                entry,
                "types",
                plan_type=key,
                allowed=", ".join(sorted(known)),
            )
            ok = False
        elif not _is_number(value) or float(value) < 0:
            problems.add("plandiag.method.bad_weight", entry, f"types.{key}", value=value)
            ok = False
    if not ok:
        return None
    weights = [float(types.get(p.value, 0.0)) for p in PLAN_TYPES]
    if abs(sum(weights) - 1.0) > WEIGHT_TOLERANCE:
        problems.add("plandiag.method.weights_sum", entry, "types", total=round(sum(weights), 6))
        return None
    return weights


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _rules(data: Any, problems: _Problems) -> DiagnosisRules:
    """The ``rules`` section checked field by field (a missing field keeps its default)."""
    if data is None:
        return DiagnosisRules()
    if not isinstance(data, Mapping):
        problems.add("plandiag.method.section_missing", None, "rules", section="rules")
        return DiagnosisRules()
    default = DiagnosisRules()
    shares = (
        "weak_percentile",
        "below_own_mean",
        "strong_percentile",
        "domain_weight",
        "urgent_top_share",
        "important_weight",
        "infrastructure_weight",
    )
    values: dict[str, float] = {}
    for field in (*shares, "secondary_ratio"):
        value = data.get(field, getattr(default, field))
        if not _is_number(value) or not 0 <= float(value) <= 1:
            problems.add("plandiag.method.bad_rule", "rules", field, value=value)
        else:
            values[field] = float(value)
    if values.get("weak_percentile", 0.0) >= values.get("strong_percentile", 1.0):
        problems.add("plandiag.method.rule_order", "rules", "weak_percentile")
    parts = data.get("part_weights", {})
    if not isinstance(parts, Mapping) or any(str(k) not in PARTS for k in parts):
        problems.add("plandiag.method.bad_parts", "rules", "part_weights", parts=", ".join(PARTS))
        parts = {}
    for key, value in parts.items():
        if not _is_number(value) or float(value) < 0:
            problems.add("plandiag.method.bad_rule", "rules", f"part_weights.{key}", value=value)
    if parts and not any(_is_number(v) and float(v) > 0 for v in parts.values()):
        problems.add("plandiag.method.bad_parts", "rules", "part_weights", parts=", ".join(PARTS))
    minimum = data.get("min_share", {})
    if not isinstance(minimum, Mapping):
        minimum = {"primary": minimum}
    primary = minimum.get("primary", default.min_share_primary)
    secondary = minimum.get("secondary", default.min_share_secondary)
    if not (_is_number(primary) and _is_number(secondary)) or not (
        0 <= secondary <= primary and primary + secondary <= 1
    ):
        problems.add("plandiag.method.bad_min_share", "rules", "min_share")
        primary, secondary = default.min_share_primary, default.min_share_secondary
    return DiagnosisRules(
        **values,
        part_weights={str(k): float(v) for k, v in parts.items() if _is_number(v)} or None,
        min_share_primary=float(primary),
        min_share_secondary=float(secondary),
    )
