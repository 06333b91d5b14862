"""A catalogue entry to and from the web form's text fields; the information items are one
per line in a text box: ``name | 中文名称 | English label | type``.

Enumeration fields take the codes the form's selects send; a wrong one is a located problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from cityloop.datahub.catalogue import (
    OpenType,
    ResourceClass,
    ResourceEntry,
    ResourceField,
    SharingType,
    UpdateFrequency,
)
from cityloop.errors import Location, Problem

TEXT_FIELDS = ("code", "department", "name_zh", "name_en", "description", "format",
               "sharing_condition", "sharing_method", "not_shared_reason", "open_condition",
               "licence", "api_url")  # fmt: skip
CHOICES: dict[str, type[StrEnum]] = {
    "classification": ResourceClass,
    "update_frequency": UpdateFrequency,
    "sharing_type": SharingType,
    "open_type": OpenType,
}
FIELD_SEPARATOR = re.compile(r"\s*[|｜\t]\s*")
KEYWORD_SPLIT = re.compile(r"\s*[;；,，、]\s*")


def parse_form(form: Mapping[str, str]) -> tuple[ResourceEntry | None, list[Problem]]:
    """The entry the form describes (not yet checked against the catalogue rules) and the
    form's own problems: one per unknown choice (then no entry) and per malformed line of
    the fields box, which is left out (``Location.column`` = the form field, ``row`` = line)."""
    problems: list[Problem] = []
    text = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
    chosen: dict[str, str] = {}
    for name, kind in CHOICES.items():
        value = str(form.get(name, "")).strip()
        if value not in set(kind):
            allowed = ", ".join(kind)
            problems.append(Problem("catalogue.form.bad_choice", {"value": value,
                            "allowed": allowed}, Location(column=name)))  # fmt: skip
        chosen[name] = value
    fields: list[ResourceField] = []
    for line_no, line in enumerate(str(form.get("fields", "")).splitlines(), start=1):
        if not line.strip():
            continue
        parts = FIELD_SEPARATOR.split(line.strip())
        if len(parts) not in (3, 4):
            problems.append(Problem("catalogue.form.bad_field_line", {"line": line_no},
                                    Location(row=line_no, column="fields")))  # fmt: skip
            continue
        if len(parts) == 3:  # no English label
            parts = [parts[0], parts[1], "", parts[2]]
        fields.append(ResourceField(parts[0], parts[1], parts[2], parts[3]))
    if any(p.key == "catalogue.form.bad_choice" for p in problems):
        return None, problems
    keywords = [k for k in KEYWORD_SPLIT.split(str(form.get("keywords", "")).strip()) if k]
    entity = str(form.get("entity_type", "")).strip()
    entry = ResourceEntry(
        code=text["code"],
        department=text["department"],
        name_zh=text["name_zh"],
        name_en=text["name_en"],
        description=text["description"],
        classification=ResourceClass(chosen["classification"]),
        fields=tuple(fields),
        update_frequency=UpdateFrequency(chosen["update_frequency"]),
        format=text["format"],
        sharing_type=SharingType(chosen["sharing_type"]),
        sharing_condition=text["sharing_condition"],
        sharing_method=text["sharing_method"],
        not_shared_reason=text["not_shared_reason"],
        open_type=OpenType(chosen["open_type"]),
        open_condition=text["open_condition"],
        licence=text["licence"],
        keywords=tuple(keywords),
        entity_type=entity or None,
        api_url=text["api_url"],
    )
    return entry, problems


def form_values(entry: ResourceEntry) -> dict[str, str]:
    """The form's fields for ``entry``: what ``parse_form`` reads back as the same entry."""
    values = {name: str(getattr(entry, name)) for name in TEXT_FIELDS}
    values |= {name: str(getattr(entry, name).value) for name in CHOICES}
    values["keywords"] = "；".join(entry.keywords)
    values["entity_type"] = entry.entity_type or ""
    values["fields"] = "\n".join(
        " | ".join([f.name, f.label_zh, f.label_en, f.type]) for f in entry.fields
    )
    return values
