"""Framework pages and API: the list of shipped frameworks and one framework's tree and weights.

Both pages read through ``cityloop.services.frameworks``; the JSON API returns the same data.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from cityloop.errors import FrameworkError
from cityloop.frameworks import Framework, load_framework, shipped_ids
from cityloop.i18n import pick
from cityloop.services import frameworks as service
from cityloop.web.guard import Viewer
from cityloop.web.templating import render

router = APIRouter()


def shipped(fid: str) -> Framework:
    """A shipped framework by id; anything else (a path, an unknown id) is 404."""
    if fid not in shipped_ids():
        raise HTTPException(status_code=404, detail="framework not found")
    try:
        return load_framework(fid)
    except FrameworkError as exc:  # a broken shipped file is a server fault, said plainly
        raise HTTPException(status_code=500, detail=exc.render()) from None


@router.get("/frameworks", response_class=HTMLResponse, include_in_schema=False)
def frameworks_page(request: Request, principal: Viewer) -> HTMLResponse:
    return render(request, "frameworks.html", {"frameworks": service.list_frameworks()})


@router.get("/frameworks/{fid}", response_class=HTMLResponse, include_in_schema=False)
def framework_page(request: Request, principal: Viewer, fid: str) -> HTMLResponse:
    fw = shipped(fid)
    notes = pick(fw.spec.notes.as_dict()) if fw.spec.notes else ""
    return render(
        request,
        "framework.html",
        {
            "info": service.describe(fw),
            "notes": notes,
            "nodes": fw.nodes_table(),
            "chart": service.weight_tree(fw),
        },
    )


@router.get("/api/frameworks", tags=["frameworks"])
def frameworks_api(principal: Viewer) -> list[dict[str, Any]]:
    return [asdict(info) for info in service.list_frameworks()]


@router.get("/api/frameworks/{fid}", tags=["frameworks"])
def framework_api(principal: Viewer, fid: str) -> dict[str, Any]:
    fw = shipped(fid)
    return {**asdict(service.describe(fw)), "nodes": fw.nodes_table()}
