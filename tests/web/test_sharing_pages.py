"""The sharing pages and JSON API on both backends: a department asks, the owner approves, the
key is shown once and reaches its one resource, a revocation stops it at once, every access is
in the access log; and the refusals (not-shareable resources never offered, strangers
cannot decide). Screenshot of the page in docs/screenshots/sharing.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cityloop.accounts import Principal, Role
from cityloop.services import sharing
from tests.store.databases import BACKENDS
from tests.web.conftest import SCREENSHOTS, browser_sign_in
from tests.web.sharing_site import SharingSite, sharing_site
from tests.web.site import csrf_of

PURPOSE = "用于城市交通拥堵与空气质量联动分析"


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharingSite]:
    """This module's own small site (the tests here change it)."""
    yield from sharing_site(str(request.param), tmp_path_factory.mktemp(f"sh-{request.param}"))


def post_form(client: TestClient, url: str, **fields: Any) -> Any:
    fields["csrf_token"] = csrf_of(client, "/sharing")
    return client.post(url, data=fields, follow_redirects=False)


def shown_key(html: str) -> str:
    found = re.search(r'value="(clk_[A-Za-z0-9_-]+)"', html)
    assert found is not None, "no key on the page"
    return found.group(1)


def datastore(resource_id: int, key: str | None, client: TestClient) -> int:
    headers = {} if key is None else {"Authorization": key}
    url = f"/api/3/action/datastore_search?resource_id={resource_id}&limit=2"
    return client.get(url, headers=headers).status_code


def test_ask_approve_read_revoke_and_the_log(site: SharingSite) -> None:
    here, there = site.here, site.there
    with site.client("officer") as officer, site.client("owner") as owner, site.client() as anon:
        picker = officer.get("/sharing/request")
        assert picker.status_code == 200
        offered = {int(i) for i in re.findall(r'data-resource="(\d+)"', picker.text)}
        # Not the not-shareable one, not drafts, not the officer's own, not another city's.
        assert offered == {here.conditional, here.unconditional, here.sensor}
        form = officer.get(f"/sharing/request?resource={here.conditional}")
        assert 'data-testid="request-form"' in form.text and "有条件共享" in form.text
        asked = post_form(officer, "/sharing/request", resource=here.conditional, purpose=PURPOSE)
        assert asked.status_code == 303
        assert "sharing-flash" in officer.get("/sharing").text
        request = site.db.sharing.requests(requester_department="transport")[0]
        page = owner.get("/sharing").text
        assert f'data-testid="approve-{request.id}"' in page and PURPOSE in page
        approved = post_form(
            owner, f"/sharing/requests/{request.id}/decide", decision="approve", reason=""
        )
        assert approved.status_code == 200 and 'data-testid="new-key"' in approved.text
        key = shown_key(approved.text)
        assert key not in owner.get("/sharing").text  # shown once
        assert datastore(here.conditional, key, anon) == 200
        assert datastore(here.sensor, key, anon) == 403  # a key for X cannot read Y
        assert datastore(there.conditional, key, anon) == 403
        [row] = site.db.sharing.key_rows(resource_id=here.conditional)
        revoked = post_form(owner, f"/sharing/keys/{row.key_id}/revoke")
        assert revoked.status_code == 303
        assert datastore(here.conditional, key, anon) == 403  # the very next request
        log = owner.get(f"/sharing/log?resource={here.conditional}")
        assert log.status_code == 200
        statuses = re.findall(r'<td class="num">(\d{3})</td>', log.text)
        assert statuses == ["403", "200"]  # newest first; both recorded
        assert owner.get("/api/sharing/log", params={"resource": here.sensor}).json()["total"] == 1


def test_refusals_are_clear_and_change_nothing(site: SharingSite) -> None:
    here = site.here
    before = len(site.db.sharing.requests(requester_department="transport"))
    with site.client("officer") as officer:
        short = post_form(officer, "/sharing/request", resource=here.sensor, purpose="看看")
        assert short.status_code == 422 and "request-errors" in short.text
        for rid in (here.not_shareable, here.draft, site.there.conditional):
            hidden = post_form(officer, "/sharing/request", resource=rid, purpose=PURPOSE)
            assert hidden.status_code == 422 and "不予共享" in hidden.text
        api = officer.post(
            "/api/sharing/requests", json={"resource_id": here.not_shareable, "purpose": PURPOSE}
        )
        assert api.status_code == 422
        assert len(site.db.sharing.requests(requester_department="transport")) == before
        pending = officer.post(
            "/api/sharing/requests", json={"resource_id": here.sensor, "purpose": PURPOSE}
        ).json()["request"]
        # The asking department cannot approve its own request; a stranger cannot see it.
        mine = post_form(officer, f"/sharing/requests/{pending['id']}/decide", decision="approve")
        assert mine.status_code == 403
        with site.client("stranger") as stranger:
            far = stranger.post(
                f"/api/sharing/requests/{pending['id']}/decision", json={"approve": True}
            )
            assert far.status_code == 404
        with site.client("owner") as owner:
            bare = owner.post(
                f"/api/sharing/requests/{pending['id']}/decision", json={"approve": False}
            )
            assert bare.status_code == 422  # a refusal needs its reason
            assert site.db.sharing.request(pending["id"]).status.value == "pending"  # type: ignore[union-attr]
        withdrawn = officer.post(f"/api/sharing/requests/{pending['id']}/withdraw")
        assert withdrawn.json()["status"] == "withdrawn"
    with site.client("viewer") as viewer:
        assert viewer.get("/sharing").status_code == 403


def test_the_json_api_grants_unconditional_at_once_and_reissues(site: SharingSite) -> None:
    here = site.here
    with site.client("officer") as officer, site.client() as anon:
        granted = officer.post(
            "/api/sharing/requests", json={"resource_id": here.unconditional, "purpose": PURPOSE}
        )
        assert granted.status_code == 201
        body = granted.json()
        assert body["request"]["status"] == "approved" and body["key"]["key"].startswith("clk_")
        first = body["key"]["key"]
        assert datastore(here.unconditional, first, anon) == 200
        new = officer.post(f"/api/sharing/requests/{body['request']['id']}/reissue").json()["key"]
        assert datastore(here.unconditional, first, anon) == 403
        assert datastore(here.unconditional, new, anon) == 200
        keys = officer.get("/api/sharing/keys").json()
        live = [k for k in keys["held"] if k["resource_id"] == here.unconditional]
        assert [k["revoked_at"] is None for k in live] == [True, False]
        # Requests the officer's department made, as the API lists them.
        made = officer.get("/api/sharing/requests").json()["made"]
        assert body["request"]["id"] in [r["id"] for r in made]


def test_an_administrator_asks_for_any_department_and_sees_them_all(site: SharingSite) -> None:
    with site.client("admin") as admin:
        page = admin.get("/sharing/request?department=transport")
        offered = {int(i) for i in re.findall(r'data-resource="(\d+)"', page.text)}
        assert site.there.conditional in offered and site.here.not_shareable not in offered
        asked = post_form(admin, "/sharing/request", resource=site.there.conditional,
                          purpose=PURPOSE, department="transport")  # fmt: skip
        assert asked.status_code == 303
        assert admin.get("/sharing/log").status_code == 200
    board = sharing.board(site.db, Principal("admin", Role.ADMINISTRATOR))
    made = [r for r in board.made if r.resource.id == site.there.conditional]
    assert [(r.requester_department, r.requested_by) for r in made] == [("transport", "admin")]


def test_sharing_page_in_the_browser(site: SharingSite, server: str, browser: Any) -> None:
    if site.db.engine.dialect.name != "sqlite":
        pytest.skip("one screenshot is enough")
    with site.client("officer") as officer:
        officer.post(
            "/api/sharing/requests", json={"resource_id": site.here.conditional, "purpose": PURPOSE}
        )
    page = browser_sign_in(browser, server, "owner")
    page.goto(f"{server}/sharing")
    page.wait_for_selector("[data-testid=received-table]")
    page.screenshot(path=str(SCREENSHOTS / "sharing.png"), full_page=True)
    page.click("[data-testid^=approve-]")
    page.wait_for_selector("[data-testid=plain-key]")
    assert page.input_value("[data-testid=plain-key]").startswith("clk_")
    page.close()
