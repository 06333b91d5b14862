"""Designing questionnaires: list the shipped and stored ones, check a draft's YAML against its
framework, and store a valid draft as a new version (shipped ones stay read-only templates).

The web designer and the JSON API call this; parsing and the rules are ``cityloop.survey``'s.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache

from cityloop.errors import CityLoopError, InputError, Location, Problem
from cityloop.frameworks.tree import Framework
from cityloop.i18n import t
from cityloop.store import Database
from cityloop.store.surveys import QuestionnaireRow
from cityloop.survey.questionnaire import (
    Questionnaire,
    check_against,
    dump_questionnaire,
    parse_questionnaire,
    shipped_questionnaire,
    shipped_questionnaire_ids,
)

DRAFT_SOURCE = "questionnaire.yaml"  # the name a draft goes by in messages
MAX_DRAFT_CHARS = 400_000  # a long questionnaire is ~30 000 characters
COPY_SUFFIX = "-copy"
FRESH_SECONDS = 60.0  # how long a loaded framework is reused before it is read again

_frameworks: dict[tuple[str, str], tuple[float, Framework | None]] = {}
_frameworks_lock = threading.Lock()


@dataclass(frozen=True)
class QuestionnaireEntry:
    """One questionnaire the office can open a survey with: shipped, or a stored version."""

    id: str
    version: str
    title: dict[str, str]
    subject: str
    framework: str
    shipped: bool
    updated_by: str = ""
    updated_at: datetime | None = None


def questionnaire_catalogue(db: Database) -> list[QuestionnaireEntry]:
    """The shipped questionnaires, then every stored version (by id, then version).

    A stored version that no longer parses (written by an older release, say) is left out
    rather than breaking the list; opening it would name its faults.
    """
    entries = list(_shipped_entries())
    for row in db.surveys.questionnaires():
        try:
            parsed = _parsed(row.yaml_text, f"{row.id}@{row.version}")
        except InputError:
            continue
        entries.append(_entry(parsed, shipped=False, row=row))
    return entries


@cache
def _shipped_entries() -> tuple[QuestionnaireEntry, ...]:
    """Shipped files never change while the app runs; parsing one costs a few tenths of a
    second, so they are read once."""
    return tuple(_entry(shipped_questionnaire(qid), shipped=True) for qid in shipped_ids())


@lru_cache(maxsize=128)
def _parsed(text: str, source: str) -> Questionnaire:
    return parse_questionnaire(text, source)


def stored_framework(db: Database, framework_id: str) -> Framework | None:
    """The stored framework (None when it is not stored), re-read after ``FRESH_SECONDS``:
    the designer checks a draft on every pause in typing, and loading one costs ~0.3 s."""
    key = (db.url, framework_id)
    now = time.monotonic()
    with _frameworks_lock:
        hit = _frameworks.get(key)
    if hit is not None and now - hit[0] < FRESH_SECONDS:
        return hit[1]
    try:
        found: Framework | None = db.framework(framework_id)
    except CityLoopError:
        found = None
    with _frameworks_lock:
        _frameworks[key] = (now, found)
    return found


def shipped_ids() -> list[str]:
    """Ids of the shipped questionnaires (read-only templates)."""
    return shipped_questionnaire_ids()


def draft_text(db: Database, questionnaire_id: str) -> tuple[str, str | None]:
    """The YAML text to start editing from, and the shipped template it copies (or None).

    A stored questionnaire opens at its latest version. A shipped one is read-only: the draft
    is a copy under the id ``<id>-copy``, so saving it can never touch the template.
    """
    stored = db.surveys.questionnaire(questionnaire_id)
    if stored is not None:
        return stored.yaml_text, None
    if questionnaire_id not in shipped_ids():
        raise InputError("surveyweb.design.unknown", id=questionnaire_id)
    template = shipped_questionnaire(questionnaire_id)
    copy = template.spec.model_copy(update={"id": f"{questionnaire_id}{COPY_SUFFIX}"})
    return dump_questionnaire(Questionnaire(copy)), questionnaire_id


def check_draft(db: Database, text: str) -> tuple[Questionnaire, list[str]]:
    """Parse a draft and check its codes against its framework when that framework is stored.

    Returns the questionnaire and notes that do not block saving (the framework is not
    stored, so its codes were not checked).

    Raises
    ------
    InputError
        ``questionnaire.invalid`` or ``questionnaire.framework_mismatch`` with every fault
        located by line and path; ``surveyweb.design.too_long`` for an oversized draft.
    """
    if len(text) > MAX_DRAFT_CHARS:
        raise InputError("surveyweb.design.too_long", most=MAX_DRAFT_CHARS)
    questionnaire = parse_questionnaire(text, DRAFT_SOURCE)
    framework = stored_framework(db, questionnaire.spec.framework)
    if framework is None:
        # Not stored here: the draft may still be right; say its codes went unchecked.
        note = t("surveyweb.design.framework_unchecked", framework=questionnaire.spec.framework)
        return questionnaire, [note]
    check_against(questionnaire, framework)
    return questionnaire, []


def save_draft(db: Database, text: str, *, actor: str) -> QuestionnaireRow:
    """Store a valid draft as a new version of its questionnaire; nothing is stored when it
    is invalid, names a shipped id, or repeats a version already stored.

    Raises
    ------
    InputError
        The parse or framework faults, ``surveyweb.design.shipped_read_only`` or
        ``surveyweb.design.version_exists``.
    """
    questionnaire, _ = check_draft(db, text)
    qid, version = questionnaire.id, questionnaire.spec.version
    where = Location(file=DRAFT_SOURCE, column="id")
    if qid in shipped_ids():
        raise InputError(
            "surveyweb.design.shipped_read_only",
            [Problem("surveyweb.design.choose_new_id", {"id": qid}, where)],
            id=qid,
        )
    if db.surveys.questionnaire(qid, version) is not None:
        where = Location(file=DRAFT_SOURCE, column="version")
        raise InputError(
            "surveyweb.design.version_exists",
            [Problem("surveyweb.design.raise_version", {"version": version}, where)],
            id=qid,
            version=version,
        )
    return db.surveys.save_questionnaire(qid, version, text, actor=actor)


def _entry(
    q: Questionnaire, *, shipped: bool, row: QuestionnaireRow | None = None
) -> QuestionnaireEntry:
    spec = q.spec
    return QuestionnaireEntry(
        id=spec.id,
        version=spec.version if row is None else row.version,
        title=spec.title.as_dict(),
        subject=spec.subject.value,
        framework=spec.framework,
        shipped=shipped,
        updated_by="" if row is None else row.updated_by,
        updated_at=None if row is None else row.updated_at,
    )
