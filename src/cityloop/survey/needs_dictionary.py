"""The application catalogue and the keyword dictionary that sort stated needs, as editable data.

Both are YAML files shipped with the package (``applications.yaml``, ``needs-dictionary.yaml``);
a copy can replace either. Every fault is reported with its file, entry and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cityloop.errors import InputError, Location, Problem
from cityloop.survey.items import NeedLevel, Term

CATALOGUE_FILE = "applications.yaml"
DICTIONARY_FILE = "needs-dictionary.yaml"
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_LANGUAGES = ("zh", "en")
# The C parser when PyYAML has it (ten times faster); both are safe loaders.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Application:
    """A candidate smart-city application that needs point to."""

    code: str
    name_zh: str
    name_en: str
    domain: str
    level: NeedLevel
    term: Term


@dataclass(frozen=True)
class DictionaryEntry:
    """Keywords (and exclusion words) that tie free text to one application.

    Chinese words match anywhere in a text; English words match whole words; both ignore case.
    """

    application: str
    keywords_zh: tuple[str, ...]
    keywords_en: tuple[str, ...]
    exclude_zh: tuple[str, ...] = ()
    exclude_en: tuple[str, ...] = ()


@dataclass(frozen=True)
class NeedsDictionary:
    """The keyword entries, each pointing to an application of ``catalogue``."""

    entries: tuple[DictionaryEntry, ...]
    catalogue: Mapping[str, Application]


class _Problems:
    """Collects problems of one file so that all of them are reported at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[Problem] = []

    def add(self, key: str, entry: int | None, field: str | None, **params: Any) -> None:
        self.found.append(Problem(key, params, Location(file=self.source, row=entry, column=field)))

    def raise_any(self) -> None:
        if self.found:
            raise InputError("survey.dictionary_invalid", self.found, file=self.source)


def _entries(data: Any, section: str, problems: _Problems) -> list[Any]:
    if not isinstance(data, Mapping) or not isinstance(data.get(section), list):
        problems.add("survey.dict_section_missing", None, section, section=section)
        problems.raise_any()
    entries: list[Any] = data[section]
    return entries


def _check_fields(
    entry: Any, number: int, required: set[str], optional: set[str], problems: _Problems
) -> bool:
    if not isinstance(entry, Mapping):
        problems.add("survey.dict_entry_not_mapping", number, None)
        return False
    for field in sorted(required - entry.keys()):
        problems.add("survey.dict_field_missing", number, field)
    for field in sorted(entry.keys() - required - optional, key=str):
        problems.add("survey.dict_field_unknown", number, str(field))
    return required <= entry.keys()


def _words(value: Any, number: int, field: str, problems: _Problems) -> dict[str, tuple[str, ...]]:
    """A ``{zh: [...], en: [...]}`` mapping of non-empty words, lower-cased for matching."""
    words: dict[str, tuple[str, ...]] = dict.fromkeys(_LANGUAGES, ())
    if value is None:
        return words
    if not isinstance(value, Mapping) or not value.keys() <= set(_LANGUAGES):
        problems.add("survey.dict_words_invalid", number, field)
        return words
    for lang, listed in value.items():
        if not isinstance(listed, list) or not all(
            isinstance(w, str | int) and str(w).strip() for w in listed
        ):
            problems.add("survey.dict_words_invalid", number, f"{field}.{lang}")
            continue
        words[lang] = tuple(str(w).strip().lower() for w in listed)
    return words


def parse_catalogue(data: Any, source: str = CATALOGUE_FILE) -> dict[str, Application]:
    """Validate a parsed ``applications.yaml`` and return its applications by code."""
    problems = _Problems(source)
    catalogue: dict[str, Application] = {}
    for number, entry in enumerate(_entries(data, "applications", problems), start=1):
        if not _check_fields(
            entry, number, {"code", "name", "domain", "level", "term"}, set(), problems
        ):
            continue
        code, name = str(entry["code"]), entry["name"]
        if not _CODE.match(code):
            problems.add("survey.dict_code_invalid", number, "code", value=code)
        elif code in catalogue:
            problems.add("survey.dict_duplicate", number, "code", value=code)
        if not (
            isinstance(name, Mapping) and all(str(name.get(k) or "").strip() for k in _LANGUAGES)
        ):
            problems.add("survey.dict_name_invalid", number, "name")
            continue
        if not str(entry["domain"] or "").strip():
            problems.add("survey.dict_domain_invalid", number, "domain")
        level, term = str(entry["level"]), str(entry["term"])
        if level not in set(NeedLevel):
            problems.add(
                "survey.dict_choice_invalid",
                number,
                "level",
                value=level,
                expected=", ".join(NeedLevel),
            )
            continue
        if term not in set(Term):
            problems.add(
                "survey.dict_choice_invalid", number, "term", value=term, expected=", ".join(Term)
            )
            continue
        catalogue[code] = Application(
            code,
            str(name["zh"]),
            str(name["en"]),
            str(entry["domain"]),
            NeedLevel(level),
            Term(term),
        )
    problems.raise_any()
    return catalogue


def parse_dictionary(
    data: Any, catalogue: Mapping[str, Application], source: str = DICTIONARY_FILE
) -> NeedsDictionary:
    """Validate a parsed keyword dictionary against the application catalogue."""
    problems = _Problems(source)
    entries: list[DictionaryEntry] = []
    seen: set[str] = set()
    for number, entry in enumerate(_entries(data, "entries", problems), start=1):
        if not _check_fields(entry, number, {"application", "keywords"}, {"exclude"}, problems):
            continue
        code = str(entry["application"])
        if code not in catalogue:
            problems.add("survey.dict_application_unknown", number, "application", value=code)
        elif code in seen:
            problems.add("survey.dict_duplicate", number, "application", value=code)
        seen.add(code)
        keywords = _words(entry["keywords"], number, "keywords", problems)
        exclude = _words(entry.get("exclude"), number, "exclude", problems)
        if not any(keywords.values()):
            problems.add("survey.dict_no_keywords", number, "keywords")
        entries.append(
            DictionaryEntry(code, keywords["zh"], keywords["en"], exclude["zh"], exclude["en"])
        )
    problems.raise_any()
    return NeedsDictionary(tuple(entries), dict(catalogue))


def _read(path: str | Path | None, packaged: str) -> tuple[Any, str]:
    if path is None:
        text = resources.files("cityloop.survey").joinpath(packaged).read_text(encoding="utf-8")
        return yaml.load(text, Loader=_LOADER), packaged
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER), str(path)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError("survey.dict_unreadable", file=str(path), detail=str(exc)) from exc


def load_catalogue(path: str | Path | None = None) -> dict[str, Application]:
    """The application catalogue from ``path`` (default: the packaged ``applications.yaml``)."""
    data, source = _read(path, CATALOGUE_FILE)
    return parse_catalogue(data, source)


def load_dictionary(
    path: str | Path | None = None, catalogue: Mapping[str, Application] | None = None
) -> NeedsDictionary:
    """The keyword dictionary from ``path`` (default: the packaged one), checked against the
    catalogue (default: the packaged one)."""
    data, source = _read(path, DICTIONARY_FILE)
    return parse_dictionary(data, load_catalogue() if catalogue is None else catalogue, source)
