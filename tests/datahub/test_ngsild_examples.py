"""The published Smart Data Models examples (tests/data/smartdatamodels, CC BY 4.0) in every form
they come in, alone and wrapped in a notification: validated, and the observations extracted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cityloop.datahub.ngsild import PayloadForm, parse_entities, read_entities

EXAMPLES = Path(__file__).parent.parent / "data" / "smartdatamodels"
RECEIVED = datetime(2025, 1, 1, tzinfo=UTC)
MADRID = 1458039600  # 2016-03-15T11:00:00Z: the start of the published hour
VALLADOLID = 1481109000  # 2016-12-07T11:10:00Z

# (folder, file) → (observations, a few (attribute, value or text), observed at; None: received)
AQ, TF, PS, SL, WC = (
    "AirQualityObserved",
    "TrafficFlowObserved",
    "ParkingSpot",
    "Streetlight",
    "WasteContainer",
)
N, NLD, KV, KVLD = (
    "example-normalized.json",
    "example-normalized.jsonld",
    "example.json",
    ("example.jsonld"),
)
ACCEPTED = {
    (AQ, KV): (13, {"co": 500, "nox": 139, "airQualityLevel": "moderate"}, MADRID),
    (AQ, N): (18, {"no2": 69, "so2": 11, "pm4": 37}, MADRID),
    (AQ, KVLD): (14, {"no2": 69, "windDirection": 180}, MADRID),
    (TF, KV): (6, {"averageVehicleSpeed": 52.6, "intensity": 197}, VALLADOLID),
    (TF, N): (6, {"occupancy": 0.76}, VALLADOLID),
    (TF, KVLD): (6, {"averageVehicleLength": 9.87}, VALLADOLID),
    (TF, NLD): (6, {"averageHeadwayTime": 0.5}, VALLADOLID),
    (PS, KV): (1, {"status": "free"}, None),
    (PS, KVLD): (1, {"status": "free"}, 1537531200),  # the attribute's observedAt
    (PS, NLD): (1, {"status": "free"}, None),
    (SL, KV): (8, {"status": "ok", "powerState": "off", "voltage": 50}, None),
    (SL, N): (8, {"powerFactor": 0.7}, None),
    (SL, KVLD): (8, {"current": 250}, None),
    (SL, NLD): (8, {"powerConsumption": 10}, None),
    (WC, KV): (2, {"fillingLevel": 0.4, "status": "ok"}, None),
    (WC, N): (2, {"fillingLevel": 0.4}, None),
    (WC, KVLD): (5, {"binFillingLevel": 0.65}, None),
    (WC, NLD): (4, {"binMaxLoad": 75}, None),
}
# Published examples that break their own model's schema: refused with the reason.
FLAWED = {
    (AQ, NLD): ("$.windDirection", "sensors.schema.max"),  # 186 > 180
    (PS, N): ("$.category[0]", "sensors.schema.enum"),  # "onstreet" for "onStreet"
}


def body(folder: str, name: str) -> bytes:
    return (EXAMPLES / folder / name).read_bytes()


def test_every_published_example_is_covered() -> None:
    on_disk = {(p.parent.name, p.name) for p in EXAMPLES.glob("*/example*")}
    assert on_disk == set(ACCEPTED) | set(FLAWED)


@pytest.mark.parametrize("case", sorted(ACCEPTED), ids="/".join)
@pytest.mark.parametrize("wrapped", [False, True], ids=["entity", "notification"])
def test_published_examples_are_accepted_with_their_observations(
    case: tuple[str, str], wrapped: bool
) -> None:
    count, expected, observed_at = ACCEPTED[case]
    raw = body(*case)
    kind = "application/ld+json" if case[1].endswith(".jsonld") else "application/json"
    if wrapped:
        entity = json.loads(raw)
        note = {"id": "urn:ngsi-ld:Notification:1", "type": "Notification",
                "subscriptionId": "urn:ngsi-ld:Subscription:1", "data": [entity]}  # fmt: skip
        raw, form = json.dumps(note).encode(), PayloadForm.NOTIFICATION
    else:
        form = PayloadForm.ENTITY
    parsed = parse_entities(read_entities(raw, kind, form), received_at=RECEIVED)
    assert parsed.refusals == []
    (entity_state,) = parsed.entities
    assert entity_state.entity_type == case[0]
    assert len(parsed.observations) == count
    found = parsed.observations.set_index("attribute")
    for attribute, value in expected.items():
        cell = "text" if isinstance(value, str) else "value"
        assert found.at[attribute, cell] == pytest.approx(value) if cell == "value" else value
    when = observed_at if observed_at is not None else int(RECEIVED.timestamp())
    assert set(found["observed_at"]) == {when}
    assert entity_state.longitude is not None and -10 < entity_state.longitude < 0


@pytest.mark.parametrize("case", sorted(FLAWED), ids="/".join)
def test_published_examples_that_break_their_schema_are_refused_with_the_reason(
    case: tuple[str, str],
) -> None:
    parsed = parse_entities(read_entities(body(*case), None, PayloadForm.ANY), received_at=RECEIVED)
    assert parsed.entities == [] and parsed.observations.empty
    (refusal,) = parsed.refusals
    assert (refusal.path, refusal.key) == FLAWED[case]
    assert refusal.path in refusal.render("en")


def test_the_published_python_repr_is_refused_as_not_json() -> None:
    from cityloop.errors import InputError

    raw = (EXAMPLES / "TrafficFlowObserved" / "published-python-repr.jsonld").read_bytes()
    with pytest.raises(InputError) as refused:
        read_entities(raw, "application/ld+json", PayloadForm.ANY)
    assert refused.value.key == "sensors.payload.not_json"


def test_a_batch_of_all_examples_of_all_types() -> None:
    batch = [json.loads(body(*case)) for case in sorted(ACCEPTED)]
    raw = json.dumps(batch).encode()
    parsed = parse_entities(read_entities(raw, None, PayloadForm.BATCH), received_at=RECEIVED)
    assert parsed.refusals == []
    assert {e.entity_type for e in parsed.entities} == {c[0] for c in ACCEPTED}
