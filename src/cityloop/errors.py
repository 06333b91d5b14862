"""The exception tree of CityLoop: every error a user can cause, with where it happened.

CityLoopError
 ├── InputError                 bad input the user can fix; carries Problems with locations
 │    ├── FrameworkError        a framework file breaks the schema or the tree rules
 │    ├── DataValidationError   an indicator table breaks the rules (unknown code, range, …)
 │    └── ConfigError           an evaluation config is invalid
 └── MethodError                a method cannot run on this input (e.g. AHP CR > 0.1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from cityloop.i18n import t


@dataclass(frozen=True)
class Location:
    """Where in the user's input a problem sits; every part is optional."""

    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def render(self, lang: str | None = None) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(t("loc.file", lang, file=self.file))
        if self.sheet is not None:
            parts.append(t("loc.sheet", lang, sheet=self.sheet))
        if self.row is not None:
            parts.append(t("loc.row", lang, row=self.row))
        if self.column is not None:
            parts.append(t("loc.column", lang, column=self.column))
        return t("loc.sep", lang).join(parts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: a catalogue key, its parameters and its location."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    location: Location = field(default_factory=Location)

    def render(self, lang: str | None = None) -> str:
        where = self.location.render(lang)
        what = t(self.key, lang, **self.params)
        return f"{where}: {what}" if where else what


def schema_problems(
    exc: ValidationError, locate: Callable[[tuple[Any, ...]], Location]
) -> list[Problem]:
    """One ``fw.schema`` problem per pydantic error, placed by ``locate(error path)``."""
    return [
        Problem(
            "fw.schema",
            {"field": ".".join(map(str, err["loc"])), "detail": err["msg"]},
            locate(tuple(err["loc"])),
        )
        for err in exc.errors()
    ]


def entry_path(loc: tuple[Any, ...]) -> str | None:
    """A pydantic error path as a dotted field name whose list entries count from 1, as a
    reader and the store's own problems do: ``milestones.1.due`` is the first milestone's."""
    return ".".join(str(p + 1) if isinstance(p, int) else str(p) for p in loc) or None


class CityLoopError(Exception):
    """Base of every error CityLoop raises on purpose."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    def render(self, lang: str | None = None) -> str:
        return t(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.render()


class InputError(CityLoopError):
    """The user's input is wrong; nothing was changed. ``problems`` lists each fault."""

    max_shown = 50

    def __init__(self, key: str, problems: Sequence[Problem] = (), **params: Any) -> None:
        super().__init__(key, **params)
        self.problems = list(problems)

    def render(self, lang: str | None = None) -> str:
        head = t(self.key, lang, count=len(self.problems), **self.params)
        lines = [p.render(lang) for p in self.problems[: self.max_shown]]
        if len(self.problems) > self.max_shown:
            lines.append(t("err.more_problems", lang, count=len(self.problems) - self.max_shown))
        return "\n".join([head, *("  - " + line for line in lines)])


class FrameworkError(InputError):
    """A framework file (YAML or Excel) is malformed or its tree is inconsistent."""


class DataValidationError(InputError):
    """An indicator-value table is malformed; the whole file was refused."""


class ConfigError(InputError):
    """An evaluation configuration is invalid."""


class MethodError(CityLoopError):
    """A method cannot be applied to this input, e.g. an inconsistent AHP matrix."""
