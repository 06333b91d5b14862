"""NGSI-LD payloads of Smart Data Models entities: read any form a client sends, normalise each
entity to key-values, validate it, and extract its time-series observations.

Pure: bytes in, dataclasses and a DataFrame out. Each bad entity is refused on its own with a
reason; the good ones in the same payload go through.

Forms read: one entity, an array (batch create/upsert) or a notification
(``{"type": "Notification", "data": [...]}``); each entity normalized (NGSI-LD ``Property`` /
``GeoProperty`` / ``Relationship``, or NGSI-v2 ``{"type": "Number", "value": ...}``) or
key-values, with or without ``@context`` (never fetched). When an observation happened:

1. the attribute's own ``observedAt`` (NGSI-v2: its ``metadata.timestamp``), else
2. the entity's ``dateObserved``, else its ``dateModified``, else
3. the time the payload was received.

A date-time without a UTC offset is read as UTC; a ``start/end`` interval counts as its start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from cityloop.datahub.ngsild_schema import SUPPORTED_TYPES, check_entity
from cityloop.errors import InputError
from cityloop.i18n import t

MEDIA_TYPES = ("application/json", "application/ld+json")
ATTRIBUTE_TYPES = ("Property", "Relationship", "GeoProperty", "LanguageProperty")
NOT_ATTRIBUTES = frozenset({"id", "type", "@context", "scope", "createdAt", "modifiedAt"})
# State attributes kept as text observations (numbers are kept anyway): what a spot, a lamp or
# a container reports about itself.
STATE_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "AirQualityObserved": ("airQualityLevel",),
    "ParkingSpot": ("status",),
    "Streetlight": ("status", "powerState"),
    "TrafficFlowObserved": ("congested",),
    "WasteContainer": ("status",),
}
ENTITY_TIMES = ("dateObserved", "dateModified")
MAX_ID = 300  # sensor_entities.entity_id
MAX_ATTRIBUTE = 64  # observations.attribute
MAX_TEXT = 200  # observations.text
OBSERVATION_COLUMNS = ("entity_id", "attribute", "observed_at", "value", "text")


class PayloadForm(StrEnum):
    """What an endpoint expects: one entity, a batch (array), a notification, or any of them."""

    ENTITY = "entity"
    BATCH = "batch"
    NOTIFICATION = "notification"
    ANY = "any"


@dataclass(frozen=True)
class Refusal:
    """One entity refused: its position in the payload (0-based), its id if it had one, the JSON
    path of the fault and a catalogue key with its values."""

    index: int
    entity_id: str | None
    path: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def reason(self, lang: str | None = None) -> str:
        """What is wrong, without saying which entity."""
        return t(
            "sensors.refusal.reason", lang, path=self.path, what=t(self.key, lang, **self.params)
        )

    def render(self, lang: str | None = None) -> str:
        """The whole refusal in one line: which entity, where, and what was expected."""
        return t(
            "sensors.refusal.line", lang, number=self.index + 1,
            entity=self.entity_id or "—", reason=self.reason(lang),
        )  # fmt: skip


@dataclass(frozen=True)
class EntityState:
    """An accepted entity: id, type, its key-values (the latest state) and a point for maps."""

    index: int
    entity_id: str
    entity_type: str
    key_values: dict[str, Any]
    longitude: float | None
    latitude: float | None


@dataclass(frozen=True)
class ParsedPayload:
    """What a payload holds: accepted entities, their observations (``OBSERVATION_COLUMNS``,
    ``observed_at`` as Unix seconds) and the refused entities."""

    entities: list[EntityState]
    observations: pd.DataFrame
    refusals: list[Refusal]


# -- reading the body ------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_entities(body: bytes, content_type: str | None, form: PayloadForm) -> list[Any]:
    """The entities of a payload, as parsed JSON values (not yet checked one by one).

    Raises ``InputError`` when the body as a whole cannot be read: a media type other than JSON
    or JSON-LD, not UTF-8 JSON (NaN and Infinity included), or the wrong shape for ``form``.
    """
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise InputError("sensors.payload.media_type", got=media, allowed=", ".join(MEDIA_TYPES))
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # too deep for the stack too
        raise InputError("sensors.payload.not_json", detail=str(exc)) from None
    notification = isinstance(document, dict) and document.get("type") == "Notification"
    if notification and form in (PayloadForm.NOTIFICATION, PayloadForm.ANY):
        data = document.get("data")
        if not isinstance(data, list):
            raise InputError("sensors.payload.notification_data")
        return data
    if isinstance(document, list) and form in (PayloadForm.BATCH, PayloadForm.ANY):
        return document
    if isinstance(document, dict) and form in (PayloadForm.ENTITY, PayloadForm.ANY):
        return [document]
    raise InputError("sensors.payload.shape", expected=t(f"sensors.form.{form.value}"))


# -- normalized <-> key-values ---------------------------------------------------------------------


def is_attribute_object(value: Any) -> bool:
    """Whether ``value`` is a normalized attribute rather than a key-values value.

    A normalized attribute is an object with ``value`` or ``object`` (or an NGSI-LD attribute
    ``type``); GeoJSON (``{"type": "Point", ...}``) and structured values are key-values.
    """
    return isinstance(value, dict) and (
        "value" in value or "object" in value or value.get("type") in ATTRIBUTE_TYPES
    )


def plain_value(value: Any) -> Any:
    """A JSON-LD typed literal ``{"@type": "DateTime", "@value": v}`` as ``v``."""
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value


def attribute_value(attribute: Mapping[str, Any]) -> Any:
    """The key-values value of a normalized attribute; KeyError when it has none."""
    if "object" in attribute:
        return attribute["object"]
    if "value" in attribute:
        return plain_value(attribute["value"])
    if "languageMap" in attribute:
        return attribute["languageMap"]
    raise KeyError("value")


def attribute_time(attribute: Mapping[str, Any]) -> Any:
    """When a normalized attribute was observed: ``observedAt`` or NGSI-v2 ``timestamp``."""
    if "observedAt" in attribute:
        return attribute["observedAt"]
    metadata = attribute.get("metadata")
    stamp = metadata.get("timestamp") if isinstance(metadata, dict) else None
    return stamp.get("value") if isinstance(stamp, dict) else None


def to_key_values(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The key-values form of an entity in any form (what ``options=keyValues`` answers).

    ``@context`` and the attributes' sub-properties and metadata are dropped.
    """
    return {
        name: attribute_value(value) if is_attribute_object(value) else plain_value(value)
        for name, value in entity.items()
        if name != "@context"
    }


def is_geometry(value: Any) -> bool:
    """Whether ``value`` looks like GeoJSON geometry."""
    return isinstance(value, dict) and "coordinates" in value and isinstance(value.get("type"), str)


def to_normalized(
    key_values: Mapping[str, Any], observed_at: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The NGSI-LD normalized form of a key-values entity.

    GeoJSON becomes a ``GeoProperty``, a ``ref…`` attribute holding a string a ``Relationship``,
    everything else a ``Property``; ``observed_at`` adds ``observedAt`` per attribute.
    """
    times = observed_at or {}
    normal: dict[str, Any] = {}
    for name, value in key_values.items():
        if name in ("id", "type"):
            normal[name] = value
        elif is_geometry(value):
            normal[name] = {"type": "GeoProperty", "value": value}
        elif name.startswith("ref") and isinstance(value, str):
            normal[name] = {"type": "Relationship", "object": value}
        else:
            normal[name] = {"type": "Property", "value": value}
        if name in times and name not in ("id", "type"):
            normal[name]["observedAt"] = times[name]
    return normal


# -- checking one entity ---------------------------------------------------------------------------


def short_type(value: Any) -> Any:
    """An expanded type URI (``https://…/AirQualityObserved``) as its short name."""
    if isinstance(value, str) and ("/" in value or "#" in value):
        return value.replace("#", "/").rstrip("/").rsplit("/", 1)[-1]
    return value


def _check_entity(
    index: int, raw: Any, allowed_type: str | None
) -> tuple[dict[str, Any], dict[str, Any]] | Refusal:
    """(key-values, attribute times) of a well-formed entity, or why it is refused."""
    if not isinstance(raw, dict):
        return Refusal(index, None, "$", "sensors.refused.not_object")
    entity_id = raw.get("id")
    if not isinstance(entity_id, str) or not entity_id:
        return Refusal(index, None, "$.id", "sensors.refused.no_id")
    if len(entity_id) > MAX_ID:
        return Refusal(
            index, entity_id[:40], "$.id", "sensors.refused.id_too_long", {"limit": MAX_ID}
        )
    entity_type = short_type(raw.get("type"))
    if not isinstance(entity_type, str) or not entity_type:
        return Refusal(index, entity_id, "$.type", "sensors.refused.no_type")
    if entity_type not in SUPPORTED_TYPES:
        known = {"type": entity_type, "supported": ", ".join(SUPPORTED_TYPES)}
        return Refusal(index, entity_id, "$.type", "sensors.refused.unknown_type", known)
    if allowed_type is not None and entity_type != allowed_type:
        own = {"type": entity_type, "allowed": allowed_type}
        return Refusal(index, entity_id, "$.type", "sensors.refused.type_not_allowed", own)
    times: dict[str, Any] = {}
    key_values: dict[str, Any] = {}
    # One pass: the key-values form and each attribute's own time (what to_key_values and
    # attribute_time do, without walking the entity twice: this runs for every entity).
    for name, value in raw.items():
        if name in NOT_ATTRIBUTES:
            if name != "@context":
                key_values[name] = value
            continue
        if len(name) > MAX_ATTRIBUTE:
            limit = {"limit": MAX_ATTRIBUTE}
            return Refusal(
                index, entity_id, f"$.{name[:40]}", "sensors.refused.name_too_long", limit
            )
        if type(value) is not dict:  # a plain key-values value: the cheap, common case
            key_values[name] = value
        elif "value" in value and "@value" not in value:  # a Property, inlined for speed
            inner = value["value"]
            key_values[name] = plain_value(inner) if type(inner) is dict else inner
            if "observedAt" in value or "metadata" in value:
                times[name] = attribute_time(value)
        elif is_attribute_object(value):
            try:
                key_values[name] = attribute_value(value)
            except KeyError:
                return Refusal(index, entity_id, f"$.{name}", "sensors.refused.no_value")
            stamp = attribute_time(value)
            if stamp is not None:
                times[name] = stamp
        else:
            key_values[name] = plain_value(value)
    key_values["type"] = entity_type
    problem = check_entity(entity_type, key_values)
    if problem is not None:
        return Refusal(index, entity_id, problem.path, problem.key, problem.params)
    return key_values, times


def representative_point(geometry: Any) -> tuple[float | None, float | None]:
    """(longitude, latitude) of a GeoJSON geometry: a point itself, otherwise the mean vertex."""
    if not is_geometry(geometry):
        return None, None
    if geometry["type"] == "Point":  # the common case, without building an array
        return float(geometry["coordinates"][0]), float(geometry["coordinates"][1])
    flat: list[float] = []
    stack = [geometry["coordinates"]]
    while stack:  # flatten nested rings without assuming their depth
        item = stack.pop()
        if isinstance(item, list) and item and isinstance(item[0], int | float):
            flat.extend(float(x) for x in item[:2])
        elif isinstance(item, list):
            stack.extend(item)
    if not flat:
        return None, None
    lon, lat = np.asarray(flat, dtype=float).reshape(-1, 2).mean(axis=0)
    return float(lon), float(lat)


# -- the whole payload -----------------------------------------------------------------------------


def parse_entities(
    raw_entities: Sequence[Any], *, received_at: datetime, allowed_type: str | None = None
) -> ParsedPayload:
    """Check every entity, keep the good ones and extract their observations.

    Parameters
    ----------
    raw_entities : sequence
        Parsed JSON entities (``read_entities``), in payload order.
    received_at : datetime
        When the payload arrived (timezone-aware): the time of observations that name none.
    allowed_type : str, optional
        The only entity type accepted (an ingest key's resource holds one type).

    Returns
    -------
    ParsedPayload
        Accepted entities, their observations and the refusals, each in payload order.
    """
    refusals: list[Refusal] = []
    checked: list[tuple[int, str, str, dict[str, Any], dict[str, Any]]] = []
    for index, raw in enumerate(raw_entities):
        outcome = _check_entity(index, raw, allowed_type)
        if isinstance(outcome, Refusal):
            refusals.append(outcome)
        else:
            kv, times = outcome
            checked.append((index, kv["id"], kv["type"], kv, times))
    frame = _observations(checked, received_at)
    bad_time = frame["observed_at"].isna()
    for position in pd.unique(frame.loc[bad_time, "position"]):
        index, entity_id = checked[position][0], checked[position][1]
        attribute = frame.loc[bad_time & (frame["position"] == position), "source"].iloc[0]
        refusals.append(Refusal(index, entity_id, f"$.{attribute}", "sensors.refused.bad_date"))
    rejected = set(pd.unique(frame.loc[bad_time, "position"]).tolist())
    frame = frame[~frame["position"].isin(rejected)]
    entities = [
        EntityState(index, entity_id, kind, kv, *representative_point(kv.get("location")))
        for position, (index, entity_id, kind, kv, _) in enumerate(checked)
        if position not in rejected
    ]
    observations = (
        frame.assign(observed_at=frame["observed_at"].astype("int64"))
        .drop_duplicates(["entity_id", "attribute", "observed_at"], keep="last")
        .loc[:, list(OBSERVATION_COLUMNS)]
        .reset_index(drop=True)
    )
    return ParsedPayload(entities, observations, sorted(refusals, key=lambda r: r.index))


def _observations(
    checked: Sequence[tuple[int, str, str, dict[str, Any], dict[str, Any]]], received_at: datetime
) -> pd.DataFrame:
    """Every numeric and state attribute of the checked entities, one row each, with the time
    string it was observed at parsed to Unix seconds (NaN where a string is not a date)."""
    positions: list[int] = []
    ids: list[str] = []
    names: list[str] = []
    values: list[float] = []
    texts: list[str | None] = []
    stamps_given: list[Any] = []
    entity_times: list[Any] = []
    time_names: list[str] = []
    nan = math.nan
    for position, (_, entity_id, kind, kv, times) in enumerate(checked):
        named = next((k for k in ENTITY_TIMES if kv.get(k) is not None), ENTITY_TIMES[0])
        entity_times.append(kv.get(named))
        time_names.append(named)
        states = STATE_ATTRIBUTES.get(kind, ())
        for name, value in kv.items():
            if type(value) is float or type(value) is int:  # exactly numbers: bool is an int
                if not math.isfinite(value) or name in NOT_ATTRIBUTES:
                    continue
                values.append(float(value))
                texts.append(None)
            elif name in states and isinstance(value, str | bool):
                values.append(nan)
                texts.append(str(value).lower() if isinstance(value, bool) else value[:MAX_TEXT])
            else:
                continue
            positions.append(position)
            ids.append(entity_id)
            names.append(name)
            stamps_given.append(times.get(name))
    frame = pd.DataFrame(
        {
            "position": positions,
            "entity_id": ids,
            "attribute": names,
            "value": values,
            "text": texts,
            "stamp": stamps_given,
        }
    )
    own = frame["stamp"].notna().to_numpy()
    at = frame["position"].to_numpy(dtype=np.int64)
    fallback = np.asarray([*entity_times, None], dtype=object)[at]
    fallback_name = np.asarray([*time_names, ""], dtype=object)[at]
    frame["source"] = np.where(
        own, frame["attribute"].astype(object) + ".observedAt", fallback_name
    )
    stamps = np.where(own, frame["stamp"].to_numpy(dtype=object), fallback)
    frame["observed_at"] = unix_seconds(stamps, received_at)
    return frame


NOT_A_DATE = "not a date"  # what a number or an object in a date's place is parsed as


def unix_seconds(stamps: Sequence[Any] | np.ndarray, default: datetime) -> np.ndarray:
    """ISO 8601 strings (None: ``default``) as Unix seconds; NaN where one is not a date.

    A ``start/end`` interval counts as its start; a time without an offset is UTC. Each
    distinct string is parsed once (a batch repeats a few time stamps many times).
    """
    keys = [s.split("/", 1)[0] if isinstance(s, str) else (s if s is None else NOT_A_DATE)
            for s in stamps]  # fmt: skip
    codes, distinct = pd.factorize(pd.Series(keys, dtype=object))
    parsed = pd.to_datetime(pd.Series(distinct, dtype=object), utc=True, format="ISO8601",
                            errors="coerce")  # fmt: skip
    seconds = ((parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(float)
    values = np.append(seconds, float(int(default.timestamp())))  # code -1: no time given
    return values[codes]
