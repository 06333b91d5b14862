"""The CKAN Action API subset, driven by the real CKAN client ``ckanapi.RemoteCKAN`` against the
app served by uvicorn: listing and searching the open catalogue, showing a package, reading a
resource's rows with filters and paging, keys (one resource each, revocation at once), errors
as ckanapi's exceptions, and every access in the access log. Both backends."""

from __future__ import annotations

from collections.abc import Iterator

import ckanapi
import pytest
from sqlalchemy import insert

from cityloop.accounts import Principal, Role
from cityloop.services import sharing
from cityloop.store.models import DataResource, table_of
from tests.store.databases import BACKENDS
from tests.store.sharing_rows import ASKER, OWNER, resource
from tests.web.sharing_site import CITY, OTHER_CITY, SharingSite, sharing_site

PURPOSE = "用于交通与环境数据联动分析"
AGENT = "cityloop-tests"


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharingSite]:
    """This module's own small site, served by ``server`` (conftest) for the CKAN client."""
    yield from sharing_site(str(request.param), tmp_path_factory.mktemp(f"ck-{request.param}"))


def issue_key(site: SharingSite, resource_id: int) -> tuple[int, str]:
    """A read key for ``resource_id`` to ASKER, asked for and approved through the service."""
    officer = Principal("officer", Role.DATA_OFFICER, CITY, ASKER)
    owner = Principal("owner", Role.DATA_OFFICER, CITY, OWNER)
    asked = sharing.request_sharing(site.db, officer, resource_id, PURPOSE)
    outcome = asked if asked.key else sharing.decide(
        site.db, owner, asked.request.id, approve=True, reason=""
    )  # fmt: skip
    assert outcome.key is not None
    return outcome.key.key_id, outcome.key.plain


def test_the_open_catalogue_lists_searches_and_shows(site: SharingSite, server: str) -> None:
    ckan = ckanapi.RemoteCKAN(server, user_agent=AGENT)
    # Only the open resources of both cities: never the not-shareable, draft or closed ones.
    assert ckan.action.package_list() == [f"{CITY}-a1", f"{OTHER_CITY}-b1"]
    found = ckan.action.package_search(q="交通", rows=1, start=0,
                                       **{"facet.field": ["organization", "groups"]})  # fmt: skip
    assert found["count"] == 2 and len(found["results"]) == 1
    assert found["facets"]["groups"] == {CITY: 1, OTHER_CITY: 1}
    assert found["search_facets"]["organization"]["items"] == [
        {"name": ASKER, "display_name": ASKER, "count": 2}
    ]
    second = ckan.action.package_search(q="交通", rows=1, start=1, sort="name asc")
    assert [p["name"] for p in second["results"]] == [f"{OTHER_CITY}-b1"]
    one_city = ckan.action.package_search(fq=f"groups:{CITY} tags:开放")
    assert [p["name"] for p in one_city["results"]] == [f"{CITY}-a1"]
    assert ckan.action.package_search(fq=f"-groups:{CITY}")["count"] == 1
    assert ckan.action.package_search(q="涉密")["count"] == 0  # the not-shareable one's reason
    package = ckan.action.package_show(id=f"{CITY}-a1")
    assert package == ckan.action.package_show(id=str(site.here.open))
    assert package == ckan.action.package_show(id="A1")  # by resource code
    assert package["organization"]["name"] == ASKER and package["groups"][0]["name"] == CITY
    [resource] = package["resources"]
    assert resource["datastore_active"] is True and resource["format"] == "csv"
    assert ckan.action.resource_show(id=resource["id"])["url"].startswith(server)
    for hidden in (site.here.not_shareable, site.here.conditional, site.here.draft, "nope"):
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id=str(hidden))
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(fq="colour:red")
    assert ckan.action.status_show()["extensions"] == ["datastore"]


def test_datastore_search_with_filters_paging_and_keys(site: SharingSite, server: str) -> None:
    here, there = site.here, site.there
    ckan = ckanapi.RemoteCKAN(server, user_agent=AGENT)
    page = ckan.action.datastore_search(
        resource_id=here.open, filters={"district": ["区3", "区12"]}, sort="count desc"
    )
    assert page["total"] == 2 and [r["_id"] for r in page["records"]] == [12, 3]
    assert [f["id"] for f in page["fields"]] == ["_id", "district", "count"]
    paged = ckanapi.RemoteCKAN(server, user_agent=AGENT, get_only=True).action.datastore_search(
        resource_id=here.open, limit=5, offset=20, fields=["count"]
    )
    assert paged["records"] == [{"count": c} for c in (210, 220, 230, 240, 250)]
    assert paged["_links"]["next"].endswith("offset=25")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=here.open, filters={"colour": "red"})
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id=here.conditional)  # not open, no key
    key_id, key = issue_key(site, here.sensor)
    keyed = ckanapi.RemoteCKAN(server, apikey=key, user_agent=AGENT)
    rows = keyed.action.datastore_search(resource_id=here.sensor, filters={"attribute": "no2"})
    assert rows["total"] == 12 and {r["attribute"] for r in rows["records"]} == {"no2"}
    for other in (here.conditional, here.unconditional, there.sensor):
        with pytest.raises(ckanapi.NotAuthorized):  # a key for X cannot read Y
            keyed.action.datastore_search(resource_id=other)
    assert keyed.action.datastore_search(resource_id=here.open)["total"] == 25  # open stays open
    admin = Principal("admin", Role.ADMINISTRATOR)
    sharing.revoke(site.db, admin, key_id)
    with pytest.raises(ckanapi.NotAuthorized):  # revoked: the very next request stops
        keyed.action.datastore_search(resource_id=here.sensor)
    with pytest.raises(ckanapi.NotFound):
        keyed.action.datastore_search(resource_id=999_999)
    # Every access to the sensor series is in the log, refused ones included.
    entries, total = site.db.sharing.access_log(resource_id=here.sensor)
    assert total == 2 and [(e.status, e.key_id) for e in entries] == [(403, key_id), (200, key_id)]
    assert entries[1].rows == 12 and entries[1].department == ASKER
    assert AGENT in entries[1].client
    refused, _ = site.db.sharing.access_log(resource_id=here.conditional)
    assert [e.status for e in refused] == [403, 403]


def test_a_conditionally_open_resource_is_listed_but_its_data_needs_a_key(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    for fresh in sharing_site("sqlite", tmp_path_factory.mktemp("ck-conditional")):
        row = resource("A7", OWNER, open_type="conditional", open_condition="签署数据使用协议",
                       licence="CC-BY-4.0")  # fmt: skip
        with fresh.db.transaction() as conn:
            rid = conn.execute(
                insert(table_of(DataResource)).returning(table_of(DataResource).c.id),
                [{**row, "unit_code": CITY}],
            ).scalar_one()
        anonymous = fresh.client()
        listed = anonymous.get("/api/3/action/package_list").json()["result"]
        assert listed == [f"{CITY}-a1", f"{CITY}-a7", f"{OTHER_CITY}-b1"]
        package = anonymous.get("/api/3/action/package_show", params={"id": "A7"}).json()
        extras = {x["key"]: x["value"] for x in package["result"]["extras"]}
        assert (extras["open_type"], extras["open_condition"]) == (
            "conditional",
            "签署数据使用协议",
        )
        refused = anonymous.get("/api/3/action/datastore_search", params={"resource_id": rid})
        assert refused.status_code == 403 and refused.json()["success"] is False
        _, plain = issue_key(fresh, rid)
        read = anonymous.get("/api/3/action/datastore_search", params={"resource_id": rid},
                             headers={"Authorization": plain})  # fmt: skip
        assert read.status_code == 200 and read.json()["success"] is True
