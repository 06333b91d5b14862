"""XSS: user-supplied text set to attack payloads through the real input paths (forms and the
JSON API) is shown escaped on every page that shows it, no template expression in it runs, and
JSON embedded in pages cannot close its ``<script>`` element (every other stored text, and
Chromium on the pages that show them: ``test_xss_stored``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from cityloop.services import plan as plan_service
from tests.security.conftest import tracked_project
from tests.security.seeded import PAYLOAD, assert_escaped
from tests.web.site import Site, csrf_of, sign_in

FIELD = re.compile(r'<(?:input|textarea)[^>]*\bname="([^"]+)"[^>]*>', re.S)
TYPE = re.compile(r'\btype="(hidden|checkbox|radio|number|date|file|submit)"')


def text_fields(html: str) -> list[str]:
    """The names of a form's free-text inputs and text areas."""
    return [m.group(1) for m in FIELD.finditer(html) if not TYPE.search(m.group(0))]


FORMS = [  # (the page with the form, where it posts)
    ("/catalogue/new", "/catalogue"),
    ("/plan/catalogue/{code}/new", "/plan/catalogue/{code}/new"),
    ("/supervision/{code}/projects/{project}/baseline",
     "/supervision/{code}/projects/{project}/baseline"),
]  # fmt: skip


def fill(path: str, site: Site, project: str) -> str:
    return path.replace("{code}", site.city).replace("{project}", project)


@pytest.mark.parametrize(("page", "target"), FORMS, ids=[f[1] for f in FORMS])
def test_form_text_is_echoed_and_shown_escaped(own_site: Site, page: str, target: str) -> None:
    client = own_site.client("admin")
    project = tracked_project(own_site)
    form_page = client.get(fill(page, own_site, project))
    assert form_page.status_code == 200
    names = text_fields(form_page.text)
    assert names, f"no text field found on {page}"
    token = client.headers["X-CSRF-Token"]
    form = dict.fromkeys(names, PAYLOAD) | {"csrf_token": token}
    response = client.post(fill(target, own_site, project), data=form)
    assert response.status_code < 500
    assert_escaped(response.text, f"{target} ({response.status_code})")


def stored_payloads(site: Site, client: TestClient) -> dict[str, str]:
    """Payloads stored through the JSON API; the pages that show them."""
    project = tracked_project(site)
    code = site.city
    detail = client.get(f"/api/supervision/{code}/projects/{project}").json()
    assert "start_date" in detail, detail
    day = (date.fromisoformat(detail["start_date"]) + timedelta(days=30)).isoformat()
    note = {
        "report_date": day,
        "note": PAYLOAD,
        "risks": [{"text": PAYLOAD, "level": "high"}],
        "spend": [{"day": day, "amount": 1.0, "note": PAYLOAD}],
    }
    answer = client.post(f"/api/supervision/{code}/projects/{project}/progress", json=note)
    assert answer.status_code == 200, answer.text
    saved = client.post(f"/api/plan/units/{code}/plans", json={"name": PAYLOAD})
    assert saved.status_code == 201, saved.text
    plan_id = saved.json()["id"]
    return {
        "progress note, risk, payment note": (
            f"/supervision/{code}/projects/{project}?as_of={day}"
        ),
        "risk on the dashboard": f"/supervision/{code}?as_of={day}",
        "plan name": f"/plan/saved/{plan_id}",
        "plan list": f"/plan/units/{code}",
        "plan report": f"/reports/plan/{plan_id}?format=html",
    }


def test_text_stored_through_the_api_is_shown_escaped(own_site: Site) -> None:
    client = own_site.client("admin")
    pages = stored_payloads(own_site, client)
    for what, path in pages.items():
        response = client.get(path)
        assert response.status_code == 200, f"{what}: {path} {response.status_code}"
        assert_escaped(response.text, f"{what} at {path}")
    # The payload really reached the pages (escaped): else the test could not fail.
    detail = client.get(pages["progress note, risk, payment note"]).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail or "&lt;script&gt;" in detail


def test_json_islands_cannot_close_their_script_element(own_site: Site) -> None:
    """A plan named with ``</script>`` is on pages whose charts read JSON from a script
    element: ``tojson`` writes ``<`` as ``\\u003c``."""
    client = own_site.client("admin")
    plans = plan_service.plans_of(own_site.db, [own_site.city])
    named = [p for p in plans if p.name == PAYLOAD]
    if not named:
        stored_payloads(own_site, client)
    islands = 0
    for path in (f"/supervision/{own_site.city}", f"/plan/units/{own_site.city}"):
        html = client.get(path).text
        for island in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html,
                                 re.S):  # fmt: skip
            islands += 1
            assert "<" not in island, path
    assert islands > 0


def test_the_sign_in_page_escapes_the_username_it_shows_again(own_site: Site) -> None:
    client = TestClient(own_site.app)
    assert sign_in(client, PAYLOAD[:64], "wrong") == 401
    form = {"username": PAYLOAD[:64], "password": "x", "csrf_token": csrf_of(client)}
    response = client.post("/login", data=form)
    assert_escaped(response.text, "/login")
    nxt = client.get("/login", params={"next": 'javascript:alert(1)"><script>alert(1)</script>'})
    assert "javascript:alert" not in nxt.text
    assert_escaped(nxt.text, "/login?next=")
