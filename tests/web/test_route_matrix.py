"""Every route × every role (and nobody signed in): allowed or forbidden as the table says.

``ROUTES`` names, for each route of the app, the action it needs (None: public). A route added
to the app without a row here fails ``test_every_route_is_in_the_matrix``; a route that lets in
a role the permission table does not grant fails the matrix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from cityloop.accounts import PERMISSIONS, Action, Role
from tests.web.site import Site, csrf_of

ROLE_USERS = {
    Role.ADMINISTRATOR: "admin",
    Role.EVALUATOR: "analyst",
    Role.DATA_OFFICER: "officer",
    Role.PROJECT_MANAGER: "manager",
    Role.VIEWER: "viewer",
}


@dataclass(frozen=True)
class RouteRule:
    """A route, the action it needs, and whether it is about one unit ({code} in the path)."""

    method: str
    path: str
    action: Action | None
    unit_bound: bool = False
    query: str = ""  # what a permitted request needs besides the path, with {run_id}


V, VV, EV, UV = Action.VIEW_DASHBOARD, Action.VIEW_VALUES, Action.ENTER_VALUES, Action.UPLOAD_VALUES
RE, VR, EX = Action.RUN_EVALUATION, Action.VIEW_RUNS, Action.EXPORT_RESULTS
VS, MS = Action.VIEW_SURVEYS, Action.MANAGE_SURVEYS
ROUTES = [
    RouteRule("GET", "/healthz", None),
    RouteRule("GET", "/login", None),
    RouteRule("POST", "/login", None),
    RouteRule("POST", "/logout", None),
    RouteRule("GET", "/api/me", None),
    RouteRule("GET", "/", V),
    RouteRule("GET", "/frameworks", V),
    RouteRule("GET", "/frameworks/{fid}", V),
    RouteRule("GET", "/api/frameworks", V),
    RouteRule("GET", "/api/frameworks/{fid}", V),
    # dashboards
    RouteRule("GET", "/cities/{code}", V, unit_bound=True),
    RouteRule("GET", "/api/cities/{code}/overview", V, unit_bound=True),
    RouteRule("GET", "/ranking", V),
    RouteRule("GET", "/api/ranking", V),
    # evaluation reports (HTML: the cheapest format; {code} is a city, so the province report
    # answers 422 "not a province" to a permitted role, 403 outside the user's regions)
    RouteRule("GET", "/reports/city/{code}", V, unit_bound=True, query="format=html"),
    RouteRule("GET", "/reports/province/{code}", V, unit_bound=True, query="format=html"),
    # evaluation runs
    RouteRule("GET", "/runs", VR),
    RouteRule("POST", "/runs", RE),
    RouteRule("GET", "/runs/ahp", RE, query="framework=gbt33356-2016"),
    RouteRule("POST", "/runs/ahp", RE),
    RouteRule("GET", "/runs/compare", VR, query="a={run_id}&b={run_id}"),
    RouteRule("GET", "/runs/{run_id}", VR),
    RouteRule("GET", "/runs/{run_id}/results.xlsx", EX),
    RouteRule("GET", "/api/runs", VR),
    RouteRule("POST", "/api/runs", RE),
    RouteRule("POST", "/api/ahp/consistency", RE),
    RouteRule("GET", "/api/runs/compare", VR, query="a={run_id}&b={run_id}"),
    RouteRule("GET", "/api/runs/{run_id}", VR),
    # robust rankings: what-if re-weighting, uncertainty and sensitivity
    RouteRule("GET", "/runs/{run_id}/whatif", VR),
    RouteRule("POST", "/runs/{run_id}/whatif", VR),
    RouteRule("POST", "/api/runs/{run_id}/whatif", VR),
    RouteRule("GET", "/runs/{run_id}/robustness", VR),
    RouteRule("POST", "/runs/{run_id}/robustness", RE),
    RouteRule("POST", "/api/runs/{run_id}/uncertainty", RE),
    # data collection
    # surveys: the public page, the office's pages and the designer
    RouteRule("GET", "/s/{slug}", None),
    RouteRule("POST", "/s/{slug}", None),
    RouteRule("GET", "/surveys", VS),
    RouteRule("POST", "/surveys", MS),
    RouteRule("GET", "/surveys/{survey_id}", VS),
    RouteRule("GET", "/surveys/{survey_id}/live", VS),
    RouteRule("POST", "/surveys/{survey_id}/close", MS),
    RouteRule("POST", "/surveys/{survey_id}/import", MS),
    RouteRule("POST", "/surveys/{survey_id}/margins", MS),
    RouteRule("POST", "/surveys/{survey_id}/publish", MS),
    RouteRule("GET", "/surveys/{survey_id}/export.xlsx", VS),
    RouteRule("GET", "/questionnaires", MS),
    RouteRule("GET", "/questionnaires/{questionnaire_id}/edit", MS),
    RouteRule("POST", "/questionnaires/validate", MS),
    RouteRule("POST", "/questionnaires", MS),
    RouteRule("GET", "/api/surveys", VS),
    RouteRule("POST", "/api/surveys", MS),
    RouteRule("GET", "/api/surveys/{survey_id}/results", VS),
    RouteRule("POST", "/api/surveys/{survey_id}/close", MS),
    RouteRule("POST", "/api/questionnaires/validate", MS),
    RouteRule("GET", "/collect", VV),
    RouteRule("GET", "/collect/missing", VV),
    RouteRule("GET", "/collect/template.xlsx", UV),
    RouteRule("POST", "/collect/values", EV),
    RouteRule("POST", "/collect/upload", UV),
    RouteRule("POST", "/collect/remind", Action.CHASE_DATA),
    RouteRule("GET", "/api/collection/rounds", VV),
    RouteRule("POST", "/api/collection/rounds", Action.MANAGE_FRAMEWORKS),
    RouteRule("GET", "/api/collection/status", VV),
    RouteRule("GET", "/api/collection/owed", VV),
    RouteRule("POST", "/api/collection/values", EV),
    RouteRule("POST", "/api/collection/upload", UV),
    RouteRule("POST", "/api/collection/reminders", Action.CHASE_DATA),
    # data hub: derived indicators ({indicator} stays literal: 422 for a permitted role)
    RouteRule("GET", "/derived", VV),
    RouteRule("POST", "/derived/{fid}/compute", Action.DERIVE_INDICATORS),
    RouteRule("GET", "/derived/{fid}/{code}/{indicator}", VV, unit_bound=True, query="year=2025"),
    RouteRule("GET", "/api/derived/{fid}", VV),
    RouteRule("POST", "/api/derived/{fid}/compute", Action.DERIVE_INDICATORS),
    RouteRule(
        "GET", "/api/derived/{fid}/{code}/{indicator}", VV, unit_bound=True, query="year=2025"
    ),
    # data hub: the resource catalogue ({resource_id} stays literal: 422 for a permitted role)
    RouteRule("GET", "/catalogue", Action.VIEW_CATALOGUE),
    RouteRule("GET", "/catalogue/export.xlsx", Action.VIEW_CATALOGUE),
    RouteRule("GET", "/catalogue/catalog.jsonld", Action.VIEW_CATALOGUE),
    RouteRule("POST", "/catalogue/import", Action.MANAGE_CATALOGUE),
    RouteRule("GET", "/catalogue/new", Action.MANAGE_CATALOGUE),
    RouteRule("POST", "/catalogue", Action.MANAGE_CATALOGUE),
    RouteRule("GET", "/catalogue/{resource_id}", Action.VIEW_CATALOGUE),
    RouteRule("GET", "/catalogue/{resource_id}/edit", Action.MANAGE_CATALOGUE),
    RouteRule("POST", "/catalogue/{resource_id}", Action.MANAGE_CATALOGUE),
    RouteRule("POST", "/catalogue/{resource_id}/publish", Action.MANAGE_CATALOGUE),
    RouteRule("POST", "/catalogue/{resource_id}/unpublish", Action.MANAGE_CATALOGUE),
    RouteRule("POST", "/catalogue/{resource_id}/rows", Action.MANAGE_CATALOGUE),
    RouteRule("GET", "/api/catalogue", Action.VIEW_CATALOGUE),
    RouteRule("GET", "/api/catalogue/{resource_id}", Action.VIEW_CATALOGUE),
    # planning: the project catalogue ({project} stays literal: 404/422 for a permitted role)
    RouteRule("GET", "/plan/catalogue", Action.VIEW_PLANS),
    RouteRule("GET", "/plan/catalogue/export.xlsx", Action.VIEW_PLANS),
    RouteRule("POST", "/plan/catalogue/{code}/import", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("GET", "/plan/catalogue/{code}/new", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("POST", "/plan/catalogue/{code}/new", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("GET", "/plan/catalogue/{code}/{project}", Action.VIEW_PLANS, unit_bound=True),
    RouteRule("POST", "/plan/catalogue/{code}/{project}", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule(
        "POST", "/plan/catalogue/{code}/{project}/reset", Action.PLAN_PROGRAMME, unit_bound=True
    ),
    RouteRule("GET", "/api/plan/catalogue", Action.VIEW_PLANS),
    RouteRule("GET", "/api/plan/catalogue/{code}/{project}", Action.VIEW_PLANS, unit_bound=True),
    RouteRule(
        "PUT", "/api/plan/catalogue/{code}/{project}", Action.PLAN_PROGRAMME, unit_bound=True
    ),
    RouteRule(
        "DELETE", "/api/plan/catalogue/{code}/{project}", Action.PLAN_PROGRAMME, unit_bound=True
    ),
    # planning: scores, solve, saved plans, scenarios ({plan_id} stays literal: 422 for a
    # permitted role; the API's bodies are missing: 422)
    RouteRule("GET", "/plan", Action.VIEW_PLANS),
    RouteRule("GET", "/plan/units/{code}", Action.VIEW_PLANS, unit_bound=True),
    RouteRule("POST", "/plan/units/{code}/solve", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("POST", "/plan/units/{code}/why-not", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("POST", "/plan/units/{code}/save", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("GET", "/plan/units/{code}/scenarios", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("GET", "/plan/saved/{plan_id}", Action.VIEW_PLANS),
    RouteRule("GET", "/plan/saved/{plan_id}/export.xlsx", Action.VIEW_PLANS),
    RouteRule("GET", "/reports/plan/{plan_id}", Action.VIEW_PLANS),  # the design document
    RouteRule(  # the supervision bulletin (HTML: the cheapest format)
        "GET",
        "/reports/supervision/{code}",
        Action.VIEW_PLANS,
        unit_bound=True,
        query="format=html",
    ),
    RouteRule("GET", "/api/plan/units/{code}/scores", Action.VIEW_PLANS, unit_bound=True),
    RouteRule("POST", "/api/plan/units/{code}/solve", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("POST", "/api/plan/units/{code}/scenarios", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("POST", "/api/plan/units/{code}/plans", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("GET", "/api/plan/plans", Action.VIEW_PLANS),
    RouteRule("GET", "/api/plan/plans/{plan_id}", Action.VIEW_PLANS),
    # planning: the diagnosis and plan-type emphasis
    RouteRule("GET", "/plan/diagnosis", Action.VIEW_PLANS),
    RouteRule("GET", "/plan/diagnosis/{code}", Action.VIEW_PLANS, unit_bound=True),
    RouteRule("GET", "/api/plan/diagnosis/{code}", Action.VIEW_PLANS, unit_bound=True),
    # supervision: the index, tracking a plan, the dashboard, a project and its progress
    # ({project} stays literal: 422 for a permitted role; the shared site tracks nothing)
    RouteRule("GET", "/supervision", Action.VIEW_PLANS),
    RouteRule("POST", "/supervision/{code}/track", Action.PLAN_PROGRAMME, unit_bound=True),
    RouteRule("GET", "/supervision/{code}", Action.VIEW_PLANS, unit_bound=True),
    RouteRule("GET", "/supervision/{code}/projects/{project}", Action.VIEW_PLANS, unit_bound=True),
    RouteRule(
        "POST", "/supervision/{code}/projects/{project}", Action.MANAGE_PROJECTS, unit_bound=True
    ),
    RouteRule("GET", "/api/supervision", Action.VIEW_PLANS),
    RouteRule("GET", "/api/supervision/{code}", Action.VIEW_PLANS, unit_bound=True),
    RouteRule("GET", "/api/supervision/{code}/projects", Action.VIEW_PLANS, unit_bound=True),
    RouteRule(
        "GET", "/api/supervision/{code}/projects/{project}", Action.VIEW_PLANS, unit_bound=True
    ),
    RouteRule(
        "POST",
        "/api/supervision/{code}/projects/{project}/progress",
        Action.MANAGE_PROJECTS,
        unit_bound=True,
    ),
    RouteRule("POST", "/api/supervision/{code}/track", Action.PLAN_PROGRAMME, unit_bound=True),
    # supervision: baseline changes and the progress workbook ({project} literal: 422 for a
    # permitted role; an upload without a file: 422, nothing written)
    RouteRule(
        "GET",
        "/supervision/{code}/projects/{project}/baseline",
        Action.MANAGE_PROJECTS,
        unit_bound=True,
    ),
    RouteRule(
        "POST",
        "/supervision/{code}/projects/{project}/baseline",
        Action.MANAGE_PROJECTS,
        unit_bound=True,
    ),
    RouteRule("GET", "/supervision/{code}/progress.xlsx", Action.MANAGE_PROJECTS, unit_bound=True),
    RouteRule("GET", "/supervision/{code}/upload", Action.MANAGE_PROJECTS, unit_bound=True),
    RouteRule("POST", "/supervision/{code}/upload", Action.MANAGE_PROJECTS, unit_bound=True),
    RouteRule(
        "PUT",
        "/api/supervision/{code}/projects/{project}/baseline",
        Action.MANAGE_PROJECTS,
        unit_bound=True,
    ),
    RouteRule(
        "POST", "/api/supervision/{code}/progress-upload", Action.MANAGE_PROJECTS, unit_bound=True
    ),
    # supervision: outcome assessment ({report} stays literal: 422 for a permitted role; the
    # assess form without its date and the API without its body: 422, nothing written)
    RouteRule("GET", "/supervision/{code}/outcomes", Action.VIEW_PLANS, unit_bound=True),
    RouteRule(
        "POST", "/supervision/{code}/outcomes/assess", Action.PLAN_PROGRAMME, unit_bound=True
    ),
    RouteRule(
        "POST", "/supervision/{code}/outcomes/feedback", Action.PLAN_PROGRAMME, unit_bound=True
    ),
    RouteRule("GET", "/api/supervision/{code}/outcomes", Action.VIEW_PLANS, unit_bound=True),
    RouteRule(
        "GET", "/api/supervision/{code}/outcomes/{report}", Action.VIEW_PLANS, unit_bound=True
    ),
    RouteRule(
        "POST", "/api/supervision/{code}/outcomes/assess", Action.PLAN_PROGRAMME, unit_bound=True
    ),
    RouteRule(
        "POST",
        "/api/supervision/{code}/outcomes/feedback",
        Action.PLAN_PROGRAMME,
        unit_bound=True,
    ),
    # data hub: sharing requests, keys and the access log ({request_id}/{key_id} stay literal:
    # 422 for a permitted role, 403 before that for the others)
    RouteRule("GET", "/sharing", Action.REQUEST_SHARING),
    RouteRule("GET", "/sharing/request", Action.REQUEST_SHARING),
    RouteRule("POST", "/sharing/request", Action.REQUEST_SHARING),
    RouteRule("POST", "/sharing/requests/{request_id}/decide", Action.DECIDE_SHARING),
    RouteRule("POST", "/sharing/requests/{request_id}/withdraw", Action.REQUEST_SHARING),
    RouteRule("POST", "/sharing/requests/{request_id}/reissue", Action.REQUEST_SHARING),
    RouteRule("POST", "/sharing/keys/{key_id}/revoke", Action.DECIDE_SHARING),
    RouteRule("GET", "/sharing/log", Action.DECIDE_SHARING),
    RouteRule("GET", "/api/sharing/resources", Action.REQUEST_SHARING),
    RouteRule("GET", "/api/sharing/requests", Action.REQUEST_SHARING),
    RouteRule("POST", "/api/sharing/requests", Action.REQUEST_SHARING),
    RouteRule("POST", "/api/sharing/requests/{request_id}/decision", Action.DECIDE_SHARING),
    RouteRule("POST", "/api/sharing/requests/{request_id}/withdraw", Action.REQUEST_SHARING),
    RouteRule("POST", "/api/sharing/requests/{request_id}/reissue", Action.REQUEST_SHARING),
    RouteRule("GET", "/api/sharing/keys", Action.DECIDE_SHARING),
    RouteRule("POST", "/api/sharing/keys/{key_id}/revoke", Action.DECIDE_SHARING),
    RouteRule("GET", "/api/sharing/log", Action.DECIDE_SHARING),
    # the CKAN Action API: public (open data; a key reaches one resource), no session needed
    RouteRule("GET", "/api/3/action/{action}", None),
    RouteRule("POST", "/api/3/action/{action}", None),
    RouteRule("GET", "/api/action/{action}", None),
    RouteRule("POST", "/api/action/{action}", None),
    # data hub: the data-quality dashboard ({department} stays literal: an unknown one, 404)
    RouteRule("GET", "/quality", Action.VIEW_DATA_QUALITY),
    RouteRule("GET", "/quality/{code}/export.xlsx", Action.VIEW_DATA_QUALITY, unit_bound=True),
    RouteRule("GET", "/quality/{code}/{department}", Action.VIEW_DATA_QUALITY, unit_bound=True),
    RouteRule("GET", "/api/quality/{code}", Action.VIEW_DATA_QUALITY, unit_bound=True),
    # data hub: sensors — the page and its JSON, and the NGSI-LD API (an API key, no session)
    RouteRule("GET", "/sensors", Action.VIEW_DATA_QUALITY),
    RouteRule("POST", "/sensors/upload", Action.MANAGE_CATALOGUE),
    RouteRule("GET", "/api/sensors", Action.VIEW_DATA_QUALITY),
    RouteRule("POST", "/ngsi-ld/v1/entities", None),
    RouteRule("GET", "/ngsi-ld/v1/entities", None),
    RouteRule("POST", "/ngsi-ld/v1/entityOperations/create", None),
    RouteRule("POST", "/ngsi-ld/v1/entityOperations/upsert", None),
    RouteRule("POST", "/ngsi-ld/v1/notify", None),
    RouteRule("GET", "/ngsi-ld/v1/temporal/entities/{entity_id}", None),
]


def api_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every APIRoute, looking into included routers (FastAPI ≥ 0.16x keeps
    them as wrappers around the original router)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield from ((method, prefix + route.path) for method in route.methods)
        elif (inner := getattr(route, "original_router", None)) is not None:
            yield from api_routes(inner.routes, prefix + route.include_context.prefix)


def app_routes(site: Site) -> set[tuple[str, str]]:
    return set(api_routes(site.app.routes))


def test_every_route_is_in_the_matrix(site: Site) -> None:
    assert app_routes(site) == {(r.method, r.path) for r in ROUTES}


def concrete(rule: RouteRule, site: Site, city: str) -> str:
    url = rule.path + (f"?{rule.query}" if rule.query else "")
    return (
        url.replace("{fid}", "gbt33356-2016")
        .replace("{code}", city)
        .replace("{run_id}", str(site.run_id))
    )


def call(client: TestClient, rule: RouteRule, url: str) -> int:
    if rule.method == "GET":
        return client.get(url, follow_redirects=False).status_code
    # A valid CSRF token, so that the permission check is what answers, not the token check.
    token = csrf_of(client)
    headers = {"X-CSRF-Token": token}
    response = client.request(
        rule.method, url, data={"csrf_token": token}, headers=headers, follow_redirects=False
    )
    return response.status_code


PROTECTED = [r for r in ROUTES if r.action is not None]


@pytest.mark.parametrize("rule", PROTECTED, ids=lambda r: f"{r.method} {r.path}")
def test_nobody_signed_in_is_sent_to_sign_in(site: Site, rule: RouteRule) -> None:
    with site.client() as anonymous:
        response = anonymous.request(
            rule.method, concrete(rule, site, site.city), follow_redirects=False
        )
    if rule.path.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code in (303, 401)
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_reaches_exactly_what_it_may(site: Site, role: Role) -> None:
    wrong: list[str] = []
    with site.client(ROLE_USERS[role]) as client:
        for rule in PROTECTED:
            status = call(client, rule, concrete(rule, site, site.city))
            allowed = rule.action in PERMISSIONS[role]
            # A user in another province than site.city (the analyst and the manager work in
            # its province; admin everywhere; officer and viewer in that very city).
            if allowed and status in (401, 403):
                wrong.append(f"{rule.method} {rule.path}: {status}, expected access")
            if not allowed and status != 403:
                wrong.append(f"{rule.method} {rule.path}: {status}, expected 403")
    assert wrong == []


UNIT_ROUTES = [r for r in ROUTES if r.unit_bound]


@pytest.mark.parametrize("rule", UNIT_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_a_unit_outside_the_users_regions_is_forbidden(site: Site, rule: RouteRule) -> None:
    with site.client("outsider") as outsider:
        assert call(outsider, rule, concrete(rule, site, site.city)) == 403
        own = call(outsider, rule, concrete(rule, site, site.other_city))
        assert own not in (401, 403) or rule.action not in PERMISSIONS[Role.VIEWER]
