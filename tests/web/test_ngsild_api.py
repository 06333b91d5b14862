"""The NGSI-LD API over HTTP: status codes and bodies of entity create, batch create/upsert and
notifications, key checks (none, wrong, revoked, read scope, another tenant), the latest-state
and temporal queries, and the sensors page with its upload form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityloop.services.sensor_demo import load_demo_sensors
from cityloop.store.keys import issue_key, revoke_key
from cityloop.store.models import AccessEntry, KeyScope
from tests.store.databases import BACKENDS, new_database_url
from tests.web.site import Site, csrf_of, make_site

EXAMPLES = Path(__file__).parent.parent / "data" / "smartdatamodels"
LD = {"Content-Type": "application/ld+json"}


@dataclass
class SensorSite:
    site: Site
    unit: str
    resources: dict[str, int]
    keys: dict[str, str]  # name → plain key


@pytest.fixture(scope="module", params=BACKENDS)
def sensors(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SensorSite]:
    """A fresh site (this module writes) with two days of demo sensors in the officer's city
    and keys: ingest and read for air quality, ingest for parking, one revoked."""
    folder = tmp_path_factory.mktemp(f"sensors-{request.param}")
    for url in new_database_url(str(request.param), folder):
        site = make_site(url, folder)
        loaded = load_demo_sensors(
            site.db, site.city, actor="fixture", days=2, end=datetime(2025, 6, 1, tzinfo=UTC)
        )
        ids = {kind: r.id for kind, r in loaded.resources.items()}
        keys: dict[str, str] = {}
        with site.db.session() as s:
            for name, kind, scope in [
                ("aq", "AirQualityObserved", KeyScope.INGEST),
                ("aq_read", "AirQualityObserved", KeyScope.READ),
                ("parking", "ParkingSpot", KeyScope.INGEST),
                ("revoked", "AirQualityObserved", KeyScope.INGEST),
            ]:
                issued = issue_key(s, resource_id=ids[kind], department="ecology_environment",
                                   scope=scope, actor="fixture")  # fmt: skip
                keys[name] = issued.plain
                if name == "revoked":
                    revoke_key(s, issued.key_id, "fixture")
        yield SensorSite(site, site.city, ids, keys)
        site.db.dispose()


def example(folder: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / folder / name).read_bytes())
    return loaded


def auth(key: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **LD, **more}


def test_create_one_entity(sensors: SensorSite) -> None:
    with sensors.site.client() as c:
        entity = example("AirQualityObserved", "example.jsonld")
        answer = c.post("/ngsi-ld/v1/entities", json=entity, headers=auth(sensors.keys["aq"]))
        assert answer.status_code == 201
        assert answer.headers["location"] == f"/ngsi-ld/v1/entities/{entity['id']}"
        again = c.post("/ngsi-ld/v1/entities", content=json.dumps(entity),
                       headers={"X-API-Key": sensors.keys["aq"], **LD})  # fmt: skip
        assert again.status_code == 201  # a time series takes repeats
        bad = c.post("/ngsi-ld/v1/entities", json={**entity, "no2": "lots"},
                     headers=auth(sensors.keys["aq"]))  # fmt: skip
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/json")
    problem = bad.json()
    assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert "$.no2" in problem["detail"]


def test_batch_create_and_upsert_answer_201_204_or_207(sensors: SensorSite) -> None:
    first = {**example("AirQualityObserved", "example.json"), "id": "batch-1"}
    second = {**first, "id": "batch-2"}
    key = sensors.keys["aq"]
    with sensors.site.client() as c:
        created = c.post("/ngsi-ld/v1/entityOperations/create", json=[first, second],
                         headers=auth(key))  # fmt: skip
        assert (created.status_code, created.json()) == (201, ["batch-1", "batch-2"])
        same = c.post("/ngsi-ld/v1/entityOperations/upsert", json=[first], headers=auth(key))
        assert same.status_code == 204
        parking = example("ParkingSpot", "example.json")
        mixed = c.post(
            "/ngsi-ld/v1/entityOperations/upsert",
            json=[{**first, "id": "batch-3"}, {**first, "id": "bad", "pm25": -1}, parking],
            headers=auth(key),
        )
    assert mixed.status_code == 207
    body = mixed.json()
    assert body["success"] == ["batch-3"]
    assert [e["entityId"] for e in body["errors"]] == ["bad", parking["id"]]
    assert "ParkingSpot" in body["errors"][1]["error"]["detail"]  # not this resource's type
    assert body["errors"][0]["error"]["type"].endswith("/BadRequestData")


def test_notifications(sensors: SensorSite) -> None:
    spot = example("ParkingSpot", "example.jsonld")
    note = {"id": "urn:ngsi-ld:Notification:7", "type": "Notification",
            "subscriptionId": "urn:ngsi-ld:Subscription:1",
            "notifiedAt": "2025-06-01T00:00:00Z", "data": [spot]}  # fmt: skip
    with sensors.site.client() as c:
        ok = c.post("/ngsi-ld/v1/notify", json=note, headers=auth(sensors.keys["parking"]))
        assert ok.status_code == 204
        wrong = c.post("/ngsi-ld/v1/notify", json=[spot], headers=auth(sensors.keys["parking"]))
    assert wrong.status_code == 400


@pytest.mark.parametrize(
    ("key", "status"),
    [(None, 401), ("clk_unknown", 401), ("revoked", 401), ("aq_read", 403)],
)
def test_keys_that_may_not_write(sensors: SensorSite, key: str | None, status: int) -> None:
    headers = dict(LD)
    if key is not None:
        headers["Authorization"] = f"Bearer {sensors.keys.get(key, key)}"
    with sensors.site.client() as c:
        answer = c.post(
            "/ngsi-ld/v1/entityOperations/upsert",
            json=[example("AirQualityObserved", "example.json")],
            headers=headers,
        )
    assert answer.status_code == status
    assert answer.json()["detail"]
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_another_tenant_is_forbidden(sensors: SensorSite) -> None:
    headers = auth(sensors.keys["aq"], **{"NGSILD-Tenant": sensors.site.other_city})
    own = auth(sensors.keys["aq"], **{"NGSILD-Tenant": sensors.unit})
    entity = example("AirQualityObserved", "example.json")
    with sensors.site.client() as c:
        assert c.post("/ngsi-ld/v1/entities", json=entity, headers=headers).status_code == 403
        assert c.post("/ngsi-ld/v1/entities", json=entity, headers=own).status_code == 201


def test_bodies_that_are_not_accepted(sensors: SensorSite) -> None:
    key = sensors.keys["aq"]
    with sensors.site.client() as c:
        huge = c.post("/ngsi-ld/v1/entityOperations/upsert", content=b"[" + b" " * (9 << 20) + b"]",
                      headers=auth(key))  # fmt: skip
        assert huge.status_code == 413
        assert c.post("/ngsi-ld/v1/entities", content=b"{nope",
                      headers=auth(key)).status_code == 400  # fmt: skip
        csv = c.post("/ngsi-ld/v1/entities", content=b"a,b",
                     headers={**auth(key), "Content-Type": "text/csv"})  # fmt: skip
    assert csv.status_code == 400 and "text/csv" in csv.json()["detail"]


def test_latest_state_and_temporal_queries(sensors: SensorSite) -> None:
    station = f"urn:ngsi-ld:AirQualityObserved:{sensors.unit}-AQ01"
    with sensors.site.client() as c:
        listed = c.get("/ngsi-ld/v1/entities?type=AirQualityObserved&options=keyValues&limit=50",
                       headers=auth(sensors.keys["aq_read"]))  # fmt: skip
        assert listed.status_code == 200
        found = {e["id"]: e for e in listed.json()}
        assert station in found and isinstance(found[station]["pm25"], float)
        normal = c.get("/ngsi-ld/v1/entities?limit=1", headers=auth(sensors.keys["aq_read"]))
        assert normal.json()[0]["location"]["type"] == "GeoProperty"
        parking_key = c.get("/ngsi-ld/v1/entities", headers=auth(sensors.keys["parking"]))
        assert station not in {e["id"] for e in parking_key.json()}  # key X never reads Y
        url = (
            f"/ngsi-ld/v1/temporal/entities/{station}?attrs=pm25,airQualityLevel"
            "&timerel=between&timeAt=2025-05-31T00:00:00Z&endTimeAt=2025-05-31T05:00:00Z"
        )
        temporal = c.get(url, headers=auth(sensors.keys["aq_read"]))
        values = c.get(url + "&options=temporalValues", headers=auth(sensors.keys["aq_read"]))
        hidden = c.get(url, headers=auth(sensors.keys["parking"]))
        bad_time = c.get(url.replace("2025-05-31T00", "yesterday"),
                         headers=auth(sensors.keys["aq_read"]))  # fmt: skip
    assert temporal.status_code == 200
    instances = temporal.json()["pm25"]
    assert len(instances) == 6 and instances[0]["observedAt"] == "2025-05-31T00:00:00Z"
    assert isinstance(temporal.json()["airQualityLevel"][0]["value"], str)
    assert len(values.json()["pm25"]["values"]) == 6
    assert hidden.status_code == 404
    assert bad_time.status_code == 400


def test_every_access_is_logged(sensors: SensorSite) -> None:
    with sensors.site.db.reader() as s:
        operations = set(s.scalars(select(AccessEntry.operation)))
    assert {"ngsi_upsert", "ngsi_query", "ngsi_temporal"} <= operations


def test_sensors_page_and_api(sensors: SensorSite) -> None:
    with sensors.site.client("officer") as officer:
        page = officer.get(f"/sensors?unit={sensors.unit}&type=AirQualityObserved")
        data = officer.get("/api/sensors?type=ParkingSpot").json()
    assert page.status_code == 200
    assert 'data-chart="sensorSeries"' in page.text and "AQ01" in page.text
    assert data["unit"] == sensors.unit and data["entity_type"] == "ParkingSpot"
    assert {t["type"] for t in data["types"]} >= {"AirQualityObserved", "ParkingSpot"}
    assert data["series"]["points"]
    with sensors.site.client("outsider") as outsider:
        assert outsider.get(f"/sensors?unit={sensors.unit}").status_code == 403


def upload(client: TestClient, resource: int, payload: bytes, name: str = "p.json") -> Any:
    form = {"csrf_token": csrf_of(client, "/sensors"), "resource": str(resource)}
    files = {"payload": (name, payload, "application/json")}
    return client.post("/sensors/upload", data=form, files=files)


def test_upload_by_the_owning_department_only(sensors: SensorSite) -> None:
    spot = example("ParkingSpot", "example.json")
    payload = json.dumps([{**spot, "id": "web-spot"}, {**spot, "id": "web-bad", "status": "?"}])
    with sensors.site.client("officer") as officer:  # the transport bureau's officer
        shown = upload(officer, sensors.resources["ParkingSpot"], payload.encode())
        other = upload(officer, sensors.resources["AirQualityObserved"], payload.encode())
    assert shown.status_code == 200
    assert "web-bad" in shown.text and "$.status" in shown.text
    assert sensors.site.db.sensors.entity(sensors.unit, "web-spot") is not None
    assert other.status_code == 403  # air quality belongs to the environment bureau


def test_sensors_page_in_the_browser(sensors: SensorSite, browser: Any) -> None:
    from tests.web.conftest import SCREENSHOTS, browser_sign_in, serve

    if sensors.site.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser check runs once, on SQLite; the page is the same")
    for server in serve(sensors.site.app):
        page = browser_sign_in(browser, server, "officer")
        page.goto(f"{server}/sensors?unit={sensors.unit}&type=AirQualityObserved")
        page.wait_for_selector("#sensor-series[data-rendered='true'] svg")
        assert page.locator("[data-testid=sensor-types] tbody tr").count() == 5
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "sensors.png"), full_page=True)
        page.close()
