"""The project catalogue as editable data: read and validate ``projects.yaml``, apply a city's
overrides and own projects, and turn projects back into the plain records files and forms hold.

Every fault is collected and reported at once with its file, line (where known), project and field.
"""

from __future__ import annotations

import graphlib
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from cityloop.errors import InputError, Location, Problem
from cityloop.planning.project_types import CatalogueProject, EffectRange, PlanType

CATALOGUE_FILE = "projects.yaml"
OVERRIDES_SOURCE = "overrides"
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
LANGUAGES = ("zh", "en")
REQUIRED = (
    "name", "domain", "description", "cost", "staff", "plan_types", "foundation", "importance",
)  # fmt: skip
OPTIONAL = ("prerequisites", "applications", "effects")
FIELDS = (*REQUIRED, *OPTIONAL)
EFFECT_KEYS = {"indicator", "low", "likely", "high"}
SCORE_RANGE = (1.0, 5.0)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ProjectCatalogue:
    """Projects by code (file order, a city's own ones after), the domains' (zh, en) names and
    the vocabulary the projects were checked against: the default framework of effects, the
    known application codes and each framework's indicator codes."""

    projects: Mapping[str, CatalogueProject]
    domains: Mapping[str, tuple[str, str]]
    framework: str
    applications: frozenset[str]
    indicators: Mapping[str, frozenset[str]]

    def domain_name(self, code: str, lang: str = "zh") -> str:
        """The domain's name in ``lang`` (``zh`` or ``en``); the code when it is unknown."""
        names = self.domains.get(code)
        return code if names is None else names[0 if lang.startswith("zh") else 1]

    def dependents(self, code: str) -> list[str]:
        """Codes of the projects that name ``code`` as a prerequisite."""
        return [p.code for p in self.projects.values() if code in p.prerequisites]


class _Problems:
    """The problems of one source, each placed at its line (when known) and field."""

    def __init__(self, source: str, sheet: str | None = None) -> None:
        self.source, self.sheet = source, sheet
        self.found: list[Problem] = []

    def add(self, key: str, line: int | None, field: str | None, **params: Any) -> None:
        where = Location(file=self.source, sheet=self.sheet, row=line, column=field)
        self.found.append(Problem(key, params, where))

    def raise_any(self) -> None:
        if self.found:
            raise InputError("plancat.invalid", self.found, file=self.source)


# -- records <-> projects -------------------------------------------------------------------------


def project_record(project: CatalogueProject) -> dict[str, Any]:
    """The plain record of ``project`` (the shape of a ``projects.yaml`` entry, JSON-safe)."""
    return {
        "code": project.code,
        "name": {"zh": project.name_zh, "en": project.name_en},
        "domain": project.domain,
        "description": {"zh": project.description_zh, "en": project.description_en},
        "cost": list(project.cost),
        "staff": list(project.staff),
        "prerequisites": list(project.prerequisites),
        "plan_types": [str(p) for p in project.plan_types],
        "applications": list(project.applications),
        "effects": [
            {
                "framework": e.framework,
                "indicator": e.indicator,
                "low": e.low,
                "likely": e.likely,
                "high": e.high,
            }
            for e in project.effects
        ],
        "foundation": project.foundation,
        "importance": project.importance,
    }


def override_of(base: CatalogueProject | None, project: CatalogueProject) -> dict[str, Any]:
    """The fields of ``project`` that differ from ``base`` (all of them for a new project)."""
    record = project_record(project)
    del record["code"]
    if base is None:
        return record
    shipped = project_record(base)
    return {k: v for k, v in record.items() if v != shipped[k]}


def _number(value: Any) -> float | None:
    """A finite number (not a bool), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _texts(raw: Any, code: str, field: str, line: int | None, problems: _Problems) -> list[str]:
    # Text starting with "=" would become a formula in a spreadsheet export.
    if isinstance(raw, Mapping) and all(
        isinstance(raw.get(k), str) and raw[k].strip() and not raw[k].startswith("=")
        for k in LANGUAGES
    ):
        return [raw[k].strip() for k in LANGUAGES]
    problems.add("plancat.rule.text_invalid", line, field, code=code)
    return ["", ""]


def _amounts(raw: Any, code: str, field: str, line: int | None, problems: _Problems) -> list[float]:
    values = [_number(v) for v in raw] if isinstance(raw, list) and raw else [None]
    if any(v is None or v < 0 for v in values):
        problems.add("plancat.rule.amounts_invalid", line, field, code=code)
        return []
    return [float(v) for v in values if v is not None]


def _codes(raw: Any, code: str, field: str, line: int | None, problems: _Problems) -> list[str]:
    if raw is None:
        return []
    if (
        isinstance(raw, list)
        and all(isinstance(v, str) and v.strip() for v in raw)
        and len(set(raw)) == len(raw)
    ):
        return [v.strip() for v in raw]
    problems.add("plancat.rule.codes_invalid", line, field, code=code)
    return []


def _score(raw: Any, code: str, field: str, line: int | None, problems: _Problems) -> float:
    value = _number(raw)
    if value is None or not SCORE_RANGE[0] <= value <= SCORE_RANGE[1]:
        problems.add("plancat.rule.score_invalid", line, field, code=code, value=str(raw))
        return SCORE_RANGE[0]
    return value


def _effects(
    raw: Any, code: str, line: int | None, vocab: ProjectCatalogue, problems: _Problems
) -> list[EffectRange]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add("plancat.rule.effects_invalid", line, "effects", code=code)
        return []
    effects: list[EffectRange] = []
    for number, entry in enumerate(raw, start=1):
        field = f"effects.{number}"
        if not isinstance(entry, Mapping) or not EFFECT_KEYS <= entry.keys() <= {
            *EFFECT_KEYS, "framework",
        }:  # fmt: skip
            problems.add("plancat.rule.effects_invalid", line, field, code=code)
            continue
        framework, indicator = str(entry.get("framework") or vocab.framework), entry["indicator"]
        low, likely, high = (_number(entry[k]) for k in ("low", "likely", "high"))
        if framework not in vocab.indicators:
            problems.add("plancat.rule.framework_unknown", line, field, code=code, value=framework)
        elif indicator not in vocab.indicators[framework]:
            problems.add("plancat.rule.indicator_unknown", line, field, code=code,
                         framework=framework, value=str(indicator))  # fmt: skip
        elif any((framework, indicator) == (e.framework, e.indicator) for e in effects):
            problems.add("plancat.rule.effect_duplicate", line, field, code=code, value=indicator)
        elif low is None or likely is None or high is None or not 0 <= low <= likely <= high:
            problems.add("plancat.rule.effect_range", line, field, code=code, value=indicator)
        else:
            effects.append(EffectRange(framework, indicator, low, likely, high))
    return effects


def _project(
    code: str, raw: Mapping[str, Any], line: int | None, vocab: ProjectCatalogue, p: _Problems
) -> CatalogueProject | None:
    """One project from its record, or None (with the problems added) when it is malformed."""
    before = len(p.found)
    for field in [f for f in REQUIRED if f not in raw]:
        p.add("plancat.rule.field_missing", line, field, code=code)
    for field in sorted(set(raw) - {*FIELDS, "code"}, key=str):
        p.add("plancat.rule.field_unknown", line, str(field), code=code)
    if len(p.found) > before:
        return None
    name = _texts(raw["name"], code, "name", line, p)
    description = _texts(raw["description"], code, "description", line, p)
    domain = raw["domain"]
    if domain not in vocab.domains:
        p.add("plancat.rule.domain_unknown", line, "domain", code=code, value=str(domain))
    cost = _amounts(raw["cost"], code, "cost", line, p)
    staff = _amounts(raw["staff"], code, "staff", line, p)
    if cost and staff and len(cost) != len(staff):
        p.add("plancat.rule.lengths_differ", line, "staff", code=code,
              cost=len(cost), staff=len(staff))  # fmt: skip
    plan_types = _codes(raw["plan_types"], code, "plan_types", line, p)
    if not raw["plan_types"]:
        p.add("plancat.rule.plan_types_empty", line, "plan_types", code=code)
    for value in set(plan_types) - set(PlanType):
        p.add("plancat.rule.plan_type_unknown", line, "plan_types", code=code, value=value,
              expected=", ".join(PlanType))  # fmt: skip
    applications = _codes(raw.get("applications"), code, "applications", line, p)
    for value in [a for a in applications if a not in vocab.applications]:
        p.add("plancat.rule.application_unknown", line, "applications", code=code, value=value)
    prerequisites = _codes(raw.get("prerequisites"), code, "prerequisites", line, p)
    effects = _effects(raw.get("effects"), code, line, vocab, p)
    foundation = _score(raw["foundation"], code, "foundation", line, p)
    importance = _score(raw["importance"], code, "importance", line, p)
    if len(p.found) > before:
        return None
    return CatalogueProject(
        code, name[0], name[1], str(domain), description[0], description[1], tuple(cost),
        tuple(staff), tuple(prerequisites), tuple(PlanType(t) for t in plan_types),
        tuple(applications), tuple(effects), foundation, importance,
    )  # fmt: skip


def _check_prerequisites(
    projects: Mapping[str, CatalogueProject],
    known: Collection[str],
    lines: Mapping[str, int | None],
    p: _Problems,
) -> None:
    """Unknown prerequisites and cycles; ``known`` also holds codes of projects refused for
    another reason, so that they are not reported again as missing prerequisites."""
    for project in projects.values():
        for value in [c for c in project.prerequisites if c not in known]:
            p.add("plancat.rule.prerequisite_unknown", lines.get(project.code), "prerequisites",
                  code=project.code, value=value)  # fmt: skip
    graph = {c: [q for q in pr.prerequisites if q in projects] for c, pr in projects.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))  # graphlib names it against the edges' direction
        p.add("plancat.rule.cycle", lines.get(cycle[0]), "prerequisites", code=cycle[0],
              cycle=" → ".join(cycle))  # fmt: skip


# -- the shipped file -----------------------------------------------------------------------------


def _entry_lines(text: str) -> list[int]:
    """The line of each entry of ``projects`` in the YAML text (1-based)."""
    root = yaml.compose(text, Loader=_LOADER)
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "projects" and isinstance(value, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value.value]
    return []


def _domains(raw: Any, p: _Problems) -> dict[str, tuple[str, str]]:
    if not isinstance(raw, Mapping) or not raw:
        p.add("plancat.rule.section_missing", None, "domains", section="domains")
        return {}
    domains: dict[str, tuple[str, str]] = {}
    for code, names in raw.items():
        zh, en = _texts(names, str(code), f"domains.{code}", None, p)
        domains[str(code)] = (zh, en)
    return domains


def parse_catalogue(
    text: str,
    source: str,
    *,
    applications: Collection[str],
    indicators: Mapping[str, Collection[str]],
) -> ProjectCatalogue:
    """Validate a catalogue file's text against the known application and indicator codes.

    Parameters
    ----------
    text : str
        The YAML text (``framework``, ``domains``, ``projects``; see ``projects.yaml``).
    source : str
        The file name used in problem locations.
    applications : collection of str
        Codes of ``cityloop/survey/applications.yaml`` a project may answer.
    indicators : mapping of str to collection of str
        Indicator codes by framework id that effects may name.

    Raises
    ------
    InputError
        ``plancat.invalid`` with every problem found; nothing is returned then.
    """
    p = _Problems(source)
    try:
        data = yaml.load(text, Loader=_LOADER)
        lines = _entry_lines(text)
    except yaml.YAMLError as exc:
        raise InputError("plancat.unreadable", file=source, detail=str(exc)) from exc
    if not isinstance(data, Mapping):
        data = {}
    framework = data.get("framework")
    if not isinstance(framework, str) or framework not in indicators:
        p.add("plancat.rule.framework_unknown", None, "framework", code="—", value=str(framework))
    entries = data.get("projects")
    if not isinstance(entries, list) or not entries:
        p.add("plancat.rule.section_missing", None, "projects", section="projects")
        entries = []
    vocab = ProjectCatalogue(
        {}, _domains(data.get("domains"), p), str(framework), frozenset(applications),
        {k: frozenset(v) for k, v in indicators.items()},
    )  # fmt: skip
    projects: dict[str, CatalogueProject] = {}
    where: dict[str, int | None] = {}
    for number, entry in enumerate(entries):
        line = lines[number] if number < len(lines) else None
        code = entry.get("code") if isinstance(entry, Mapping) else None
        if not isinstance(code, str) or not CODE_PATTERN.match(code):
            p.add("plancat.rule.code_invalid", line, "code", value=str(code))
            continue
        if code in where:
            p.add("plancat.rule.duplicate", line, "code", code=code)
            continue
        where[code] = line
        project = _project(code, entry, line, vocab, p)
        if project is not None:
            projects[code] = project
    _check_prerequisites(projects, where.keys(), where, p)
    p.raise_any()
    return ProjectCatalogue(
        projects, vocab.domains, vocab.framework, vocab.applications, vocab.indicators
    )


@cache
def load_catalogue() -> ProjectCatalogue:
    """The shipped catalogue (``cityloop/planning/projects.yaml``), checked against the shipped
    application catalogue and the indicators of its framework; read once per process."""
    # Imported here: the framework loader pulls in pandas and openpyxl, which a caller that
    # only needs the records should not pay for at import time.
    from cityloop.frameworks import load_framework
    from cityloop.survey.needs_dictionary import load_catalogue as load_applications

    text = resources.files("cityloop.planning").joinpath(CATALOGUE_FILE).read_text("utf-8")
    framework = str(yaml.load(text, Loader=_LOADER).get("framework"))
    return parse_catalogue(
        text,
        CATALOGUE_FILE,
        applications=load_applications().keys(),
        indicators={framework: load_framework(framework).indicator_codes},
    )


# -- a city's overrides ---------------------------------------------------------------------------


def apply_overrides(
    catalogue: ProjectCatalogue,
    overrides: Mapping[str, Mapping[str, Any]],
    *,
    source: str = OVERRIDES_SOURCE,
    sheet: str | None = None,
    rows: Mapping[str, int] | None = None,
) -> ProjectCatalogue:
    """``catalogue`` with a city's overrides applied, validated as a whole.

    An override of an existing code replaces only the fields it names (``cost`` and ``staff``
    together when the cycle changes); a new code must be a complete project and comes after the
    shipped ones. The merged catalogue is checked like the shipped file, so an override that
    names an unknown prerequisite or closes a prerequisite cycle is refused.

    ``source``, ``sheet`` and ``rows`` (row by code) place the problems, e.g. in a workbook.

    Raises
    ------
    InputError
        ``plancat.invalid`` with every problem (located by ``source``, the project and field).
    """
    p = _Problems(source, sheet)
    where: Mapping[str, int | None] = rows or {}
    projects = dict(catalogue.projects)
    for code, fields in overrides.items():
        if code in catalogue.projects:
            record = {**project_record(catalogue.projects[code]), **fields}
        elif not CODE_PATTERN.match(code):
            p.add("plancat.rule.code_invalid", where.get(code), "code", value=code)
            continue
        else:
            record = dict(fields)
        project = _project(code, record, where.get(code), catalogue, p)
        if project is not None:
            projects[code] = project
    _check_prerequisites(projects, {*catalogue.projects, *overrides}, where, p)
    p.raise_any()
    return ProjectCatalogue(
        projects, catalogue.domains, catalogue.framework, catalogue.applications,
        catalogue.indicators,
    )  # fmt: skip
