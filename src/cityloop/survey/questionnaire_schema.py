"""The schema every questionnaire file obeys: pydantic models for its shape, plus the rules
that tie its parts together (unique ids, skip logic pointing backwards, choices where needed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cityloop.frameworks.schema import Names
from cityloop.survey.items import NeedLevel, Role, Subject

ID_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$"
DEFAULT_MAX_LENGTH = 500
MAX_TEXT_LENGTH = 2000
DISTRICTS = "districts"
# The answer code of "not used / don't know" on a rating question that allows it.
NOT_APPLICABLE = "na"


class Kind(StrEnum):
    """How a question is answered."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    LIKERT5 = "likert5"  # 1 … 5
    LIKERT11 = "likert11"  # 0 … 10
    NUMERIC = "numeric"
    TEXT = "text"


CHOICE_KINDS = frozenset({Kind.SINGLE, Kind.MULTIPLE})
LIKERT_KINDS = frozenset({Kind.LIKERT5, Kind.LIKERT11})
NUMBER_KINDS = frozenset({Kind.LIKERT5, Kind.LIKERT11, Kind.NUMERIC})
RATED_ROLES = frozenset({Role.SATISFACTION, Role.IMPORTANCE, Role.OVERALL})
SCALE_ENDS = {Kind.LIKERT5: (1.0, 5.0), Kind.LIKERT11: (0.0, 10.0)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Need(_Strict):
    """What picking a choice says: a need of this framework domain, level and application."""

    domain: str = Field(min_length=1)
    level: NeedLevel
    application: str = Field(min_length=1, pattern=ID_PATTERN)


class Choice(_Strict):
    """One answer option of a single or multiple choice question."""

    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN)
    text: Names
    need: Need | None = None
    exclusive: bool = False


class ShowIf(_Strict):
    """Skip logic: ask the question only when an earlier answer matches."""

    question: str = Field(min_length=1)
    any_of: list[str] | None = None
    at_least: float | None = None
    at_most: float | None = None


class Attribute(_Strict):
    """A respondent attribute asked first (district, age band, …), always a single choice."""

    id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    text: Names
    required: bool = True
    choices: list[Choice] | Literal["districts"]


class Question(_Strict):
    """One question of a section."""

    id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    kind: Kind
    text: Names
    required: bool = True
    role: Role = Role.OTHER
    item: str | None = Field(default=None, min_length=1, pattern=ID_PATTERN)
    domain: str | None = Field(default=None, min_length=1)
    indicator: str | None = Field(default=None, min_length=1)
    choices: list[Choice] | None = None
    allow_na: bool = False
    min: float | None = None
    max: float | None = None
    integer: bool = False
    max_choices: int | None = Field(default=None, ge=1)
    max_length: int | None = Field(default=None, ge=1)
    show_if: ShowIf | None = None

    @property
    def text_limit(self) -> int:
        """The longest text answer accepted (the default when the file names none)."""
        return DEFAULT_MAX_LENGTH if self.max_length is None else self.max_length


class Section(_Strict):
    """A titled group of questions, shown together."""

    id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    title: Names
    questions: list[Question] = Field(min_length=1)


class QuestionnaireFile(_Strict):
    """The whole questionnaire file, as written by a person or the web designer."""

    id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    version: str = Field(min_length=1)
    subject: Subject
    framework: str = Field(min_length=1)
    score_indicator: str | None = None
    title: Names
    intro: Names | None = None
    notes: Names | None = None
    attributes: list[Attribute] = Field(default_factory=list)
    sections: list[Section] = Field(min_length=1)


@dataclass(frozen=True)
class Fault:
    """One broken rule: the catalogue key, its parameters and the path inside the file."""

    path: tuple[str | int, ...]
    key: str
    params: dict[str, Any]


def structure_faults(spec: QuestionnaireFile) -> list[Fault]:
    """Every rule the schema alone cannot state, in file order."""
    faults: list[Fault] = []
    seen: dict[str, Question | Attribute] = {}
    for index, attribute in enumerate(spec.attributes):
        path: tuple[str | int, ...] = ("attributes", index)
        if attribute.id in seen:
            faults.append(Fault((*path, "id"), "questionnaire.duplicate_id", {"id": attribute.id}))
        seen[attribute.id] = attribute
        if isinstance(attribute.choices, list):
            faults.extend(_choice_faults(attribute.choices, (*path, "choices"), single=True))
    section_ids: set[str] = set()
    for s_index, section in enumerate(spec.sections):
        if section.id in section_ids:
            faults.append(
                Fault(("sections", s_index, "id"), "questionnaire.duplicate_id", {"id": section.id})
            )
        section_ids.add(section.id)
        for q_index, question in enumerate(section.questions):
            path = ("sections", s_index, "questions", q_index)
            if question.id in seen:
                faults.append(
                    Fault((*path, "id"), "questionnaire.duplicate_id", {"id": question.id})
                )
            faults.extend(_question_faults(question, path, seen))
            seen[question.id] = question
    return faults


def _question_faults(
    q: Question, path: tuple[str | int, ...], earlier: dict[str, Question | Attribute]
) -> Iterator[Fault]:
    kind = q.kind.value

    def only_for(field: str, present: bool, allowed: frozenset[Kind]) -> Iterator[Fault]:
        if present and q.kind not in allowed:
            yield Fault(
                (*path, field), "questionnaire.field_not_for_kind", {"field": field, "kind": kind}
            )

    yield from only_for("choices", q.choices is not None, CHOICE_KINDS)
    yield from only_for("allow_na", q.allow_na, LIKERT_KINDS)
    yield from only_for("min", q.min is not None, frozenset({Kind.NUMERIC}))
    yield from only_for("max", q.max is not None, frozenset({Kind.NUMERIC}))
    yield from only_for("integer", q.integer, frozenset({Kind.NUMERIC}))
    yield from only_for("max_choices", q.max_choices is not None, frozenset({Kind.MULTIPLE}))
    yield from only_for("max_length", q.max_length is not None, frozenset({Kind.TEXT}))
    if q.kind in CHOICE_KINDS:
        if not q.choices:
            yield Fault((*path, "choices"), "questionnaire.choices_missing", {"kind": kind})
        else:
            yield from _choice_faults(q.choices, (*path, "choices"), single=q.kind == Kind.SINGLE)
            if q.max_choices is not None and q.max_choices > len(q.choices):
                yield Fault(
                    (*path, "max_choices"),
                    "questionnaire.max_choices_too_many",
                    {"max_choices": q.max_choices, "count": len(q.choices)},
                )
    if q.min is not None and q.max is not None and q.min > q.max:
        yield Fault((*path, "min"), "questionnaire.min_above_max", {"min": q.min, "max": q.max})
    if q.max_length is not None and q.max_length > MAX_TEXT_LENGTH:
        yield Fault(
            (*path, "max_length"),
            "questionnaire.max_length_cap",
            {"value": q.max_length, "cap": MAX_TEXT_LENGTH},
        )
    yield from _role_faults(q, path)
    if q.show_if is not None:
        yield from _show_if_faults(q.show_if, (*path, "show_if"), earlier)


def _role_faults(q: Question, path: tuple[str | int, ...]) -> Iterator[Fault]:
    role, kind = q.role.value, q.kind.value
    if q.role in RATED_ROLES:
        if q.kind not in LIKERT_KINDS:
            yield Fault(
                (*path, "kind"),
                "questionnaire.role_needs_kind",
                {"role": role, "kinds": "likert5, likert11"},
            )
        for field in ("item", "domain"):
            if getattr(q, field) is None:
                yield Fault(
                    (*path, field), "questionnaire.rated_needs", {"field": field, "role": role}
                )
    elif q.role == Role.ATTRIBUTE:
        yield Fault((*path, "role"), "questionnaire.attribute_role", {})
    elif q.role == Role.NEED_TEXT and q.kind != Kind.TEXT:
        yield Fault(
            (*path, "kind"), "questionnaire.role_needs_kind", {"role": role, "kinds": "text"}
        )
    elif q.role == Role.NEED:
        if q.kind not in CHOICE_KINDS:
            yield Fault(
                (*path, "kind"),
                "questionnaire.role_needs_kind",
                {"role": role, "kinds": "single, multiple"},
            )
        elif q.choices and not any(c.need for c in q.choices):
            yield Fault((*path, "choices"), "questionnaire.need_without_needs", {})
    if q.role != Role.NEED and q.choices and any(c.need for c in q.choices):
        yield Fault(
            (*path, "choices"), "questionnaire.need_outside_need", {"role": role, "kind": kind}
        )


def _choice_faults(
    choices: list[Choice], path: tuple[str | int, ...], *, single: bool
) -> Iterator[Fault]:
    codes: set[str] = set()
    for index, choice in enumerate(choices):
        if choice.code in codes:
            yield Fault(
                (*path, index, "code"), "questionnaire.duplicate_choice", {"code": choice.code}
            )
        if choice.code == NOT_APPLICABLE:
            yield Fault(
                (*path, index, "code"), "questionnaire.reserved_code", {"code": choice.code}
            )
        if single and choice.exclusive:
            yield Fault((*path, index, "exclusive"), "questionnaire.exclusive_single", {})
        codes.add(choice.code)


def _show_if_faults(
    rule: ShowIf, path: tuple[str | int, ...], earlier: dict[str, Question | Attribute]
) -> Iterator[Fault]:
    target = earlier.get(rule.question)
    if target is None:
        yield Fault(
            (*path, "question"), "questionnaire.show_if_unknown", {"question": rule.question}
        )
        return
    by_choice = rule.any_of is not None
    by_number = rule.at_least is not None or rule.at_most is not None
    if by_choice == by_number:
        yield Fault(path, "questionnaire.show_if_one_rule", {})
        return
    if by_choice:
        codes = _choice_codes(target)
        if codes is None:
            yield Fault(
                (*path, "any_of"),
                "questionnaire.show_if_needs_choices",
                {"question": rule.question},
            )
            return
        unknown = [c for c in rule.any_of or [] if c not in codes]
        if unknown or not rule.any_of:
            yield Fault(
                (*path, "any_of"),
                "questionnaire.show_if_unknown_choice",
                {"codes": ", ".join(unknown) or "[]", "question": rule.question},
            )
    elif not (isinstance(target, Question) and target.kind in NUMBER_KINDS):
        yield Fault(
            (*path, "question"), "questionnaire.show_if_needs_number", {"question": rule.question}
        )


def _choice_codes(target: Question | Attribute) -> set[str] | None:
    if isinstance(target, Attribute):
        return {c.code for c in target.choices} if isinstance(target.choices, list) else None
    if target.kind in CHOICE_KINDS and target.choices:
        return {c.code for c in target.choices}
    return None
