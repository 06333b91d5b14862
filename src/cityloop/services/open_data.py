"""The open-data catalogue as CKAN describes it: packages (one per open resource of every
unit), the CKAN actions ``package_list``, ``package_search``, ``package_show``,
``resource_show``, ``datastore_search`` and ``status_show`` as plain functions.

One catalogue for all units: a package's ``organization`` is its department, its ``groups``
hold its unit (``fq=groups:<unit code>`` narrows a search to one city). Only published, open
(开放), shareable resources are listed; a conditional resource's data is read with its key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from cityloop._version import __version__
from cityloop.datahub.catalogue import publicly_listed, visible_to
from cityloop.datahub.ckan_search import FACET_FIELDS, parse_search, search_packages
from cityloop.services.data_access import AccessRefusedError, Caller, read_resource_data
from cityloop.store import Database
from cityloop.store.access_log import AccessRecord

API = "/api/3/action"
CKAN_API_LEVEL = "2.10.0"  # the CKAN release whose Action API subset we answer like
NAME_CHARS = re.compile(r"[^a-z0-9_-]+")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=None).isoformat()


def package_name(unit: str, code: str) -> str:
    """A CKAN package name: lower-case ``unit-code`` with anything else as ``-``."""
    return NAME_CHARS.sub("-", f"{unit}-{code}".lower()).strip("-")


def _listed(entry: Mapping[str, Any]) -> bool:
    """The public open-data list: published, open or conditionally open (有条件开放, listed with
    its condition; its data need a key), and never a resource not shared with government."""
    return publicly_listed(entry["open_type"], entry["status"]) and visible_to(
        entry["department_code"], entry["sharing_type"], entry["status"],
        viewer_department=None, sees_all=False,
    )  # fmt: skip


def resource_dict(entry: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """The CKAN resource of a catalogue entry: its data, served by ``datastore_search``."""
    rid = str(entry["id"])
    return {
        "id": rid,
        "package_id": rid,
        "name": entry["name_zh"],
        "description": entry["description"],
        "format": entry["format"],
        "url": f"{base_url}{API}/datastore_search?{urlencode({'resource_id': rid})}",
        "datastore_active": True,
        "url_type": "datastore",
        "position": 0,
        "state": "active",
        "created": _iso(entry["created_at"]),
        "last_modified": _iso(entry["data_updated_at"] or entry["updated_at"]),
    }


def package_dict(entry: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """The CKAN package (dataset) of a catalogue entry."""
    extras = {
        "unit": entry["unit_code"], "unit_name": entry["unit_zh"],
        "resource_code": entry["code"], "title_en": entry["name_en"],
        "classification": str(entry["classification"]),
        "update_frequency": str(entry["update_frequency"]),
        "sharing_type": str(entry["sharing_type"]), "open_type": str(entry["open_type"]),
        "open_condition": entry["open_condition"],
        "entity_type": entry["entity_type"] or "",
    }  # fmt: skip
    department = entry["department_code"]
    return {
        "id": str(entry["id"]),
        "name": package_name(entry["unit_code"], entry["code"]),
        "title": entry["name_zh"],
        "notes": entry["description"],
        "type": "dataset",
        "state": "active",
        "private": False,
        "license_id": entry["licence"],
        "license_title": entry["licence"],
        "metadata_created": _iso(entry["created_at"]),
        "metadata_modified": _iso(entry["updated_at"]),
        "owner_org": department,
        "organization": {
            "id": department,
            "name": department,
            "title": entry["department_zh"],
            "description": entry["department_en"],
            "type": "organization",
            "is_organization": True,
            "state": "active",
        },
        "groups": [
            {
                "id": entry["unit_code"],
                "name": entry["unit_code"],
                "title": entry["unit_zh"],
                "display_name": entry["unit_zh"],
                "description": entry["unit_en"],
            }
        ],
        "tags": [{"name": k, "display_name": k, "state": "active"} for k in entry["keywords"]],
        "num_tags": len(entry["keywords"]),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "resources": [resource_dict(entry, base_url)],
        "num_resources": 1,
    }


def open_packages(db: Database, base_url: str) -> list[dict[str, Any]]:
    """Every listed package, by id."""
    return [package_dict(e, base_url) for e in db.sharing.published_resources() if _listed(e)]


def _search_table(packages: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per package with the columns ``search_packages`` reads."""
    extras = [{x["key"]: x["value"] for x in p["extras"]} for p in packages]
    table = pd.DataFrame(
        {
            "id": [p["id"] for p in packages],
            "name": [p["name"] for p in packages],
            "title": [p["title"] for p in packages],
            "metadata_created": [p["metadata_created"] for p in packages],
            "metadata_modified": [p["metadata_modified"] for p in packages],
            "organization": [p["owner_org"] for p in packages],
            "groups": [[g["name"] for g in p["groups"]] for p in packages],
            "tags": [[t["name"] for t in p["tags"]] for p in packages],
            "res_format": [[r["format"] for r in p["resources"]] for p in packages],
            "license_id": [p["license_id"] for p in packages],
            "update_frequency": [x["update_frequency"] for x in extras],
            "classification": [x["classification"] for x in extras],
            "sharing_type": [x["sharing_type"] for x in extras],
        },
        columns=list(
            dict.fromkeys(
                ["id", "name", "title", "metadata_created", "metadata_modified", *FACET_FIELDS]
            )
        ),
    )
    words = [
        " ".join(
            [
                p["title"],
                x["title_en"],
                p["notes"],
                p["name"],
                x["resource_code"],
                *(t["name"] for t in p["tags"]),
            ]
        )
        for p, x in zip(packages, extras, strict=True)
    ]
    table["text"] = pd.Series(words, dtype=object).str.lower()
    return table


def package_list(db: Database, params: Mapping[str, Any]) -> list[str]:
    """Names of the listed packages, sorted; ``limit`` and ``offset`` page them."""
    names = sorted(p["name"] for p in open_packages(db, ""))
    offset = int(params.get("offset") or 0)
    limit = params.get("limit")
    return names[offset : None if limit in (None, "") else offset + int(limit)]


def package_search(db: Database, params: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """``package_search``: count, results, facets and search_facets (see ``ckan_search``)."""
    search = parse_search(params)
    packages = open_packages(db, base_url)
    by_id = {p["id"]: p for p in packages}
    page, count, facets = search_packages(_search_table(packages), search)
    return {
        "count": count,
        "sort": str(params.get("sort") or "score desc, metadata_modified desc"),
        "results": [by_id[i] for i in page["id"]],
        "facets": {name: {str(k): int(v) for k, v in c.items()} for name, c in facets.items()},
        "search_facets": {
            name: {
                "title": name,
                "items": [
                    {"name": str(k), "display_name": str(k), "count": int(v)} for k, v in c.items()
                ],
            }
            for name, c in facets.items()
        },
    }


def _find(db: Database, ident: Any, base_url: str) -> dict[str, Any] | None:
    """A listed package by id, name or resource code (a code two units share is ambiguous)."""
    wanted = str(ident or "").strip()
    packages = open_packages(db, base_url)
    exact = [p for p in packages if wanted in (p["id"], p["name"])]
    by_code = [
        p for p in packages if any(x["key"] == "resource_code" and x["value"] == wanted
                                   for x in p["extras"])
    ]  # fmt: skip
    found = exact or by_code
    return found[0] if len(found) == 1 else None


def package_show(db: Database, caller: Caller, ident: Any, base_url: str) -> dict[str, Any]:
    """``package_show``: one listed package, or 404 (logged, as every resource access is)."""
    package = _find(db, ident, base_url)
    rid = None if package is None else int(package["id"])
    db.sharing.log(
        AccessRecord(
            "package_show",
            404 if package is None else 200,
            resource_id=rid,
            actor=caller.principal.username if caller.principal else "",
            client=caller.client,
        )
    )
    if package is None:
        raise AccessRefusedError("ckan.not_found.package", 404, package=str(ident))
    return package


def resource_show(db: Database, caller: Caller, ident: Any, base_url: str) -> dict[str, Any]:
    """``resource_show``: the resource of a listed package, by its id."""
    package = _find(db, ident, base_url)
    if package is None or package["id"] != str(ident).strip():
        db.sharing.log(AccessRecord("resource_show", 404, client=caller.client))
        raise AccessRefusedError("ckan.not_found.resource", 404, resource=str(ident))
    db.sharing.log(AccessRecord("resource_show", 200, resource_id=int(package["id"]),
                                client=caller.client))  # fmt: skip
    resource: dict[str, Any] = package["resources"][0]
    return resource


def datastore_search(
    db: Database, caller: Caller, params: Mapping[str, Any], base_url: str
) -> dict[str, Any]:
    """``datastore_search``: one page of a resource's rows with its fields, total and links."""
    page = read_resource_data(db, caller, params.get("resource_id"), params)
    query = page.query
    link = {"resource_id": str(page.resource.id), "limit": query.limit}
    start = f"{API}/datastore_search?{urlencode({**link, 'offset': query.offset})}"
    after = f"{API}/datastore_search?{urlencode({**link, 'offset': query.offset + query.limit})}"
    return {
        "resource_id": str(page.resource.id),
        "fields": [{"id": name, "type": kind} for name, kind in page.fields],
        "records": page.records,
        "total": page.total,
        "total_was_estimated": False,
        "limit": query.limit,
        "offset": query.offset,
        "filters": query.filters,
        "q": query.q or "",
        "sort": ", ".join(f"{n} {'desc' if d else 'asc'}" for n, d in query.sort),
        "_links": {"start": start, "next": after},
    }


def status_show(base_url: str) -> dict[str, Any]:
    """``status_show``: what this server is and which CKAN API level it answers."""
    return {
        "site_title": "CityLoop",
        "site_url": base_url,
        "site_description": "新型智慧城市开放数据 / smart city open data",
        "ckan_version": CKAN_API_LEVEL,
        "cityloop_version": __version__,
        "api_version": 3,
        "extensions": ["datastore"],
        "locale_default": "zh_Hans_CN",
    }
