"""NGSI-LD payload reading: bad entities refused one by one with a reason while the good ones in
the same batch go through; whole-payload refusals; normalized ↔ key-values round trip."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityloop.datahub.ngsild import (
    PayloadForm,
    parse_entities,
    read_entities,
    to_key_values,
    to_normalized,
    unix_seconds,
)
from cityloop.errors import InputError

EXAMPLES = Path(__file__).parent.parent / "data" / "smartdatamodels"
RECEIVED = datetime(2025, 1, 1, tzinfo=UTC)


def good() -> dict[str, Any]:
    entity: dict[str, Any] = json.loads(
        (EXAMPLES / "AirQualityObserved" / "example.jsonld").read_bytes()
    )
    return entity


def with_(changes: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    entity = {**copy.deepcopy(good()), **changes}
    for name in drop:
        del entity[name]
    return entity


BAD = [
    ("wrong value type", with_({"id": "e1", "no2": "high"}), "$.no2", "sensors.schema.type"),
    ("missing id", with_({}, drop=("id",)), "$.id", "sensors.refused.no_id"),
    ("missing type", with_({"id": "e3"}, drop=("type",)), "$.type", "sensors.refused.no_type"),
    ("bad date", with_({"id": "e4", "dateObserved": "yesterday"}), "$.dateObserved",
     "sensors.schema.format"),
    ("bad observedAt", with_({"id": "e5", "no2": {"type": "Property", "value": 3,
     "observedAt": "2025-13-45T99:00:00Z"}}), "$.no2.observedAt", "sensors.refused.bad_date"),
    ("unknown type", with_({"id": "e6", "type": "Beehive"}), "$.type",
     "sensors.refused.unknown_type"),
    ("bad GeoJSON", with_({"id": "e7", "location": {"type": "Point", "coordinates": "here"}}),
     "$.location", "sensors.schema.geojson"),
    ("not an object", ["a list"], "$", "sensors.refused.not_object"),
    ("property without value", with_({"id": "e9", "no2": {"type": "Property"}}), "$.no2",
     "sensors.refused.no_value"),
    ("below minimum", with_({"id": "e10", "pm25": -3}), "$.pm25", "sensors.schema.min"),
]  # fmt: skip


def test_bad_entities_are_refused_one_by_one_and_the_good_ones_kept() -> None:
    batch = [good()] + [entity for _, entity, _, _ in BAD] + [with_({"id": "last"})]
    parsed = parse_entities(
        read_entities(json.dumps(batch).encode(), None, PayloadForm.BATCH), received_at=RECEIVED
    )
    assert [e.index for e in parsed.entities] == [0, len(batch) - 1]
    assert [(r.index, r.path, r.key) for r in parsed.refusals] == [
        (i + 1, path, key) for i, (_, _, path, key) in enumerate(BAD)
    ]
    assert set(parsed.observations["entity_id"]) == {good()["id"], "last"}
    for refusal in parsed.refusals:  # each reason names the entity, the place and the rule
        line = refusal.render("en")
        assert f"Entity {refusal.index + 1} " in line and refusal.path in line


def test_unknown_type_lists_the_supported_ones() -> None:
    parsed = parse_entities([with_({"type": "Beehive"})], received_at=RECEIVED)
    assert "ParkingSpot" in parsed.refusals[0].render("en")


def test_a_type_other_than_the_resources_is_refused() -> None:
    parsed = parse_entities([good()], received_at=RECEIVED, allowed_type="ParkingSpot")
    assert parsed.refusals[0].key == "sensors.refused.type_not_allowed"
    assert parsed.entities == []


@pytest.mark.parametrize(
    ("raw", "kind", "form", "key"),
    [
        (b"not json", None, PayloadForm.ANY, "sensors.payload.not_json"),
        (b'{"id": 1, "v": NaN}', None, PayloadForm.ANY, "sensors.payload.not_json"),
        (b"\xff\xfe", None, PayloadForm.ANY, "sensors.payload.not_json"),
        (b"{}", "text/csv", PayloadForm.ANY, "sensors.payload.media_type"),
        (b"[]", None, PayloadForm.ENTITY, "sensors.payload.shape"),
        (b"{}", None, PayloadForm.BATCH, "sensors.payload.shape"),
        (b'{"type": "Notification", "data": 3}', None, PayloadForm.NOTIFICATION,
         "sensors.payload.notification_data"),
    ],
)  # fmt: skip
def test_unreadable_payloads_are_refused_whole(
    raw: bytes, kind: str | None, form: PayloadForm, key: str
) -> None:
    with pytest.raises(InputError) as refused:
        read_entities(raw, kind, form)
    assert refused.value.key == key


def test_time_rules() -> None:
    stamps = ["2016-03-15T11:00:00/2016-03-15T12:00:00", "2021-01-11T15:51:02+05:30", None, 7,
              "2018-09-21T12:00:00Z", "nonsense"]  # fmt: skip
    seconds = unix_seconds(stamps, RECEIVED)
    assert seconds[0] == 1458039600  # an interval counts as its start; no offset: UTC
    assert seconds[1] == 1610360462  # the offset is honoured
    assert seconds[2] == RECEIVED.timestamp()  # none given: when the payload arrived
    assert seconds[4] == 1537531200
    assert [s != s for s in seconds] == [False, False, False, True, False, True]  # NaN


def test_a_repeated_entity_keeps_each_time_once() -> None:
    first = with_({"dateObserved": "2025-01-01T00:00:00Z"})
    later = with_({"dateObserved": "2025-01-01T01:00:00Z", "no2": 70})
    parsed = parse_entities([first, later, later], received_at=RECEIVED)
    no2 = parsed.observations[parsed.observations["attribute"] == "no2"]
    assert no2["value"].tolist() == [69.0, 70.0]


# -- normalized ↔ key-values ----------------------------------------------------------------------

names = st.from_regex(r"[a-z][A-Za-z0-9]{0,20}", fullmatch=True).filter(
    lambda n: n not in ("id", "type") and not n.startswith("ref")
)
leaf = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.booleans(),
)
# Values a key-values client sends; objects never carry "value", "object" or "@value" keys,
# which would make them look like normalized attributes (the forms cannot be told apart then).
plain = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["a", "b", "unit", "level"]), inner, max_size=3),
    ),
    max_leaves=8,
)
point = st.tuples(st.floats(-180, 180), st.floats(-90, 90)).map(
    lambda c: {"type": "Point", "coordinates": list(c)}
)


@st.composite
def key_values_entities(draw: st.DrawFn) -> dict[str, Any]:
    entity = {"id": draw(st.text(min_size=1, max_size=30)), "type": "AirQualityObserved"}
    entity.update(draw(st.dictionaries(names, plain, max_size=6)))
    entity["location"] = draw(point)
    if draw(st.booleans()):
        entity["refDevice"] = "urn:ngsi-ld:Device:" + draw(st.text(min_size=1, max_size=8))
    return entity


@given(key_values_entities())
def test_key_values_survive_normalizing(entity: dict[str, Any]) -> None:
    assert to_key_values(to_normalized(entity)) == entity


@given(key_values_entities())
def test_normalized_survives_simplifying(entity: dict[str, Any]) -> None:
    normal = to_normalized(entity)
    assert to_normalized(to_key_values(normal)) == normal
