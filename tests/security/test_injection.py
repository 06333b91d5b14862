"""SQL injection: injection strings in every path and query parameter of every GET route (from
``app.routes``) give no server error, no data beyond the user's regions, and leave every table
as it was; the free-text search and filter fields are checked for extra rows.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute

from tests.security.routes import concrete, routes_of
from tests.web.site import Site

PAYLOADS = [
    "' OR '1'='1",
    "1; DROP TABLE users--",
    "%' --",
    "\u2019 OR \u20181\u2019=\u20181",  # unicode quotes, as a Chinese input method types them
    "1 UNION SELECT password_hash FROM users--",
]
# All of them at once for the sweep over every route (one pass: the sweep is the slow part).
SWEEP = "' OR '1'='1'; DROP TABLE users-- %\u2019 UNION SELECT password_hash FROM users--"


def get_routes(site: Site) -> list[APIRoute]:
    return [r for m, r in routes_of(site.app) if m == "GET" and not r.path.startswith("/docs")]


def test_injection_in_every_get_parameter_is_harmless(own_site: Site) -> None:
    payload = SWEEP
    client = own_site.client("admin")
    before = own_site.db.row_counts()
    errors = []
    for route in get_routes(own_site):
        in_path = concrete(route.path, own_site, fill=quote(payload, safe=""))
        query = {p.alias: payload for p in route.dependant.query_params}
        tries = (
            [(in_path, {}), (concrete(route.path, own_site), query)] if query else [(in_path, {})]
        )
        for url, params in tries:
            response = client.get(url, params=params, follow_redirects=False)
            if response.status_code >= 500:
                errors.append(f"{url} {params}: {response.status_code}")
            if "$argon2" in response.text:
                errors.append(f"{url} {params}: a password hash in the answer")
    assert errors == []
    after = own_site.db.row_counts()
    assert set(after) == set(before)  # no table dropped
    assert after["users"] >= before["users"]


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_injection_in_a_unit_code_shows_no_other_region(own_site: Site, payload: str) -> None:
    """A city user's requests about "their city OR anything" reach nothing."""
    client = own_site.client("viewer")
    for path in ("/api/cities/{code}/overview", "/cities/{code}", "/api/quality/{code}"):
        code = quote(own_site.city + payload, safe="")
        response = client.get(path.replace("{code}", code), follow_redirects=False)
        assert response.status_code in (403, 404, 422), path
    ranking = client.get("/api/ranking", params={"year": payload})
    assert ranking.status_code in (200, 422)


@pytest.mark.parametrize(
    ("path", "field"),
    [("/api/catalogue", "department"), ("/api/catalogue", "unit"), ("/api/sensors", "type"),
     ("/api/sharing/resources", "department"), ("/api/plan/catalogue", "unit")],
)  # fmt: skip
def test_filter_fields_return_no_extra_rows(own_site: Site, path: str, field: str) -> None:
    """A filter given an injection string finds what an unknown value finds: nothing more."""
    client = own_site.client("admin")
    plain = client.get(path, params={field: "zzz-nothing"})
    for payload in PAYLOADS:
        found = client.get(path, params={field: payload})
        assert found.status_code == plain.status_code, payload
        if plain.status_code == 200:
            assert found.json() == plain.json(), payload
