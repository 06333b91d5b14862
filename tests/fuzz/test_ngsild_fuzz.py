"""Fuzzing NGSI-LD payloads (``services.sensor_ingest.ingest`` over ``datahub.ngsild``): any body
stores its good entities and names each refused one, or is refused whole and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityloop.datahub.ngsild import PayloadForm
from cityloop.services.sensor_ingest import IngestOutcome, ingest
from tests.fuzz.conftest import FUZZ, Guard
from tests.fuzz.inputs import awkward_text, damaged
from tests.fuzz.world import World

EXAMPLES = Path(__file__).parent.parent / "data" / "smartdatamodels" / "AirQualityObserved"
MEDIA = ("application/json", "application/ld+json", "application/json; charset=utf-8", None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | awkward_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(awkward_text, inner, max_size=4),
    max_leaves=20,
)


@st.composite
def entity(draw: st.DrawFn, world: World) -> dict[str, Any]:
    """An entity of the resource's type with the example's shape and random attributes."""
    base: dict[str, Any] = json.loads((EXAMPLES / "example-normalized.json").read_text("utf-8"))
    base["type"] = draw(st.sampled_from([world.sensor_type, "Other", ""]))
    base["id"] = draw(st.one_of(st.just(f"urn:ngsi-ld:{world.sensor_type}:fuzz-1"), awkward_text))
    for key in draw(st.lists(st.sampled_from(sorted(base)), max_size=3)):
        base[key] = draw(json_values)
    return base


def send(world: World, body: bytes, media: str | None, form: PayloadForm) -> IngestOutcome:
    return ingest(world.db, body, media, unit=world.unit, resource_id=world.sensor_resource,
                  actor="fuzz", form=form)  # fmt: skip


@FUZZ
@given(st.data())
def test_any_body_is_stored_in_part_or_refused_whole(
    guard: Guard, world: World, data: st.DataObject
) -> None:
    document = data.draw(
        st.one_of(
            json_values,
            entity(world),
            st.lists(entity(world), max_size=4),
            st.builds(
                lambda d: {"type": "Notification", "data": d}, st.lists(entity(world), max_size=3)
            ),
        )
    )
    body = json.dumps(document, ensure_ascii=data.draw(st.booleans())).encode()
    form = data.draw(st.sampled_from(list(PayloadForm)))
    outcome = guard.attempt(lambda: send(world, body, data.draw(st.sampled_from(MEDIA)), form))
    if outcome is not None:
        sent = document if isinstance(document, list) else document.get("data", [document])
        assert len(outcome.accepted) + len(outcome.refusals) <= max(len(sent), 1)


@FUZZ
@given(st.data())
def test_damaged_or_random_bodies_are_refused_clearly(
    guard: Guard, world: World, data: st.DataObject
) -> None:
    valid = (EXAMPLES / "example-normalized.json").read_bytes()
    body = data.draw(st.one_of(st.binary(max_size=500), damaged(valid)))
    guard.attempt(lambda: send(world, body, "application/json", PayloadForm.ANY))


@pytest.mark.parametrize("depth", [5000, 100_000])
def test_deeply_nested_json_is_refused(full_guard: Guard, world: World, depth: int) -> None:
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        refused = full_guard.attempt(lambda: send(world, body.encode(), None, PayloadForm.ANY))  # noqa: B023
        assert refused is None
