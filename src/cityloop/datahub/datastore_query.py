"""A read of one resource's data as CKAN's ``datastore_search`` asks for it: parse and check the
filters, full-text ``q``, sort, fields and paging, and apply them to a table of rows. Pure.

Refusals name the parameter and what was expected; a query is checked whole before it runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cityloop.errors import InputError, Location, Problem

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000  # CKAN's own ceiling is 32,000; a page this size is already a few MB of JSON
ROW_ID = "_id"  # CKAN numbers datastore rows from 1 in this column

# Our field types (catalogue 信息项) → CKAN datastore types (PostgreSQL names, as CKAN reports).
CKAN_TYPES = {
    "int": "int", "integer": "int",
    "float": "numeric", "number": "numeric", "numeric": "numeric", "decimal": "numeric",
    "date": "date", "datetime": "timestamp", "timestamp": "timestamp",
    "bool": "bool", "boolean": "bool",
}  # fmt: skip
NUMERIC = frozenset({"int", "numeric"})


def ckan_type(type_name: str) -> str:
    """The CKAN datastore type of a catalogue field type; anything unknown is ``text``."""
    return CKAN_TYPES.get(type_name.strip().lower(), "text")


@dataclass(frozen=True)
class DataQuery:
    """A checked read: equality ``filters`` (a list means any of), ``q`` (one text for every
    field, or text per field), ``sort`` as (field, descending), ``fields`` to return."""

    filters: dict[str, list[Any]] = field(default_factory=dict)
    q: str | dict[str, str] | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)
    fields: list[str] | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _problem(parameter: str, key: str, **params: Any) -> Problem:
    return Problem(key, params, Location(column=parameter))


def _json_or_value(raw: Any) -> Any:
    """A GET query string carries JSON for objects and lists; a POST body carries them as is."""
    if isinstance(raw, str) and raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _as_int(raw: Any, parameter: str, low: int, high: int, problems: list[Problem]) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        problems.append(_problem(parameter, "ckan.query.integer", low=low, high=high))
        return None
    if not low <= value <= high:
        problems.append(_problem(parameter, "ckan.query.integer", low=low, high=high))
        return None
    return value


def parse_data_query(params: Mapping[str, Any], types: Mapping[str, str]) -> DataQuery:
    """Check ``datastore_search`` parameters against a resource's fields and CKAN ``types``.

    Parameters
    ----------
    params : mapping
        ``filters``, ``q``, ``sort``, ``fields``, ``limit``, ``offset`` as the client sent them
        (JSON strings in a query string, objects in a JSON body).
    types : mapping of str to str
        Field name → CKAN type, in the resource's order (``_id`` included).

    Returns
    -------
    DataQuery
        The checked query.

    Raises
    ------
    InputError
        ``ckan.query.refused`` with one problem per faulty parameter.
    """
    problems: list[Problem] = []
    filters: dict[str, list[Any]] = {}
    raw_filters = _json_or_value(params.get("filters") or {})
    if not isinstance(raw_filters, Mapping):
        problems.append(_problem("filters", "ckan.query.filters_object"))
    else:
        for name, value in raw_filters.items():
            if name not in types:
                problems.append(_problem("filters", "ckan.query.unknown_field", field=name))
                continue
            values = list(value) if isinstance(value, list) else [value]
            if types[name] in NUMERIC:
                numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
                if numbers.isna().any():
                    problems.append(_problem("filters", "ckan.query.number", field=name))
                    continue
                values = numbers.astype(float).tolist()
            filters[str(name)] = values
    q = _json_or_value(params.get("q"))
    if isinstance(q, Mapping):
        unknown = [k for k in q if k not in types]
        problems.extend(_problem("q", "ckan.query.unknown_field", field=k) for k in unknown)
        q = {str(k): str(v) for k, v in q.items() if k in types}
    elif q is not None:
        q = str(q).strip() or None
    sort = _parse_sort(params.get("sort"), types, problems)
    fields = _parse_fields(params.get("fields"), types, problems)
    limit = _as_int(params.get("limit", DEFAULT_LIMIT), "limit", 0, MAX_LIMIT, problems)
    offset = _as_int(params.get("offset", 0), "offset", 0, 2**31, problems)
    if problems:
        raise InputError("ckan.query.refused", problems)
    return DataQuery(filters, q, sort, fields, limit or 0, offset or 0)


def _parse_sort(
    raw: Any, types: Mapping[str, str], problems: list[Problem]
) -> list[tuple[str, bool]]:
    """``"a, b desc"`` (or a list of such terms) → [(a, False), (b, True)]."""
    if raw is None or raw == "":
        return []
    raw = _json_or_value(raw)
    terms = raw if isinstance(raw, list) else str(raw).split(",")
    sort: list[tuple[str, bool]] = []
    for term in terms:
        words = str(term).split()
        if not words:
            continue
        name, direction = words[0].strip('"'), (words[1].lower() if len(words) > 1 else "asc")
        if name not in types or direction not in ("asc", "desc") or len(words) > 2:
            problems.append(_problem("sort", "ckan.query.sort", term=str(term).strip()))
            continue
        sort.append((name, direction == "desc"))
    return sort


def _parse_fields(raw: Any, types: Mapping[str, str], problems: list[Problem]) -> list[str] | None:
    if raw is None or raw == "":
        return None
    raw = _json_or_value(raw)
    names = [str(n).strip() for n in (raw if isinstance(raw, list) else str(raw).split(","))]
    unknown = [n for n in names if n not in types]
    problems.extend(_problem("fields", "ckan.query.unknown_field", field=n) for n in unknown)
    return [n for n in names if n in types] or None


def apply_query(
    rows: pd.DataFrame, query: DataQuery, types: Mapping[str, str]
) -> tuple[pd.DataFrame, int]:
    """One page of ``rows`` (a resource's table, one column per field) and the matching total.

    Filters compare numbers as numbers and everything else as text; ``q`` matches a
    case-insensitive substring of any field (or of the named fields). All whole-column
    operations: a page of a 100,000-row resource costs a few column scans.
    """
    keep = np.ones(len(rows), dtype=bool)
    for name, values in query.filters.items():
        column = rows[name] if name in rows else pd.Series([None] * len(rows), index=rows.index)
        if types.get(name) in NUMERIC:
            keep &= pd.to_numeric(column, errors="coerce").isin(values).to_numpy()
        else:
            keep &= column.astype(str).isin([str(v) for v in values]).to_numpy()
    if isinstance(query.q, str):
        hits = np.zeros(len(rows), dtype=bool)
        for name in rows.columns:  # one vector scan per field: fields are few, rows many
            hits |= _contains(rows[name], query.q)
        keep &= hits
    elif isinstance(query.q, dict):
        for name, needle in query.q.items():
            keep &= _contains(rows[name], needle) if name in rows else False
    matched = rows.loc[keep]
    if query.sort:
        names = [name for name, _ in query.sort]
        matched = matched.sort_values(
            names, ascending=[not desc for _, desc in query.sort], kind="stable",
            key=lambda col: pd.to_numeric(col, errors="coerce")
            if types.get(str(col.name)) in NUMERIC else col.astype(str),
        )  # fmt: skip
    page = matched.iloc[query.offset : query.offset + query.limit]
    return page, len(matched)


def _contains(column: pd.Series, needle: str) -> np.ndarray:
    """Case-insensitive substring test of every cell (missing cells never match)."""
    text = column.astype(object).where(column.notna(), "").astype(str).str.lower()
    return text.str.contains(needle.lower(), regex=False).to_numpy(dtype=bool)


def records_of(page: pd.DataFrame, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The page's rows as JSON-ready dicts of ``fields``, NaN as null."""
    frame = page.reindex(columns=list(fields)).astype(object)
    cells = frame.to_numpy()
    cells[frame.isna().to_numpy()] = None
    return [dict(zip(fields, row, strict=True)) for row in cells.tolist()]
