"""Project-catalogue use-cases: a unit's catalogue (shipped projects with its overrides and own
projects), editing and resetting one project, and the Excel round trip.

The web pages, the JSON API and the CLI call these; they check permissions themselves first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from cityloop.errors import CityLoopError, InputError, Location, Problem
from cityloop.frameworks import load_framework, shipped_ids
from cityloop.i18n import normalise_language
from cityloop.planning.project_catalogue import (
    CODE_PATTERN,
    ProjectCatalogue,
    apply_overrides,
    load_catalogue,
    override_of,
)
from cityloop.planning.project_excel import read_catalogue_workbook, write_catalogue_workbook
from cityloop.planning.project_types import CatalogueProject
from cityloop.services.form_text import split_codes, split_numbers
from cityloop.store import Database
from cityloop.store.plan_projects import Overrides
from cityloop.survey.needs_dictionary import load_catalogue as load_applications

Status = Literal["shipped", "overridden", "own"]
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class ProjectNotFoundError(CityLoopError):
    """No project with this code in the unit's catalogue."""


@dataclass(frozen=True)
class UnitCatalogue:
    """A unit's catalogue and, for each code, whether it is shipped, overridden or its own."""

    unit: str
    catalogue: ProjectCatalogue
    status: Mapping[str, Status]

    def project(self, code: str) -> CatalogueProject:
        """The project ``code``; ``ProjectNotFoundError`` when the unit has none by that code."""
        try:
            return self.catalogue.projects[code]
        except KeyError:
            raise ProjectNotFoundError("plancat.not_found", code=code, unit=self.unit) from None

    def listed(self, domain: str | None = None, plan_type: str | None = None) -> list[str]:
        """Codes in catalogue order, narrowed to a domain and a plan type when given."""
        return [
            p.code
            for p in self.catalogue.projects.values()
            if (not domain or p.domain == domain) and (not plan_type or plan_type in p.plan_types)
        ]


def _status(overrides: Overrides) -> dict[str, Status]:
    shipped = load_catalogue().projects
    return {c: "overridden" if c in shipped else "own" for c in overrides}


def unit_catalogue(db: Database, unit: str) -> ProjectCatalogue:
    """The shipped catalogue with ``unit``'s stored overrides and own projects applied."""
    return apply_overrides(load_catalogue(), db.plan_projects.overrides(unit), source=unit)


def shipped_view() -> UnitCatalogue:
    """The shipped catalogue as a view in which every project is ``shipped``."""
    shipped = load_catalogue()
    return UnitCatalogue("", shipped, dict.fromkeys(shipped.projects, "shipped"))


def unit_view(db: Database, unit: str) -> UnitCatalogue:
    """``unit_catalogue`` with each project's status (shipped, overridden, own)."""
    overrides = db.plan_projects.overrides(unit)
    catalogue = apply_overrides(load_catalogue(), overrides, source=unit)
    return UnitCatalogue(unit, catalogue, {**dict.fromkeys(catalogue.projects, "shipped"),
                                           **_status(overrides)})  # fmt: skip


def _check(unit: str) -> Any:
    return lambda wanted: apply_overrides(load_catalogue(), wanted, source=unit)


def set_override(
    db: Database,
    unit: str,
    code: str,
    fields: Mapping[str, Any],
    *,
    actor: str,
    replace: bool = False,
) -> CatalogueProject:
    """Change the unit's version of project ``code`` by ``fields`` (for a new own project:
    ``fields`` is the whole project).

    ``fields`` go on top of the unit's earlier override of ``code``, or (``replace``) on top of
    the shipped project alone. Only what differs from the shipped project is stored; the merged
    catalogue is validated first and nothing is saved on error.
    """
    if not CODE_PATTERN.match(code):
        problem = Problem("plancat.rule.code_invalid", {"value": code}, Location(column="code"))
        raise InputError("plancat.invalid", [problem], file=unit)
    shipped = load_catalogue()
    current = db.plan_projects.overrides(unit)
    earlier = {} if replace else current.get(code, {})
    merged = apply_overrides(shipped, {**current, code: {**earlier, **fields}}, source=unit)
    project = merged.projects[code]
    db.plan_projects.write(unit, {code: override_of(shipped.projects.get(code), project)},
                           actor=actor, check=_check(unit))  # fmt: skip
    return project


def reset_override(db: Database, unit: str, code: str, *, actor: str) -> bool:
    """Remove the unit's override of ``code`` (its own project ``code``); False when it had
    none. Removing an own project that another project needs is refused."""
    if code not in db.plan_projects.overrides(unit):
        return False
    db.plan_projects.write(unit, {code: None}, actor=actor, check=_check(unit))
    return True


def import_workbook(db: Database, unit: str, data: bytes, filename: str, *, actor: str) -> int:
    """Replace the unit's overrides by those of an edited workbook, all or nothing; returns
    how many projects now differ from the shipped catalogue."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("plancat.excel.too_large", file=filename, limit=MAX_UPLOAD_BYTES)
    overrides = read_catalogue_workbook(data, filename, load_catalogue())
    db.plan_projects.write(unit, overrides, actor=actor, replace=True, check=_check(unit))
    return len(overrides)


def export_workbook(db: Database, unit: str | None, lang: str = "zh-CN") -> bytes:
    """The shipped catalogue (``unit`` None) or the unit's, its changes marked, as xlsx."""
    if unit is None:
        return write_catalogue_workbook(load_catalogue(), lang=lang)
    view = unit_view(db, unit)
    return write_catalogue_workbook(
        view.catalogue,
        lang=lang,
        overridden=[c for c, s in view.status.items() if s == "overridden"],
        own=[c for c, s in view.status.items() if s == "own"],
    )


# -- names for display ----------------------------------------------------------------------------


def application_names(lang: str = "zh-CN") -> dict[str, str]:
    """Application (need) code → its name in ``lang``."""
    zh = normalise_language(lang) == "zh-CN"
    return {c: a.name_zh if zh else a.name_en for c, a in load_applications().items()}


@cache
def _indicator_names(framework: str, lang: str) -> dict[str, str]:
    if framework not in shipped_ids():
        return {}
    fw = load_framework(framework)
    return {code: fw.name(code, lang) for code in fw.indicator_codes}


def indicator_names(catalogue: ProjectCatalogue, lang: str = "zh-CN") -> dict[str, str]:
    """Indicator code → name in ``lang`` for the catalogue's default framework (shipped ones)."""
    return _indicator_names(catalogue.framework, normalise_language(lang))


def split_amounts(text: str, field: str) -> list[float]:
    """Yearly amounts from ``800; 600`` (or commas); a clear error when one is not a number."""
    try:
        return list(split_numbers(text))
    except ValueError:
        problem = Problem("plancat.form.amounts", {"value": text}, Location(column=field))
        raise InputError("plancat.form.invalid", [problem]) from None


def form_fields(form: Mapping[str, Sequence[str]], *, own: bool) -> dict[str, Any]:
    """The project fields of the edit form (each key → its submitted values).

    Effects come as parallel lists ``effect_indicator``, ``effect_low``, ``effect_likely``,
    ``effect_high``; a row with an empty indicator is skipped. ``own`` adds the fields only
    an own project's form has (names, domain, descriptions, plan types, applications).
    """

    def one(key: str) -> str:
        values = form.get(key) or [""]
        return values[0].strip()

    def number(key: str) -> float | str:
        try:
            return float(one(key))
        except ValueError:
            return one(key)  # the catalogue's checks name it with the field

    fields: dict[str, Any] = {
        "cost": split_amounts(one("cost"), "cost"),
        "staff": split_amounts(one("staff"), "staff"),
        "prerequisites": list(split_codes(one("prerequisites"))),
        "foundation": number("foundation"),
        "importance": number("importance"),
    }
    rows = zip(*(form.get(f"effect_{k}", []) for k in ("indicator", "low", "likely", "high")),
               strict=False)  # fmt: skip
    effects = []
    for indicator, *bounds in rows:
        if indicator.strip():
            try:
                low, likely, high = (float(b) for b in bounds)
            except ValueError:
                low = likely = high = -1.0  # refused with the indicator named
            effects.append({"indicator": indicator.strip(), "low": low, "likely": likely,
                            "high": high})  # fmt: skip
    fields["effects"] = effects
    if own:
        fields |= {
            "name": {"zh": one("name_zh"), "en": one("name_en")},
            "description": {"zh": one("description_zh"), "en": one("description_en")},
            "domain": one("domain"),
            "plan_types": list(form.get("plan_types", [])),
            "applications": list(form.get("applications", [])),
        }
    return fields
