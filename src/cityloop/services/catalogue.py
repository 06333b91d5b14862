"""Catalogue use-cases: list and show entries by the visibility rule, register and edit them
(the owning department's data officer or an administrator), publish, import and export
(Excel, DCAT JSON-LD/Turtle), and upload a table resource's rows.

The web pages, the JSON API and the CLI all call these; every permission check is made here.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from cityloop.accounts import AccessDenied, Action, Principal, Role, authorise
from cityloop.accounts.scope import visible_units
from cityloop.datahub.catalogue import (
    ResourceEntry,
    check_entry,
    sees_every_department,
    visible_to,
)
from cityloop.datahub.catalogue_excel import read_catalogue_workbook, write_catalogue_workbook
from cityloop.datahub.catalogue_form import form_values, parse_form
from cityloop.datahub.catalogue_rows import checked_rows
from cityloop.datahub.dcat import catalogue_graph, read_dcat, write_dcat
from cityloop.datahub.tables import read_table
from cityloop.datahub.units import Units
from cityloop.demo.catalogue import demo_catalogue
from cityloop.errors import CityLoopError, InputError, Location, Problem
from cityloop.frameworks import departments
from cityloop.i18n import t
from cityloop.services.collection import upload_name
from cityloop.store import Database
from cityloop.store.catalogue import ImportCounts, StoredResource

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
CATALOGUE_SUFFIXES = (".xlsx", ".jsonld", ".json", ".ttl")
ROW_SUFFIXES = (".csv", ".xlsx")
DCAT_FORMATS = {".jsonld": "json-ld", ".json": "json-ld", ".ttl": "turtle"}


class ResourceNotFoundError(CityLoopError):
    """No such resource, or one the user may not see (the two are not told apart)."""


@dataclass(frozen=True)
class CatalogueFilter:
    """What a listing is narrowed to; None: everything visible."""

    unit: str | None = None
    department: str | None = None
    sharing_type: str | None = None
    open_type: str | None = None


@dataclass(frozen=True)
class CatalogueView:
    """The entries a user sees under a filter, counts by sharing type, rows per table resource."""

    resources: list[StoredResource]
    by_sharing: dict[str, int]
    rows: dict[int, int]
    departments: list[str]  # the departments of the visible entries (for the filter)


# -- who may do what -----------------------------------------------------------------------------


def may_see(principal: Principal, resource: StoredResource) -> bool:
    """The visibility rule (``datahub.catalogue.visible_to``) for a signed-in user."""
    return visible_to(
        resource.department,
        resource.entry.sharing_type,
        resource.status,
        viewer_department=principal.department,
        sees_all=sees_every_department(principal.role),
    )


def may_manage(principal: Principal, department: str) -> bool:
    """Whether ``principal`` may register, edit or publish ``department``'s entries: an
    administrator always; a data officer only their own department's."""
    if principal.role == Role.ADMINISTRATOR:
        return True
    return principal.role == Role.DATA_OFFICER and principal.department == department


def require_manage(principal: Principal, units: Units, unit: str, department: str) -> None:
    """Refuse (``AccessDenied``: 403) managing ``department``'s entries of ``unit``."""
    authorise(principal, Action.MANAGE_CATALOGUE, unit=unit, units=units)
    if principal.role == Role.DATA_OFFICER and principal.department is None:
        raise AccessDenied(
            "accounts.denied.officer_unassigned", action=Action.MANAGE_CATALOGUE,
            role=principal.role,
        )  # fmt: skip
    if not may_manage(principal, department):
        raise AccessDenied(
            "catalogue.denied.department", action=Action.MANAGE_CATALOGUE, role=principal.role,
            department=department, own=principal.department or "—",
        )  # fmt: skip


# -- reading -------------------------------------------------------------------------------------


def listing(
    db: Database, principal: Principal, units: Units, chosen: CatalogueFilter | None = None
) -> CatalogueView:
    """The entries of the units the user sees that the visibility rule lets them see, by unit
    and code, narrowed by ``chosen``; the counts by sharing type ignore the sharing filter."""
    authorise(principal, Action.VIEW_CATALOGUE)
    chosen = chosen or CatalogueFilter()
    seen = visible_units(units, principal.scope)
    if chosen.unit is not None:
        seen &= {chosen.unit}
    listed = [r for r in db.catalogue.entries(seen) if may_see(principal, r)]
    own_departments = sorted({r.department for r in listed})
    if chosen.department:
        listed = [r for r in listed if r.department == chosen.department]
    if chosen.open_type:
        listed = [r for r in listed if r.entry.open_type == chosen.open_type]
    counts = Counter(r.entry.sharing_type.value for r in listed)
    if chosen.sharing_type:
        listed = [r for r in listed if r.entry.sharing_type == chosen.sharing_type]
    rows = db.catalogue.row_counts([r.id for r in listed])
    return CatalogueView(listed, dict(counts), rows, own_departments)


def find(db: Database, principal: Principal, units: Units, resource_id: int) -> StoredResource:
    """One entry the user may see, or ``ResourceNotFoundError``."""
    authorise(principal, Action.VIEW_CATALOGUE)
    found = db.catalogue.get(resource_id)
    if (
        found is None
        or found.unit not in visible_units(units, principal.scope)
        or not may_see(principal, found)
    ):
        raise ResourceNotFoundError("catalogue.not_found", resource=resource_id)
    return found


# -- writing -------------------------------------------------------------------------------------


def checked(entry: ResourceEntry) -> ResourceEntry:
    """``entry`` if it passes every catalogue rule, else ``InputError`` naming each one."""
    problems = check_entry(entry, departments())
    if problems:
        raise InputError("catalogue.invalid", problems, code=entry.code)
    return entry


def register(
    db: Database, principal: Principal, units: Units, unit: str, entry: ResourceEntry
) -> StoredResource:
    """Register a new entry (a draft) in ``unit`` for the entry's department."""
    require_manage(principal, units, unit, entry.department)
    return db.catalogue.add(unit, checked(entry), actor=principal.username)


def edit(
    db: Database, principal: Principal, units: Units, resource_id: int, entry: ResourceEntry
) -> StoredResource:
    """Replace an entry; a data officer may neither edit another department's entry nor
    hand their own to another department."""
    current = find(db, principal, units, resource_id)
    require_manage(principal, units, current.unit, current.department)
    require_manage(principal, units, current.unit, entry.department)
    return db.catalogue.update(resource_id, checked(entry), actor=principal.username)


def set_published(
    db: Database, principal: Principal, units: Units, resource_id: int, published: bool
) -> StoredResource:
    """Publish an entry (发布) or take it back to draft."""
    current = find(db, principal, units, resource_id)
    require_manage(principal, units, current.unit, current.department)
    if published:
        checked(current.entry)  # rules may have grown stricter since it was stored
        return db.catalogue.publish(resource_id, actor=principal.username)
    return db.catalogue.unpublish(resource_id, actor=principal.username)


def import_catalogue(
    db: Database, principal: Principal, units: Units, unit: str, path: Path, name: str | None = None
) -> ImportCounts:
    """Import an Excel workbook (.xlsx) or a DCAT document (.jsonld/.json, .ttl) into ``unit``,
    all or nothing: entries with a stored code replace it. A data officer may import only
    their own department's entries; any other is a problem of the file."""
    authorise(principal, Action.MANAGE_CATALOGUE, unit=unit, units=units)
    source = name or path.name
    entries = read_catalogue(path, source)
    if principal.role != Role.ADMINISTRATOR:
        own = principal.department or "—"
        problems = [
            Problem("catalogue.import.other_department",
                    {"code": e.code, "department": e.department, "own": own},
                    Location(file=source, column="department"))
            for e in entries if not may_manage(principal, e.department)
        ]  # fmt: skip
        if problems:
            raise InputError("catalogue.import.refused", problems, file=source)
    return db.catalogue.import_entries(unit, entries, actor=principal.username)


def read_catalogue(path: Path, source: str) -> list[ResourceEntry]:
    """The entries of a catalogue file, by its suffix."""
    suffix = Path(source).suffix.lower() or path.suffix.lower()
    if suffix == ".xlsx":
        return read_catalogue_workbook(path, source=source)
    if suffix in DCAT_FORMATS:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("catalogue.import.not_utf8", file=source) from None
        return read_dcat(text, DCAT_FORMATS[suffix], source=source)
    raise InputError("catalogue.import.bad_type", file=source,
                     allowed=", ".join(CATALOGUE_SUFFIXES))  # fmt: skip


def export_catalogue(
    db: Database,
    principal: Principal,
    units: Units,
    suffix: str,
    *,
    unit: str | None = None,
    lang: str = "zh-CN",
    base: str = "urn:cityloop:catalogue:",
) -> bytes:
    """The entries the user sees (of ``unit`` when given) as .xlsx, .jsonld or .ttl bytes."""
    view = listing(db, principal, units, CatalogueFilter(unit=unit))
    entries = [r.entry for r in view.resources]
    if suffix == ".xlsx":
        with tempfile.TemporaryDirectory(prefix="cityloop-catalogue-") as folder:
            path = Path(folder) / "catalogue.xlsx"
            write_catalogue_workbook(path, entries, lang)
            return path.read_bytes()
    if suffix in (".jsonld", ".ttl"):
        graph = catalogue_graph(entries, title_zh=t("catalogue.dcat_title", "zh-CN"),
                                title_en=t("catalogue.dcat_title", "en"), base=base)  # fmt: skip
        return write_dcat(graph, DCAT_FORMATS[suffix]).encode("utf-8")
    raise InputError("catalogue.export.bad_type", suffix=suffix, allowed=".xlsx, .jsonld, .ttl")


def upload_rows(
    db: Database, principal: Principal, units: Units, resource_id: int, path: Path, name: str
) -> int:
    """Replace a table resource's rows with a CSV/XLSX file checked against its fields."""
    current = find(db, principal, units, resource_id)
    require_manage(principal, units, current.unit, current.department)
    if not current.entry.holds_rows:
        raise InputError("catalogue.rows.sensor_resource", entity_type=current.entry.entity_type)
    source = upload_name(name)
    suffix = Path(source).suffix.lower()
    if suffix not in ROW_SUFFIXES:
        raise InputError("catalogue.rows.bad_type", file=source, allowed=", ".join(ROW_SUFFIXES))
    try:
        frame = read_table(path)
    except InputError as refused:
        raise _renamed(refused, str(path), source) from None
    rows = checked_rows(frame, current.entry.fields, source=source)
    return db.catalogue.replace_rows(resource_id, rows, actor=principal.username)


def _renamed(exc: InputError, temporary: str, name: str) -> InputError:
    problems = [
        replace(p, location=replace(p.location, file=name)) if p.location.file == temporary else p
        for p in exc.problems
    ]
    params = {k: (name if v == temporary else v) for k, v in exc.params.items()}
    return type(exc)(exc.key, problems, **params)


# -- the web form --------------------------------------------------------------------------------


def entry_from_form(form: Mapping[str, str]) -> ResourceEntry:
    """An entry from the web form's text fields, checked against every catalogue rule; else
    ``InputError`` with every problem of the form and of the rules, located by field name."""
    entry, problems = parse_form(form)
    if entry is not None:
        problems += check_entry(entry, departments())
    if entry is None or problems:
        raise InputError("catalogue.form.refused", problems)
    return entry


def form_of(entry: ResourceEntry | None) -> dict[str, str]:
    """The form's text fields filled from ``entry`` (empty for a new one)."""
    return {} if entry is None else form_values(entry)


# -- the demo ------------------------------------------------------------------------------------


def load_demo_catalogue(db: Database, unit: str, *, actor: str) -> int:
    """Store the SYNTHETIC demo catalogue (``cityloop.demo.catalogue``) in ``unit``, publish
    most of it and upload its tables' rows; nothing when the unit has a catalogue already.
    Returns the entries stored."""
    if db.catalogue.entries([unit]):
        return 0
    demo = demo_catalogue()
    db.catalogue.import_entries(unit, demo.entries, actor=actor)
    for entry in demo.entries:
        stored = db.catalogue.by_code(unit, entry.code)
        assert stored is not None, "imported just above"
        if entry.code in demo.rows:
            db.catalogue.replace_rows(stored.id, demo.rows[entry.code], actor=actor)
        if entry.code in demo.published:
            db.catalogue.publish(stored.id, actor=actor)
    return len(demo.entries)
