"""The app's routes as (method, path) pairs and concrete URLs for them, shared by the CSRF,
injection and header tests (enumerated from ``app.routes``, so a new route is covered)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from tests.web.site import FRAMEWORK, Site

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def api_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(method, route) of every APIRoute, looking into included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield from ((method, route) for method in sorted(route.methods))
        elif (inner := getattr(route, "original_router", None)) is not None:
            yield from api_routes(inner.routes, prefix + route.include_context.prefix)


def routes_of(app: FastAPI) -> list[tuple[str, APIRoute]]:
    return list(api_routes(app.routes))


def concrete(
    path: str,
    site: Site,
    fill: str | None = None,
    project: str = "1",
    values: Mapping[str, str] | None = None,
) -> str:
    """``path`` with its parameters filled: every one with ``fill`` when given, else with
    ``values`` or a value that exists on the site (the city, the framework, the run,
    ``project``) or ``1``."""
    known = {
        "code": site.city,
        "fid": FRAMEWORK,
        "run_id": str(site.run_id),
        "project": project,
        "action": "package_list",
        **(values or {}),
    }
    return PARAM.sub(lambda m: fill if fill is not None else known.get(m.group(1), "1"), path)
