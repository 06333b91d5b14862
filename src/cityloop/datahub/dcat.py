"""The resource catalogue as DCAT (W3C Data Catalog Vocabulary, DCAT-AP conventions) in JSON-LD
or Turtle: written for open-data portals and harvesters, read back from them or from other cities.

GB/T 21063 terms DCAT has no word for (sharing type, conditions, information items) use the
CityLoop namespace ``CL``; everything else is plain DCAT, Dublin Core and FOAF.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, XSD
from rdflib.term import Node

from cityloop.datahub.catalogue import (
    CLASS_DIGITS,
    URL,
    OpenType,
    ResourceClass,
    ResourceEntry,
    ResourceField,
    SharingType,
    UpdateFrequency,
    check_entry,
)
from cityloop.datahub.cells import fold
from cityloop.errors import InputError, Location, Problem
from cityloop.frameworks.loader import departments as department_kinds

CL = Namespace("https://w3id.org/cityloop/ns/catalogue#")
FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
DEFAULT_BASE = "urn:cityloop:catalogue:"
# EU Publications Office frequency authority table (used by DCAT-AP) ↔ 更新周期.
FREQUENCIES = {
    UpdateFrequency.REALTIME: FREQUENCY.UPDATE_CONT,
    UpdateFrequency.DAILY: FREQUENCY.DAILY,
    UpdateFrequency.WEEKLY: FREQUENCY.WEEKLY,
    UpdateFrequency.MONTHLY: FREQUENCY.MONTHLY,
    UpdateFrequency.QUARTERLY: FREQUENCY.QUARTERLY,
    UpdateFrequency.YEARLY: FREQUENCY.ANNUAL,
    UpdateFrequency.IRREGULAR: FREQUENCY.IRREG,
}
ACCESS_RIGHTS = {
    OpenType.OPEN: ACCESS.PUBLIC,
    OpenType.CONDITIONAL: ACCESS.RESTRICTED,
    OpenType.CLOSED: ACCESS.NON_PUBLIC,
}
# The CityLoop terms that carry the entry's columns one to one (plain literals).
TEXT_TERMS = {
    "classification": CL.classification,
    "sharing_type": CL.sharingType,
    "sharing_condition": CL.sharingCondition,
    "sharing_method": CL.sharingMethod,
    "not_shared_reason": CL.notSharedReason,
    "open_type": CL.openType,
    "open_condition": CL.openCondition,
}
# Where each column of an entry lives in DCAT, to locate the rules an imported dataset breaks.
TERM_OF = {
    "code": "dct:identifier", "department": "dct:publisher", "name_zh": "dct:title@zh",
    "name_en": "dct:title@en", "description": "dct:description", "format": "dct:format",
    "licence": "dct:license", "api_url": "dcat:accessURL", "keywords": "dcat:keyword",
    "fields": "cl:field", "entity_type": "cl:entityType", "update_frequency":
    "dct:accrualPeriodicity", **{c: f"cl:{t.removeprefix(str(CL))}" for c, t in TEXT_TERMS.items()},
}  # fmt: skip
CONTEXT = {
    "dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "rdfs": str(RDFS),
    "xsd": str(XSD), "cl": str(CL),
}  # fmt: skip
FORMATS = {"json-ld": "json-ld", "jsonld": "json-ld", "turtle": "turtle", "ttl": "turtle"}


# -- writing ------------------------------------------------------------------------------------


def catalogue_graph(
    entries: Sequence[ResourceEntry],
    *,
    title_zh: str,
    title_en: str = "",
    base: str = DEFAULT_BASE,
    department_names: Mapping[str, Mapping[str, str]] | None = None,
) -> Graph:
    """A ``dcat:Catalog`` with one ``dcat:Dataset`` (and one ``dcat:Distribution``) per entry.

    Parameters
    ----------
    entries
        The entries to describe.
    title_zh, title_en
        The catalogue's title.
    base
        The IRI the catalogue's, datasets' and departments' IRIs start with.
    department_names
        Department code → {"zh", "en"} names for ``dct:publisher``; default the kinds of
        ``departments.yaml``.
    """
    names = department_names if department_names is not None else department_kinds()
    g = Graph()
    for prefix, uri in CONTEXT.items():
        g.bind(prefix, uri)
    catalog = URIRef(base)
    g.add((catalog, RDF.type, DCAT.Catalog))
    _titles(g, catalog, title_zh, title_en)
    for entry in entries:
        dataset = URIRef(f"{base}dataset/{quote(entry.code, safe='')}")
        g.add((catalog, DCAT.dataset, dataset))
        _describe(g, dataset, entry, base, names)
    return g


def write_dcat(graph: Graph, fmt: str = "json-ld") -> str:
    """``graph`` as JSON-LD (compacted with the prefixes of ``CONTEXT``) or Turtle."""
    kind = FORMATS[fmt.lower()]
    if kind == "json-ld":
        return graph.serialize(format="json-ld", context=CONTEXT, indent=2)
    return graph.serialize(format="turtle")


def _titles(g: Graph, node: URIRef, zh: str, en: str) -> None:
    g.add((node, DCTERMS.title, Literal(zh, lang="zh")))
    if en:
        g.add((node, DCTERMS.title, Literal(en, lang="en")))


def _describe(
    g: Graph, dataset: URIRef, e: ResourceEntry, base: str, names: Mapping[str, Mapping[str, str]]
) -> None:
    g.add((dataset, RDF.type, DCAT.Dataset))
    g.add((dataset, DCTERMS.identifier, Literal(e.code)))
    _titles(g, dataset, e.name_zh, e.name_en)
    if e.description:
        g.add((dataset, DCTERMS.description, Literal(e.description)))
    publisher = URIRef(f"{base}department/{quote(e.department, safe='')}")
    g.add((dataset, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, DCTERMS.identifier, Literal(e.department)))
    for lang, name in names.get(e.department, {}).items():
        g.add((publisher, FOAF.name, Literal(name, lang=lang)))
    for word in e.keywords:
        g.add((dataset, DCAT.keyword, Literal(word)))
    g.add((dataset, DCTERMS.accrualPeriodicity, FREQUENCIES[e.update_frequency]))
    g.add((dataset, DCTERMS.accessRights, ACCESS_RIGHTS[e.open_type]))
    for column, term in TEXT_TERMS.items():
        value = str(getattr(e, column))
        if value:
            g.add((dataset, term, Literal(value)))
    if e.entity_type is not None:
        g.add((dataset, CL.entityType, Literal(e.entity_type)))
    for position, item in enumerate(e.fields, start=1):
        node = BNode()
        g.add((dataset, CL.field, node))
        g.add((node, CL.position, Literal(position)))
        g.add((node, CL.name, Literal(item.name)))
        g.add((node, RDFS.label, Literal(item.label_zh, lang="zh")))
        if item.label_en:
            g.add((node, RDFS.label, Literal(item.label_en, lang="en")))
        g.add((node, CL.fieldType, Literal(item.type)))
    distribution = URIRef(f"{dataset}/distribution")
    g.add((dataset, DCAT.distribution, distribution))
    g.add((distribution, RDF.type, DCAT.Distribution))
    g.add((distribution, DCTERMS.format, Literal(e.format)))
    if e.licence:
        licence = URIRef(e.licence) if URL.fullmatch(e.licence) else Literal(e.licence)
        g.add((dataset, DCTERMS.license, licence))
        g.add((distribution, DCTERMS.license, licence))
    if e.api_url:
        g.add((distribution, DCAT.accessURL, URIRef(e.api_url)))


# -- reading ------------------------------------------------------------------------------------


def read_dcat(
    text: str,
    fmt: str,
    *,
    source: str,
    known_departments: Mapping[str, Mapping[str, str]] | None = None,
) -> list[ResourceEntry]:
    """The entries of every ``dcat:Dataset`` in a JSON-LD or Turtle document, by code, or none.

    Files from other publishers lack the CityLoop terms; then the classification comes from
    the code's class digit (else 部门), the update frequency defaults to irregular, the open
    type comes from ``dct:accessRights``, and an open dataset is taken as unconditionally
    shared (by ``api`` when it has an ``accessURL``, else ``download``).

    Raises
    ------
    InputError
        ``catalogue.dcat.refused`` listing every problem: the document does not parse, refers
        to a remote ``@context`` (never fetched), has no dataset; a dataset lacks what an entry
        needs or breaks a ``check_entry`` rule. Each is located as ``<file>#<identifier>`` and
        the DCAT term concerned.
    """
    kind = FORMATS.get(fmt.lower())
    if kind is None:
        raise InputError("catalogue.dcat.bad_format", format=fmt, allowed="json-ld, turtle")
    known = dict(known_departments if known_departments is not None else department_kinds())
    g = _parse(text, kind, source)
    datasets = sorted(set(g.subjects(RDF.type, DCAT.Dataset)), key=lambda d: _identifier(g, d))
    if not datasets:
        raise _refused(source, [Problem("catalogue.dcat.no_dataset", {}, Location(file=source))])
    problems: list[Problem] = []
    entries = [_entry(g, d, known, source, problems) for d in datasets]
    if problems:
        raise _refused(source, problems)
    return [e for e in entries if e is not None]


def _refused(source: str, problems: list[Problem]) -> InputError:
    return InputError("catalogue.dcat.refused", problems, file=source)


def _parse(text: str, kind: str, source: str) -> Graph:
    if kind == "json-ld":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as exc:  # nesting deeper than Python's stack
            problem = Problem("catalogue.dcat.unreadable", {"detail": str(exc)}, Location(source))
            raise _refused(source, [problem]) from None
        if any(_remote_contexts(document)):
            problem = Problem("catalogue.dcat.remote_context", {}, Location(file=source))
            raise _refused(source, [problem])
    try:
        return Graph().parse(data=text, format=kind)
    except Exception as exc:  # rdflib's parsers raise many types
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problem = Problem("catalogue.dcat.unreadable", {"detail": detail}, Location(file=source))
        raise _refused(source, [problem]) from None


def _remote_contexts(node: Any) -> Iterator[str]:
    """Every ``@context`` given by address: parsing would fetch it from the network."""
    if isinstance(node, list):
        for item in node:
            yield from _remote_contexts(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                contexts = value if isinstance(value, list) else [value]
                yield from (c for c in contexts if isinstance(c, str))
            yield from _remote_contexts(value)


def _identifier(g: Graph, node: Node) -> str:
    found = g.value(node, DCTERMS.identifier)
    return str(found).strip() if found is not None else str(node)


def _text(g: Graph, node: Node, term: URIRef, lang: str | None = None) -> str:
    """The literal of ``term`` in ``lang`` ("zh" matches zh-CN, zh-Hans…; None: untagged first)."""
    values = [v for v in g.objects(node, term) if isinstance(v, Literal | URIRef)]
    if lang is not None:
        tagged = [v for v in values if isinstance(v, Literal) and (v.language or "").lower()
                  .split("-")[0] == lang]  # fmt: skip
        return str(tagged[0]) if tagged else ""
    plain = [v for v in values if not (isinstance(v, Literal) and v.language)]
    chosen = plain or values
    return min(map(str, chosen)) if chosen else ""


def _entry(
    g: Graph, dataset: Node, known: Mapping[str, Mapping[str, str]], source: str,
    problems: list[Problem],
) -> ResourceEntry | None:  # fmt: skip
    code = _identifier(g, dataset)
    where = Location(file=f"{source}#{code}")
    before = len(problems)

    def refuse(term: str, key: str, **params: Any) -> None:
        located = Location(where.file, None, None, term)
        problems.append(Problem(f"catalogue.dcat.{key}", params, located))

    if g.value(dataset, DCTERMS.identifier) is None:
        refuse("dct:identifier", "missing")
    name_zh = _text(g, dataset, DCTERMS.title, "zh") or _text(g, dataset, DCTERMS.title)
    department = _department(g, dataset, known)
    if department is None:
        refuse("dct:publisher", "unknown_publisher", known=", ".join(known))
    distribution = g.value(dataset, DCAT.distribution)
    fmt = _format(g, distribution) if distribution is not None else ""
    access = "" if distribution is None else _access_url(g, distribution)
    open_type = _open_type(g, dataset, refuse)
    sharing = _text(g, dataset, CL.sharingType)
    method = _text(g, dataset, CL.sharingMethod)
    if not sharing and open_type == OpenType.OPEN:
        sharing, method = SharingType.UNCONDITIONAL, method or ("api" if access else "download")
    if sharing not in set(SharingType):
        refuse("cl:sharingType", "bad_value", value=sharing, allowed=", ".join(SharingType))
    by_digit = CLASS_DIGITS.get(code[:1], ResourceClass.DEPARTMENT)
    classification = _text(g, dataset, CL.classification) or by_digit
    if classification not in set(ResourceClass):
        refuse("cl:classification", "bad_value", value=classification,
               allowed=", ".join(ResourceClass))  # fmt: skip
    frequency = _frequency(g, dataset, refuse)
    if len(problems) > before or open_type is None or frequency is None or department is None:
        return None
    licence = g.value(dataset, DCTERMS.license) or (
        g.value(distribution, DCTERMS.license) if distribution is not None else None)  # fmt: skip
    entry = ResourceEntry(
        code=code,
        department=department,
        name_zh=name_zh,
        name_en=_text(g, dataset, DCTERMS.title, "en"),
        description=_text(g, dataset, DCTERMS.description, "zh")
        or _text(g, dataset, DCTERMS.description),
        classification=ResourceClass(classification),
        fields=_fields(g, dataset),
        update_frequency=frequency,
        format=fmt,
        sharing_type=SharingType(sharing),
        sharing_condition=_text(g, dataset, CL.sharingCondition),
        sharing_method=method,
        not_shared_reason=_text(g, dataset, CL.notSharedReason),
        open_type=open_type,
        open_condition=_text(g, dataset, CL.openCondition),
        licence="" if licence is None else str(licence),
        keywords=tuple(str(k) for k in g.objects(dataset, DCAT.keyword)),
        entity_type=_text(g, dataset, CL.entityType) or None,
        api_url=access,
    )
    problems.extend(
        Problem(p.key, p.params, Location(where.file, None, None, TERM_OF.get(
            p.location.column or "code", "dct:identifier")))
        for p in check_entry(entry, known)
    )  # fmt: skip
    return entry


def _department(g: Graph, dataset: Node, known: Mapping[str, Mapping[str, str]]) -> str | None:
    """The publisher's department code: its ``dct:identifier``, else its name matched."""
    publisher = g.value(dataset, DCTERMS.publisher)
    if publisher is None:
        return None
    code = g.value(publisher, DCTERMS.identifier)
    if code is not None and str(code) in known:
        return str(code)
    by_name = {fold(n): c for c, names in known.items() for n in names.values() if n}
    for name in g.objects(publisher, FOAF.name):
        if fold(str(name)) in by_name:
            return by_name[fold(str(name))]
    return None


def _access_url(g: Graph, distribution: Node) -> str:
    found = g.value(distribution, DCAT.accessURL) or g.value(distribution, DCAT.downloadURL)
    return "" if found is None else str(found)


def _format(g: Graph, distribution: Node) -> str:
    value = g.value(distribution, DCTERMS.format) or g.value(distribution, DCAT.mediaType)
    text = "" if value is None else str(value)
    return text.removeprefix(FILE_TYPE) if isinstance(value, URIRef) else text


def _open_type(g: Graph, dataset: Node, refuse: Any) -> OpenType | None:
    given = _text(g, dataset, CL.openType)
    if given:
        if given in set(OpenType):
            return OpenType(given)
        refuse("cl:openType", "bad_value", value=given, allowed=", ".join(OpenType))
        return None
    rights = g.value(dataset, DCTERMS.accessRights)
    by_right = {v: k for k, v in ACCESS_RIGHTS.items()}
    if isinstance(rights, URIRef) and rights in by_right:
        return by_right[rights]
    refuse("dct:accessRights", "no_open_type")
    return None


def _frequency(g: Graph, dataset: Node, refuse: Any) -> UpdateFrequency | None:
    value = g.value(dataset, DCTERMS.accrualPeriodicity)
    if value is None:
        return UpdateFrequency.IRREGULAR
    by_uri = {v: k for k, v in FREQUENCIES.items()}
    if isinstance(value, URIRef) and value in by_uri:
        return by_uri[value]
    refuse("dct:accrualPeriodicity", "bad_frequency", value=str(value))
    return None


def _fields(g: Graph, dataset: Node) -> tuple[ResourceField, ...]:
    items = []
    for node in g.objects(dataset, CL.field):
        position = g.value(node, CL.position)
        items.append((
            int(position.toPython()) if isinstance(position, Literal) else 0,
            ResourceField(
                _text(g, node, CL.name),
                _text(g, node, RDFS.label, "zh"),
                _text(g, node, RDFS.label, "en"),
                _text(g, node, CL.fieldType) or "string",
            ),
        ))  # fmt: skip
    return tuple(item for _, item in sorted(items, key=lambda pair: pair[0]))
