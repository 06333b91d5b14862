"""What survey analysis reads from a questionnaire, and the shape of the answers it analyses.

The questionnaire model produces these; weighting, indices, IPA and needs analysis consume them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pandas as pd


class Subject(StrEnum):
    """Who answers: the three subjects whose needs the plan listens to."""

    PUBLIC = "public"
    GOVERNMENT = "government"
    ENTERPRISE = "enterprise"


class NeedLevel(StrEnum):
    """How far a need goes: basic, developmental or personalised (基本 / 发展 / 个性化)."""

    BASIC = "basic"
    DEVELOPMENTAL = "developmental"
    PERSONALISED = "personalised"


class Term(StrEnum):
    """When a candidate application belongs in the plan: near, middle or long term."""

    NEAR = "near"
    MIDDLE = "middle"
    LONG = "long"


class Role(StrEnum):
    """What a question measures, which decides how analysis uses its answers."""

    SATISFACTION = "satisfaction"  # rating of how well an item is served now
    IMPORTANCE = "importance"  # rating of how much an item matters (IPA's other axis)
    OVERALL = "overall"  # overall satisfaction (used for derived importance)
    NEED = "need"  # choices that state needs
    NEED_TEXT = "need_text"  # free text that states needs, classified by dictionary
    ATTRIBUTE = "attribute"  # respondent attribute (district, age band, …)
    OTHER = "other"  # asked, stored and exported, not scored


@dataclass(frozen=True)
class RatedQuestion:
    """A rating question (Likert or 0–10) that feeds an index.

    ``item`` names the thing rated: a satisfaction and an importance question of the same
    item pair up in importance–performance analysis. ``domain`` is a framework dimension code
    (e.g. ``L1P1``) and ``indicator`` the framework leaf the answers score, if any.
    """

    question: str
    role: Role
    item: str
    domain: str
    indicator: str | None
    low: float
    high: float


@dataclass(frozen=True)
class NeedChoice:
    """One choice of a need question: picking it states a need of this domain and level."""

    question: str
    choice: str
    domain: str
    level: NeedLevel
    application: str


@dataclass(frozen=True)
class AnalysisPlan:
    """Everything analysis needs to know about one questionnaire."""

    questionnaire: str
    subject: Subject
    framework: str
    score_indicator: str | None
    attributes: tuple[str, ...]
    rated: tuple[RatedQuestion, ...]
    needs: tuple[NeedChoice, ...]
    need_texts: tuple[str, ...]


@dataclass(frozen=True)
class Responses:
    """Answers ready for analysis, one row per response in ``frame``.

    ``frame`` has a ``year`` column, one column per respondent attribute (strings) and one
    float column per rated question (NaN where not answered or skipped). ``choices`` is long:
    ``response`` (row position in ``frame``), ``question``, ``choice``. ``texts`` is long:
    ``response``, ``question``, ``text``.
    """

    frame: pd.DataFrame
    choices: pd.DataFrame
    texts: pd.DataFrame
