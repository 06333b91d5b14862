"""The vendored Smart Data Models JSON Schemas: compile one validator per entity type, resolve
their ``$ref`` to the files shipped in ``smartdatamodels/`` and explain a failure in words.

Nothing is fetched: a ``$ref`` to any other address is a packaging bug and fails loudly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urldefrag

import fastjsonschema
from fastjsonschema import JsonSchemaValueException

SCHEMA_FOLDER = "smartdatamodels"
SUPPORTED_TYPES = (
    "AirQualityObserved",
    "ParkingSpot",
    "Streetlight",
    "TrafficFlowObserved",
    "WasteContainer",
)
# The addresses the published schemas $ref, and the vendored file each one is.
VENDORED = {
    "https://smart-data-models.github.io/data-models/common-schema.json": "common-schema.json",
    "https://fiware.github.io/dataModels/common-schema.json": "common-schema.json",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/"
    "Environment-schema.json": "Environment-schema.json",
    "https://smart-data-models.github.io/dataModel.Environment/Environment-schema.json": (
        "Environment-schema.json"
    ),
}
# ISO 8601 date-time as the published examples write it: the UTC offset may be missing (read
# as UTC) and a value may be a ``start/end`` interval (Madrid and Valladolid publish those).
_INSTANT = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|z|[+-]\d{2}:?\d{2})?"
DATE_TIME = re.compile(rf"^{_INSTANT}(?:/{_INSTANT})?$")
PATH_PART = re.compile(r"^data")


@dataclass(frozen=True)
class SchemaProblem:
    """Why an entity breaks its schema: where (a JSON path), a catalogue key and its values."""

    path: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


def schema_document(name: str) -> dict[str, Any]:
    """A vendored schema file by name, parsed."""
    text = resources.files("cityloop.datahub").joinpath(SCHEMA_FOLDER, name).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _vendored(uri: str) -> dict[str, Any]:
    address, _ = urldefrag(uri)
    if address not in VENDORED:
        raise LookupError(f"schema $ref {uri} is not vendored in cityloop/datahub/{SCHEMA_FOLDER}")
    document = schema_document(VENDORED[address])
    location = document.get("definitions", {}).get("Location-Commons", {}).get("properties", {})
    if "location" in location:
        # The six geometries differ in their "type" enum, so at most one can match: "anyOf"
        # accepts exactly what "oneOf" does, and stops at the first match instead of trying
        # all six (the oneOf was most of the validation time of an entity).
        location["location"] = {"anyOf": location["location"].pop("oneOf")}
    return document


def _is_date_time(value: Any) -> bool:
    return not isinstance(value, str) or DATE_TIME.match(value) is not None


@cache
def validator(entity_type: str) -> Callable[[Any], Any]:
    """The compiled validator of a supported type (compiled once per process, then cached).

    Raises ``KeyError`` for a type that is not in ``SUPPORTED_TYPES``.
    """
    if entity_type not in SUPPORTED_TYPES:
        raise KeyError(entity_type)
    definition = schema_document(f"{entity_type}.schema.json")
    return fastjsonschema.compile(
        definition,
        handlers={"https": _vendored, "http": _vendored},
        formats={"date-time": _is_date_time},
    )


def check_entity(entity_type: str, key_values: dict[str, Any]) -> SchemaProblem | None:
    """The first way ``key_values`` breaks the schema of ``entity_type``; None when it is valid."""
    try:
        validator(entity_type)(key_values)
    except JsonSchemaValueException as failure:
        return explain(failure)
    return None


def json_path(name: str) -> str:
    """fastjsonschema's ``data.status[0]`` as the JSON path ``$.status[0]``."""
    return PATH_PART.sub("$", name, count=1)


def explain(failure: JsonSchemaValueException) -> SchemaProblem:
    """A schema failure as a translatable problem: the rule broken, at which path, how."""
    path = json_path(failure.name or "data")
    rule, expected, value = failure.rule, failure.rule_definition, failure.value
    if rule == "type":
        wanted = expected if isinstance(expected, str) else "/".join(map(str, expected))
        return SchemaProblem(
            path, "sensors.schema.type", {"expected": wanted, "got": json_type(value)}
        )
    if rule == "enum":
        allowed = ", ".join(map(str, expected))
        return SchemaProblem(path, "sensors.schema.enum", {"allowed": allowed, "value": value})
    if rule == "required":
        present = value if isinstance(value, dict) else {}
        missing = ", ".join(name for name in expected if name not in present)
        return SchemaProblem(path, "sensors.schema.required", {"missing": missing})
    if rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = "min" if "inimum" in rule else "max"
        return SchemaProblem(path, f"sensors.schema.{bound}", {"limit": expected, "value": value})
    if rule == "format":
        return SchemaProblem(path, "sensors.schema.format", {"format": expected, "value": value})
    if rule in ("oneOf", "anyOf") and path.endswith("location"):
        return SchemaProblem(path, "sensors.schema.geojson")
    return SchemaProblem(path, "sensors.schema.other", {"detail": failure.message})


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
