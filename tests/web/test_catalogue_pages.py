"""The resource catalogue pages and API on a site with the demo catalogue: who sees which entry,
who may change it, a form that keeps nothing when refused, uploads, exports, and the browser."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cityloop.accounts import Role
from cityloop.services import users
from cityloop.services.catalogue import load_demo_catalogue
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import SCREENSHOTS, browser_sign_in, serve
from tests.web.site import CHEAP, PASSWORD, Site, csrf_of, make_site

ENVIRONMENT = "ecology_environment"


@pytest.fixture(scope="module", params=BACKENDS)
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A fresh site (this module writes) with the demo catalogue in the officers' city and a
    second data officer, of the environment department, in the same city."""
    folder = tmp_path_factory.mktemp(f"catalogue-{request.param}")
    for url in new_database_url(str(request.param), folder):
        site = make_site(url, folder)
        assert load_demo_catalogue(site.db, site.city, actor="fixture") == 34
        users.add_user(site.db, "envofficer", PASSWORD, Role.DATA_OFFICER, site.city, ENVIRONMENT,
                       actor="fixture", params=CHEAP)  # fmt: skip
        yield site
        site.db.dispose()


def listed(client: TestClient, **query: str) -> list[dict[str, Any]]:
    response = client.get("/api/catalogue", params=query)
    assert response.status_code == 200
    return list(response.json()["resources"])


def test_a_not_shareable_resource_is_never_listed_to_another_department(hub: Site) -> None:
    everything = {r["code"]: r for r in listed(hub.client("admin"))}
    assert len(everything) == 34
    with hub.client("officer") as transport, hub.client("envofficer") as environment:
        for client, own in ((transport, "transport"), (environment, ENVIRONMENT)):
            seen = listed(client)
            hidden = [r for r in everything.values() if r["department"] != own and
                      (r["sharing_type"] == "none" or r["status"] == "draft")]  # fmt: skip
            assert {r["code"] for r in seen}.isdisjoint(r["code"] for r in hidden)
            own_entries = {c for c, r in everything.items() if r["department"] == own}
            assert own_entries <= {r["code"] for r in seen}  # drafts and not-shared included
            page = client.get("/catalogue").text
            for r in hidden:
                assert r["code"] not in page
                assert client.get(f"/catalogue/{r['id']}").status_code == 404
                assert client.get(f"/api/catalogue/{r['id']}").status_code == 404
    secret = next(r for r in everything.values() if r["department"] == ENVIRONMENT
                  and r["sharing_type"] == "none")  # fmt: skip
    with hub.client("envofficer") as environment:
        page = environment.get(f"/catalogue/{secret['id']}")
        assert page.status_code == 200 and "not-shared-reason" in page.text
    assert len(listed(hub.client("analyst"))) == 34  # the office's evaluators see every entry
    assert all(r["status"] == "published" and r["sharing_type"] != "none"
               for r in listed(hub.client("viewer")))  # fmt: skip
    assert listed(hub.client("outsider")) == []  # another province: none of this city's


def test_counts_and_filters(hub: Site) -> None:
    with hub.client("admin") as admin:
        body = admin.get("/api/catalogue").json()
        assert body["by_sharing"] == {"unconditional": 19, "conditional": 9, "none": 6}
        only = listed(admin, sharing_type="none", department=ENVIRONMENT)
        assert [r["department"] for r in only] == [ENVIRONMENT]
        page = admin.get("/catalogue", params={"sharing": "conditional", "open": "closed"}).text
        assert page.count("data-resource=") == sum(
            1 for r in body["resources"] if r["sharing_type"] == "conditional"
            and r["open_type"] == "closed")  # fmt: skip
        assert re.search(r'data-sharing="none">6<', page)  # counts ignore the sharing filter


def form(client: TestClient, **values: str) -> dict[str, str]:
    base = {"csrf_token": csrf_of(client, "/catalogue/new"), "code": "302001-000900",
            "department": "transport", "name_zh": "网约车订单（测试）", "classification":
            "department", "update_frequency": "daily", "format": "CSV", "sharing_type":
            "unconditional", "sharing_method": "api", "open_type": "closed",
            "fields": "order_id | 订单号 | Order | string\nfare | 金额 | | number"}  # fmt: skip
    return {**base, "unit": values.pop("unit", ""), **values}


def test_a_refused_form_keeps_nothing_and_marks_the_fields(hub: Site) -> None:
    with hub.client("officer") as officer:
        before = len(listed(officer))
        refused = officer.post("/catalogue", data=form(officer, unit=hub.city,
                               sharing_type="none", fields="bad line"))  # fmt: skip
        assert refused.status_code == 422
        assert 'data-error-for="not_shared_reason"' in refused.text
        assert 'data-error-for="fields"' in refused.text and "bad line" in refused.text
        refused = officer.post("/catalogue", data=form(officer, unit=hub.city,
                               sharing_type="none", sharing_method=""))  # fmt: skip
        assert refused.status_code == 422
        assert 'data-error-for="not_shared_reason"' in refused.text
        assert 'data-error-for="open_type"' not in refused.text
        assert len(listed(officer)) == before
        other = officer.post("/catalogue", data=form(officer, unit=hub.city,
                             department=ENVIRONMENT))  # fmt: skip
        assert other.status_code == 403 and len(listed(officer)) == before
        made = officer.post("/catalogue", data=form(officer, unit=hub.city),
                            follow_redirects=False)  # fmt: skip
        assert made.status_code == 303
        page = officer.get(made.headers["location"])
        assert "302001-000900" in page.text and "catalogue-flash" in page.text


def test_a_data_officer_cannot_change_another_departments_resource(hub: Site) -> None:
    with hub.client("admin") as admin:
        theirs = next(r for r in listed(admin, department=ENVIRONMENT)
                      if r["status"] == "published")  # fmt: skip
    with hub.client("officer") as officer:
        token = csrf_of(officer, "/catalogue/new")
        rid = theirs["id"]
        assert officer.get(f"/catalogue/{rid}").status_code == 200  # shareable: visible
        assert officer.get(f"/catalogue/{rid}/edit").status_code == 403
        data = form(officer, code=theirs["code"], department=ENVIRONMENT, name_zh="改掉")
        assert officer.post(f"/catalogue/{rid}", data=data).status_code == 403
        assert officer.post(f"/catalogue/{rid}/unpublish",
                            data={"csrf_token": token}).status_code == 403  # fmt: skip
        assert "edit-resource" not in officer.get(f"/catalogue/{rid}").text
    with hub.client("admin") as admin:
        assert admin.get(f"/api/catalogue/{rid}").json() == theirs  # unchanged


def test_rows_upload_checks_every_cell(hub: Site) -> None:
    with hub.client("admin") as admin:
        table = next(r for r in listed(admin, department="transport")
                     if r["fields"] and r["entity_type"] is None)  # fmt: skip
    names = [f["name"] for f in table["fields"]]
    good = ",".join(names) + "\n" + ",".join(_sample(f["type"]) for f in table["fields"]) + "\n"
    with hub.client("officer") as officer:
        token = csrf_of(officer, "/catalogue/new")
        rid = table["id"]
        bad = good.replace(_sample(table["fields"][-1]["type"]), "???", 1)
        if bad == good:
            bad = good.rstrip("\n") + ",extra\n"
        refused = officer.post(f"/catalogue/{rid}/rows", data={"csrf_token": token},
                               files={"file": ("rows.csv", bad.encode(), "text/csv")})  # fmt: skip
        assert refused.status_code == 422 and "upload-errors" in refused.text
        assert "rows.csv" in refused.text
        done = officer.post(f"/catalogue/{rid}/rows", data={"csrf_token": token},
                            files={"file": ("rows.csv", good.encode(), "text/csv")},
                            follow_redirects=False)  # fmt: skip
        assert done.status_code == 303
        assert officer.get(f"/api/catalogue/{rid}").json()["rows"] == 1


def _sample(kind: str) -> str:
    samples = {"integer": "3", "number": "2.5", "boolean": "是", "date": "2025-01-02",
               "datetime": "2025-01-02T03:04:05", "geometry": "POINT (1 2)"}  # fmt: skip
    return samples.get(kind, "x")


def test_exports_read_back_as_imports(hub: Site) -> None:
    with hub.client("admin") as admin:
        xlsx = admin.get("/catalogue/export.xlsx", params={"unit": hub.city})
        assert xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(xlsx.content))["资源目录"]
        assert sheet["A1"].value == "资源代码" and sheet.max_row == 1 + len(listed(admin))
        jsonld = admin.get("/catalogue/catalog.jsonld")
        assert jsonld.status_code == 200 and "dcat:Dataset" in jsonld.text
        token = csrf_of(admin, "/catalogue/new")
        for name, content in (("c.xlsx", xlsx.content), ("c.jsonld", jsonld.content)):
            done = admin.post("/catalogue/import", data={"csrf_token": token, "unit": hub.city},
                              files={"file": (name, content)}, follow_redirects=False)  # fmt: skip
            assert done.status_code == 303, done.text
            assert "0" in admin.get("/catalogue").text
    with hub.client("officer") as officer:  # another department's entries: refused whole
        token = csrf_of(officer, "/catalogue/new")
        refused = officer.post("/catalogue/import", data={"csrf_token": token, "unit": hub.city},
                               files={"file": ("c.xlsx", xlsx.content)})  # fmt: skip
        assert refused.status_code == 422 and "catalogue-errors" in refused.text


def test_the_catalogue_renders_in_chromium(hub: Site, browser: Any) -> None:
    if hub.db.engine.dialect.name != "sqlite":
        pytest.skip("one screenshot is enough")
    for server in serve(hub.app):
        page = browser_sign_in(browser, server, "officer")
        page.goto(f"{server}/catalogue")
        page.wait_for_selector("#catalogue-sharing-chart[data-rendered=true]", timeout=15000)
        assert page.locator("[data-testid=catalogue-table] tbody tr").count() >= 20
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "catalogue.png"), full_page=False)
        page.close()
        break
