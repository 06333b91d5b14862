"""CKAN ``package_search`` over the open catalogue: parse ``q``, ``fq``, ``sort``, ``rows``,
``start`` and ``facet.field``, and search a table of packages with whole-column operations. Pure.

The subset Solr syntax we accept: ``q`` is words that must all occur (``*:*`` or empty: all);
``fq`` is ``field:value`` terms (``field:"two words"``, ``-field:value`` to exclude), all of
which must hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cityloop.errors import InputError, Location, Problem

DEFAULT_ROWS = 10
MAX_ROWS = 1000  # CKAN's default ckan.search.rows_max
DEFAULT_FACET_LIMIT = 50
# Fields a filter or facet may name: one column each in the search table (lists for tags and
# groups, one value for the rest).
FACET_FIELDS = (
    "organization", "groups", "tags", "res_format", "license_id", "update_frequency",
    "classification", "sharing_type", "name", "id",
)  # fmt: skip
LIST_FIELDS = frozenset({"groups", "tags", "res_format"})
SORT_FIELDS = ("name", "title", "metadata_modified", "metadata_created", "score")
FQ_TERM = re.compile(r'([+-]?)([A-Za-z_.]+):(?:"([^"]*)"|(\S+))')


@dataclass(frozen=True)
class PackageSearch:
    """A checked ``package_search``: words of ``q``, ``fq`` terms (field, value, negated),
    ``sort`` as (field, descending), the page and the facet fields."""

    words: list[str] = field(default_factory=list)
    terms: list[tuple[str, str, bool]] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)
    rows: int = DEFAULT_ROWS
    start: int = 0
    facet_fields: list[str] = field(default_factory=list)
    facet_limit: int = DEFAULT_FACET_LIMIT


def _problem(parameter: str, key: str, **params: Any) -> Problem:
    return Problem(key, params, Location(column=parameter))


def _integer(raw: Any, parameter: str, low: int, high: int, problems: list[Problem]) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = low - 1
    if not low <= value <= high:
        problems.append(_problem(parameter, "ckan.query.integer", low=low, high=high))
    return value


def parse_search(params: Mapping[str, Any]) -> PackageSearch:
    """Check ``package_search`` parameters; ``InputError`` lists every faulty one.

    Parameters
    ----------
    params : mapping
        ``q``, ``fq``, ``sort``, ``rows``, ``start``, ``facet.field`` (JSON list or list),
        ``facet.limit`` as sent.

    Returns
    -------
    PackageSearch
        The checked search.
    """
    problems: list[Problem] = []
    q = str(params.get("q") or "").strip()
    words = [] if q in ("", "*:*") else q.lower().split()
    fq = str(params.get("fq") or "").strip()
    terms: list[tuple[str, str, bool]] = []
    leftover = FQ_TERM.sub("", fq).strip()
    if leftover:
        problems.append(_problem("fq", "ckan.query.fq", term=leftover))
    for sign, name, quoted, bare in FQ_TERM.findall(fq):
        if name not in FACET_FIELDS:
            problems.append(_problem("fq", "ckan.query.search_field", field=name))
            continue
        terms.append((name, (quoted if quoted else bare).strip(), sign == "-"))
    sort: list[tuple[str, bool]] = []
    for term in str(params.get("sort") or "").split(","):
        words_of = term.split()
        if not words_of:
            continue
        name, direction = words_of[0], (words_of[1].lower() if len(words_of) > 1 else "asc")
        if name not in SORT_FIELDS or direction not in ("asc", "desc") or len(words_of) > 2:
            problems.append(_problem("sort", "ckan.query.sort", term=term.strip()))
        elif name != "score":  # no relevance ranking: matches are equal
            sort.append((name, direction == "desc"))
    rows = _integer(params.get("rows", DEFAULT_ROWS), "rows", 0, MAX_ROWS, problems)
    start = _integer(params.get("start", 0), "start", 0, 2**31, problems)
    facet_limit = _integer(params.get("facet.limit", DEFAULT_FACET_LIMIT), "facet.limit", -1,
                           10_000, problems)  # fmt: skip
    facets = params.get("facet.field") or []
    if isinstance(facets, str):
        try:
            facets = json.loads(facets)
        except json.JSONDecodeError:
            facets = None
    if not isinstance(facets, list):
        problems.append(_problem("facet.field", "ckan.query.facet_list"))
        facets = []
    unknown = [str(f) for f in facets if f not in FACET_FIELDS]
    problems.extend(_problem("facet.field", "ckan.query.search_field", field=f) for f in unknown)
    if problems:
        raise InputError("ckan.query.refused", problems)
    facet_fields = [str(f) for f in facets if f in FACET_FIELDS]
    return PackageSearch(words, terms, sort, rows, start, facet_fields, facet_limit)


def _has(column: pd.Series, value: str, listed: bool) -> np.ndarray:
    if listed:
        return column.map(lambda values: value in values).to_numpy(dtype=bool)
    return (column.astype(str) == value).to_numpy(dtype=bool)


def search_packages(
    table: pd.DataFrame, search: PackageSearch
) -> tuple[pd.DataFrame, int, dict[str, pd.Series]]:
    """The page of matching packages, the number of matches, and each facet's value counts.

    Parameters
    ----------
    table : DataFrame
        One row per package: a ``text`` column (lower-case words of title, notes, tags, code),
        ``title``, ``name``, ``metadata_created``, ``metadata_modified`` and one column per
        ``FACET_FIELDS`` entry (lists for ``LIST_FIELDS``).
    search : PackageSearch
        The checked search.

    Returns
    -------
    tuple
        (page of ``table``, total matches, {facet field: counts over all matches, largest
        first, ties by value}).
    """
    keep = np.ones(len(table), dtype=bool)
    for word in search.words:
        keep &= table["text"].str.contains(word, regex=False).to_numpy(dtype=bool)
    for name, value, negated in search.terms:
        hit = _has(table[name], value, name in LIST_FIELDS)
        keep &= ~hit if negated else hit
    matched = table.loc[keep]
    order = search.sort or [("metadata_modified", True)]
    matched = matched.sort_values(
        [n for n, _ in order] + ["name"], ascending=[not d for _, d in order] + [True],
        kind="stable",
    )  # fmt: skip
    facets: dict[str, pd.Series] = {}
    for name in search.facet_fields:
        values = matched[name].explode() if name in LIST_FIELDS else matched[name]
        counts = values.dropna().astype(str).value_counts()
        counts = counts.sort_index().sort_values(ascending=False, kind="stable")
        facets[name] = counts if search.facet_limit < 0 else counts.iloc[: search.facet_limit]
    page = matched.iloc[search.start : search.start + search.rows]
    return page, len(matched), facets
