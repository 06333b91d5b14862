"""Questionnaires as data: read, validate, check against a framework and write back a YAML file.

A questionnaire names its framework's domains and indicators; ``plan()`` tells analysis what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cityloop.errors import InputError, Location, Problem
from cityloop.frameworks.tree import Framework
from cityloop.survey.items import AnalysisPlan, NeedChoice, RatedQuestion, Role
from cityloop.survey.questionnaire_schema import (
    RATED_ROLES,
    SCALE_ENDS,
    Attribute,
    Fault,
    Question,
    QuestionnaireFile,
    structure_faults,
)
from cityloop.yamltext import load_with_nodes

SHIPPED_PACKAGE = "cityloop.survey"
SHIPPED_FOLDER = "questionnaires"


@dataclass(frozen=True, eq=False)
class Questionnaire:
    """A validated questionnaire: the file's content and where it was read from.

    Two questionnaires are equal when their content is; ``source`` is only for messages.
    """

    spec: QuestionnaireFile
    source: str = field(default="<memory>")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Questionnaire) and self.spec == other.spec

    def __hash__(self) -> int:
        # Equal content implies equal id and version, so the hash agrees with ``__eq__``.
        return hash((self.spec.id, self.spec.version))

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def attributes(self) -> list[Attribute]:
        return self.spec.attributes

    @cached_property
    def _questions(self) -> dict[str, Question]:
        return {q.id: q for section in self.spec.sections for q in section.questions}

    def questions(self) -> list[Question]:
        """Every question in the order it is asked."""
        return list(self._questions.values())

    def question(self, question_id: str) -> Question:
        """The question with this id; ``KeyError`` if there is none."""
        return self._questions[question_id]

    def plan(self) -> AnalysisPlan:
        """What analysis reads: rated questions with their scale ends, need choices, texts."""
        rated = tuple(
            RatedQuestion(
                question=q.id,
                role=q.role,
                item=str(q.item),
                domain=str(q.domain),
                indicator=q.indicator,
                low=SCALE_ENDS[q.kind][0],
                high=SCALE_ENDS[q.kind][1],
            )
            for q in self.questions()
            if q.role in RATED_ROLES
        )
        needs = tuple(
            NeedChoice(q.id, c.code, c.need.domain, c.need.level, c.need.application)
            for q in self.questions()
            if q.role == Role.NEED
            for c in q.choices or []
            if c.need is not None
        )
        return AnalysisPlan(
            questionnaire=self.spec.id,
            subject=self.spec.subject,
            framework=self.spec.framework,
            score_indicator=self.spec.score_indicator,
            attributes=tuple(a.id for a in self.spec.attributes),
            rated=rated,
            needs=needs,
            need_texts=tuple(q.id for q in self.questions() if q.role == Role.NEED_TEXT),
        )


def parse_questionnaire(text: str, source: str) -> Questionnaire:
    """Parse and validate questionnaire YAML; every fault names the file, line and path.

    Parameters
    ----------
    text
        The YAML text of the file.
    source
        The file name shown in messages.

    Raises
    ------
    InputError
        ``questionnaire.invalid`` listing every fault found.
    """
    try:
        data, root = load_with_nodes(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Location(file=source, row=mark.line + 1 if mark is not None else None)
        detail = str(exc).splitlines()[0]
        raise _invalid(
            source, [Problem("questionnaire.yaml_syntax", {"detail": detail}, where)]
        ) from None
    if not isinstance(data, dict) or root is None:
        raise _invalid(source, [Problem("questionnaire.not_mapping", {}, Location(file=source))])
    try:
        spec = QuestionnaireFile.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(
                "questionnaire.schema",
                {"detail": err["msg"], "value": _shown_input(err.get("input"))},
                _locate(root, tuple(err["loc"]), source),
            )
            for err in exc.errors()
        ]
        raise _invalid(source, problems) from None
    faults = structure_faults(spec)
    if faults:
        raise _invalid(source, [_problem(root, fault, source) for fault in faults])
    return Questionnaire(spec, source)


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Read a questionnaire YAML file from disk."""
    file = Path(path)
    if not file.is_file():
        raise InputError("questionnaire.not_found", [], file=str(path))
    return parse_questionnaire(file.read_text(encoding="utf-8-sig"), str(file))


def shipped_questionnaire_ids() -> list[str]:
    """Ids of the questionnaires shipped with CityLoop."""
    folder = resources.files(SHIPPED_PACKAGE).joinpath(SHIPPED_FOLDER)
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def shipped_questionnaire(questionnaire_id: str) -> Questionnaire:
    """The shipped questionnaire with this id."""
    known = shipped_questionnaire_ids()
    if questionnaire_id not in known:
        raise InputError(
            "questionnaire.unknown_shipped", [], id=questionnaire_id, known=", ".join(known)
        )
    name = f"{questionnaire_id}.yaml"
    text = resources.files(SHIPPED_PACKAGE).joinpath(SHIPPED_FOLDER, name).read_text("utf-8")
    return parse_questionnaire(text, name)


def dump_questionnaire(questionnaire: Questionnaire) -> str:
    """The questionnaire as YAML text that parses back to an equal questionnaire."""
    data = questionnaire.spec.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def check_against(questionnaire: Questionnaire, framework: Framework) -> None:
    """Refuse a questionnaire naming a domain or indicator its framework does not have.

    Raises
    ------
    InputError
        ``questionnaire.framework_mismatch`` with one problem per unknown code, located at
        the question that names it.
    """
    spec = questionnaire.spec
    source = questionnaire.source
    problems: list[Problem] = []
    if spec.framework != framework.id:
        problems.append(
            Problem(
                "questionnaire.wrong_framework",
                {"named": spec.framework, "given": framework.id},
                Location(file=source, column="framework"),
            )
        )
    dimensions = {d.code for d in framework.dimensions}
    indicators = set(framework.indicator_codes)
    if spec.score_indicator is not None and spec.score_indicator not in indicators:
        problems.append(_unknown_code(source, "score_indicator", spec.score_indicator, "indicator"))
    for q in questionnaire.questions():
        if q.domain is not None and q.domain not in dimensions:
            problems.append(_unknown_code(source, q.id, q.domain, "domain"))
        if q.indicator is not None and q.indicator not in indicators:
            problems.append(_unknown_code(source, q.id, q.indicator, "indicator"))
        for choice in q.choices or []:
            if choice.need is not None and choice.need.domain not in dimensions:
                where = f"{q.id}.{choice.code}"
                problems.append(_unknown_code(source, where, choice.need.domain, "domain"))
    if problems:
        raise InputError(
            "questionnaire.framework_mismatch", problems, file=source, framework=framework.id
        )


# -- helpers ----------------------------------------------------------------------------------


def _invalid(source: str, problems: list[Problem]) -> InputError:
    return InputError("questionnaire.invalid", problems, file=source)


def _unknown_code(source: str, where: str, code: str, what: str) -> Problem:
    return Problem(
        f"questionnaire.unknown_{what}", {"code": code}, Location(file=source, column=where)
    )


def _shown_input(value: Any) -> str:
    """The value a person wrote, shortened; containers are elided (the path says where)."""
    if isinstance(value, dict | list):
        return "…"
    return repr(value)[:60]


def _problem(root: yaml.Node, fault: Fault, source: str) -> Problem:
    return Problem(fault.key, fault.params, _locate(root, fault.path, source))


def path_text(path: tuple[Any, ...]) -> str:
    """A path as a person reads it: ``sections[2].questions[4].show_if.question``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(root: yaml.Node, path: tuple[Any, ...], source: str) -> Location:
    """Follow a path through the composed YAML to the line where that part was written."""
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == part]
            if not match:
                break
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
    return Location(file=source, row=node.start_mark.line + 1, column=path_text(path))
