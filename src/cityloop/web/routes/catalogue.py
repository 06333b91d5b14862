"""Resource catalogue pages (政务信息资源目录) and its JSON API: the list with filters and counts,
an entry's page, the register/edit form, publishing, import/export and table rows upload.

Thin: every rule and permission check is in ``cityloop.services.catalogue``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from cityloop.accounts import Action, Principal, Role, can
from cityloop.accounts.scope import visible_units
from cityloop.datahub.catalogue import (
    FIELD_TYPES,
    SHARING_METHODS,
    OpenType,
    ResourceClass,
    SharingType,
    UpdateFrequency,
)
from cityloop.errors import InputError, Problem
from cityloop.frameworks import departments
from cityloop.i18n import current_language, pick, t
from cityloop.services import catalogue as service
from cityloop.services.collection import upload_name
from cityloop.store import Database
from cityloop.store.catalogue import StoredResource
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.templating import render

router = APIRouter()
Reader = Annotated[Principal, allowed(Action.VIEW_CATALOGUE)]
Manager = Annotated[Principal, allowed(Action.MANAGE_CATALOGUE)]
FLASH = "catalogue_flash"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_ROWS = 20
CHOICES = {
    "classification": ("class", [c.value for c in ResourceClass]),
    "update_frequency": ("frequency", [c.value for c in UpdateFrequency]),
    "sharing_type": ("sharing", [c.value for c in SharingType]),
    "open_type": ("open", [c.value for c in OpenType]),
    "sharing_method": ("method", ["", *SHARING_METHODS]),
}


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def unit_names(request: Request) -> dict[str, str]:
    table = units_of(request).table
    english = current_language() == "en"
    return {
        str(code): (str(row["name_en"]) if english and str(row.get("name_en") or "") else
                    str(row["name_zh"]))
        for code, row in table.iterrows()
    }  # fmt: skip


def department_names() -> dict[str, str]:
    return {code: pick(names) for code, names in departments().items()}


def found(request: Request, principal: Principal, resource_id: int) -> StoredResource:
    """The entry, if the user may see it; 404 otherwise (a hidden entry is not admitted to)."""
    try:
        return service.find(db_of(request), principal, units_of(request), resource_id)
    except service.ResourceNotFoundError as missing:
        raise HTTPException(status_code=404, detail=missing.render()) from None


# -- the list ------------------------------------------------------------------------------------


def list_page(
    request: Request, principal: Principal, chosen: service.CatalogueFilter, status: int = 200,
    **extra: Any,
) -> HTMLResponse:  # fmt: skip
    view = service.listing(db_of(request), principal, units_of(request), chosen)
    context = {
        "view": view,
        "chosen": chosen,
        "units": unit_names(request),
        "departments": department_names(),
        "manager": can(principal.role, Action.MANAGE_CATALOGUE),
        "cities": manageable_units(request, principal),
        "sharing_types": [s.value for s in SharingType],
        "open_types": [o.value for o in OpenType],
        "chart": {"labels": [t(f"catalogue.sharing.{s.value}") for s in SharingType],
                  "values": [view.by_sharing.get(s.value, 0) for s in SharingType]},
        "flash": request.session.pop(FLASH, None),
        "errors": [],
        **extra,
    }  # fmt: skip
    return render(request, "catalogue.html", context, status)


def manageable_units(request: Request, principal: Principal) -> list[str]:
    """The cities (and districts) a manager may register entries in, by code."""
    units = units_of(request)
    seen = visible_units(units, principal.scope)
    levels = units.table["level"]
    return sorted(str(c) for c in units.table.index[levels != "province"] if c in seen)


@router.get("/catalogue", response_class=HTMLResponse, include_in_schema=False)
def catalogue_list(
    request: Request,
    principal: Reader,
    unit: str | None = None,
    department: str | None = None,
    sharing: str | None = None,
    open_type: Annotated[str | None, Query(alias="open")] = None,
) -> HTMLResponse:
    chosen = service.CatalogueFilter(
        unit or None, department or None, sharing or None, open_type or None
    )
    return list_page(request, principal, chosen)


@router.get("/catalogue/export.xlsx", include_in_schema=False)
def export_xlsx(request: Request, principal: Reader, unit: str | None = None) -> Response:
    return _export(request, principal, unit, ".xlsx", XLSX)


@router.get("/catalogue/catalog.jsonld", include_in_schema=False)
def export_jsonld(request: Request, principal: Reader, unit: str | None = None) -> Response:
    return _export(request, principal, unit, ".jsonld", "application/ld+json")


def _export(
    request: Request, principal: Principal, unit: str | None, suffix: str, media: str
) -> Response:
    if unit:
        authorise_unit(request, principal, Action.VIEW_CATALOGUE, unit)
    base = f"{str(request.base_url).rstrip('/')}/catalogue/"
    content = service.export_catalogue(
        db_of(request), principal, units_of(request), suffix,
        unit=unit or None, lang=current_language(), base=base,
    )  # fmt: skip
    name = f"catalogue{'-' + unit if unit else ''}{suffix}"
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})


@router.post("/catalogue/import", include_in_schema=False)
def import_file(
    request: Request,
    principal: Manager,
    unit: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    authorise_unit(request, principal, Action.MANAGE_CATALOGUE, unit)

    def store(path: Path, name: str) -> dict[str, Any]:
        counts = service.import_catalogue(db_of(request), principal, units_of(request), unit,
                                          path, name)  # fmt: skip
        return {"how": "imported", "added": counts.added, "updated": counts.updated, "file": name}

    refused = _with_upload(request, file, store)
    if refused is not None:
        return list_page(request, principal, service.CatalogueFilter(), 422, errors=refused)
    return RedirectResponse("/catalogue", status_code=303)


# -- the form ------------------------------------------------------------------------------------


def form_page(
    request: Request, principal: Principal, values: dict[str, str], *, resource_id: int | None,
    problems: list[Problem] | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    by_field: dict[str, list[str]] = {}
    for p in problems or []:
        by_field.setdefault(p.location.column or "", []).append(
            (f"{t('catalogue.form.line', line=p.location.row)}: " if p.location.row else "")
            + t(p.key, **p.params)
        )
    own = principal.department if principal.role == Role.DATA_OFFICER else None
    names = department_names()
    context = {
        "values": values,
        "resource_id": resource_id,
        "errors": by_field,
        "cities": manageable_units(request, principal),
        "units": unit_names(request),
        "departments": {own: names.get(own, own)} if own else names,
        "choices": CHOICES,
        "field_types": FIELD_TYPES,
    }
    return render(request, "catalogue_form.html", context, status)


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


@router.get("/catalogue/new", response_class=HTMLResponse, include_in_schema=False)
def new_form(request: Request, principal: Manager) -> HTMLResponse:
    values = {"department": principal.department or "", "classification": "department",
              "update_frequency": "monthly", "sharing_type": "unconditional",
              "open_type": "closed", "sharing_method": "api", "format": "CSV"}  # fmt: skip
    return form_page(request, principal, values, resource_id=None)


@router.post("/catalogue", include_in_schema=False)
async def create(request: Request, principal: Manager) -> Response:
    values = await _form_values(request)
    check_csrf(request, values.get("csrf_token", ""))
    unit = values.get("unit", "")
    authorise_unit(request, principal, Action.MANAGE_CATALOGUE, unit)
    try:
        entry = service.entry_from_form(values)
        row = service.register(db_of(request), principal, units_of(request), unit, entry)
    except InputError as refused:
        problems = refused.problems or [Problem(refused.key, refused.params)]
        return form_page(request, principal, values, resource_id=None, problems=problems,
                         status=422)  # fmt: skip
    request.session[FLASH] = {"how": "created", "code": row.code}
    return RedirectResponse(f"/catalogue/{row.id}", status_code=303)


# -- one entry -----------------------------------------------------------------------------------


def detail_page(
    request: Request, principal: Principal, row: StoredResource, status: int = 200, **extra: Any
) -> HTMLResponse:
    db = db_of(request)
    count = db.catalogue.row_counts([row.id]).get(row.id, 0)
    preview = db.catalogue.rows_frame(row.id).head(PREVIEW_ROWS) if count else None
    context = {
        "row": row,
        "entry": row.entry,
        "rows": count,
        "preview": [] if preview is None else preview.to_dict("records"),
        "unit_name": unit_names(request).get(row.unit, row.unit),
        "departments": department_names(),
        "manager": service.may_manage(principal, row.department)
        and can(principal.role, Action.MANAGE_CATALOGUE),
        "flash": request.session.pop(FLASH, None),
        "upload_errors": [],
        **extra,
    }
    return render(request, "catalogue_detail.html", context, status)


@router.get("/catalogue/{resource_id}", response_class=HTMLResponse, include_in_schema=False)
def detail(request: Request, principal: Reader, resource_id: int) -> HTMLResponse:
    row = found(request, principal, resource_id)
    authorise_unit(request, principal, Action.VIEW_CATALOGUE, row.unit)
    return detail_page(request, principal, row)


@router.get("/catalogue/{resource_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_form(request: Request, principal: Manager, resource_id: int) -> HTMLResponse:
    row = found(request, principal, resource_id)
    service.require_manage(principal, units_of(request), row.unit, row.department)
    values = {**service.form_of(row.entry), "unit": row.unit}
    return form_page(request, principal, values, resource_id=resource_id)


@router.post("/catalogue/{resource_id}", include_in_schema=False)
async def update(request: Request, principal: Manager, resource_id: int) -> Response:
    values = await _form_values(request)
    check_csrf(request, values.get("csrf_token", ""))
    row = found(request, principal, resource_id)
    authorise_unit(request, principal, Action.MANAGE_CATALOGUE, row.unit)
    service.require_manage(principal, units_of(request), row.unit, row.department)
    values["unit"] = row.unit
    try:
        entry = service.entry_from_form(values)
        service.edit(db_of(request), principal, units_of(request), resource_id, entry)
    except InputError as refused:
        problems = refused.problems or [Problem(refused.key, refused.params)]
        return form_page(request, principal, values, resource_id=resource_id,
                         problems=problems, status=422)  # fmt: skip
    request.session[FLASH] = {"how": "updated", "code": entry.code}
    return RedirectResponse(f"/catalogue/{resource_id}", status_code=303)


@router.post("/catalogue/{resource_id}/publish", include_in_schema=False)
def publish(
    request: Request, principal: Manager, resource_id: int, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    return _set_published(request, principal, resource_id, csrf_token, published=True)


@router.post("/catalogue/{resource_id}/unpublish", include_in_schema=False)
def unpublish(
    request: Request, principal: Manager, resource_id: int, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    return _set_published(request, principal, resource_id, csrf_token, published=False)


def _set_published(
    request: Request, principal: Principal, resource_id: int, token: str, *, published: bool
) -> Response:
    check_csrf(request, token)
    row = found(request, principal, resource_id)
    authorise_unit(request, principal, Action.MANAGE_CATALOGUE, row.unit)
    service.set_published(db_of(request), principal, units_of(request), resource_id, published)
    request.session[FLASH] = {"how": "published" if published else "unpublished",
                              "code": row.code}  # fmt: skip
    return RedirectResponse(f"/catalogue/{resource_id}", status_code=303)


@router.post("/catalogue/{resource_id}/rows", include_in_schema=False)
def upload_rows(
    request: Request,
    principal: Manager,
    resource_id: int,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    row = found(request, principal, resource_id)
    authorise_unit(request, principal, Action.MANAGE_CATALOGUE, row.unit)

    def store(path: Path, name: str) -> dict[str, Any]:
        count = service.upload_rows(db_of(request), principal, units_of(request), resource_id,
                                    path, name)  # fmt: skip
        return {"how": "rows", "count": count, "file": name, "code": row.code}

    refused = _with_upload(request, file, store)
    if refused is not None:
        return detail_page(request, principal, row, 422, upload_errors=refused)
    return RedirectResponse(f"/catalogue/{resource_id}", status_code=303)


def _with_upload(
    request: Request, file: UploadFile, store: Callable[[Path, str], dict[str, Any]]
) -> list[str] | None:
    """Save the upload in a private folder under its own (cleaned) name and hand it to
    ``store``; the flash on success, or the refusal's lines (first: the summary)."""
    name = upload_name(file.filename)
    data = file.file.read(service.MAX_UPLOAD_BYTES + 1)
    with tempfile.TemporaryDirectory(prefix="cityloop-catalogue-") as folder:
        try:
            if len(data) > service.MAX_UPLOAD_BYTES:
                raise InputError("catalogue.upload.too_large", file=name,
                                 limit=service.MAX_UPLOAD_BYTES >> 20)  # fmt: skip
            path = Path(folder) / f"upload{Path(name).suffix.lower()}"
            path.write_bytes(data)
            request.session[FLASH] = store(path, name)
        except InputError as refused:
            lines = [refused.render().partition("\n")[0],
                     *(p.render() for p in refused.problems[: InputError.max_shown])]  # fmt: skip
            return [line.replace(f"{folder}/", "") for line in lines]
    return None


# -- the JSON API --------------------------------------------------------------------------------


class FieldOut(BaseModel):
    name: str
    label_zh: str
    label_en: str
    type: str


class ResourceOut(BaseModel):
    id: int
    unit: str
    code: str
    department: str
    name_zh: str
    name_en: str
    description: str
    classification: str
    update_frequency: str
    format: str
    sharing_type: str
    sharing_condition: str
    sharing_method: str
    not_shared_reason: str
    open_type: str
    open_condition: str
    licence: str
    keywords: list[str]
    entity_type: str | None
    api_url: str
    status: str
    fields: list[FieldOut]
    rows: int


class CatalogueOut(BaseModel):
    resources: list[ResourceOut]
    by_sharing: dict[str, int]


def resource_out(row: StoredResource, rows: int) -> ResourceOut:
    e = row.entry
    return ResourceOut(
        id=row.id, unit=row.unit, code=e.code, department=e.department, name_zh=e.name_zh,
        name_en=e.name_en, description=e.description, classification=e.classification.value,
        update_frequency=e.update_frequency.value, format=e.format,
        sharing_type=e.sharing_type.value, sharing_condition=e.sharing_condition,
        sharing_method=e.sharing_method, not_shared_reason=e.not_shared_reason,
        open_type=e.open_type.value, open_condition=e.open_condition, licence=e.licence,
        keywords=list(e.keywords), entity_type=e.entity_type, api_url=e.api_url,
        status=row.status.value, rows=rows,
        fields=[FieldOut(name=f.name, label_zh=f.label_zh, label_en=f.label_en, type=f.type)
                for f in e.fields],
    )  # fmt: skip


@router.get("/api/catalogue", response_model=CatalogueOut, tags=["catalogue"])
def api_catalogue(
    request: Request,
    principal: Reader,
    unit: str | None = None,
    department: str | None = None,
    sharing_type: str | None = None,
    open_type: str | None = None,
) -> CatalogueOut:
    """The catalogue entries the user may see (a not-shareable or draft entry: its own
    department, administrators and evaluators only), with counts by sharing type."""
    if unit:
        authorise_unit(request, principal, Action.VIEW_CATALOGUE, unit)
    chosen = service.CatalogueFilter(unit, department, sharing_type, open_type)
    view = service.listing(db_of(request), principal, units_of(request), chosen)
    return CatalogueOut(
        resources=[resource_out(r, view.rows.get(r.id, 0)) for r in view.resources],
        by_sharing=view.by_sharing,
    )


@router.get("/api/catalogue/{resource_id}", response_model=ResourceOut, tags=["catalogue"])
def api_resource(request: Request, principal: Reader, resource_id: int) -> ResourceOut:
    """One catalogue entry with its information items and the number of stored rows."""
    row = found(request, principal, resource_id)
    authorise_unit(request, principal, Action.VIEW_CATALOGUE, row.unit)
    return resource_out(row, db_of(request).catalogue.row_counts([row.id]).get(row.id, 0))
