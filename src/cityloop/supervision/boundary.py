"""Boundary checks of a smart-city programme: projects linked to no indicator or no need, projects
that do not belong to it, and spending that favours infrastructure far over citizens' services.

The classification of spending and the threshold are the ``boundary`` section of
``supervision-rules.yaml``; ``docs/supervision.md`` explains them with an example.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cityloop.i18n import t
from cityloop.supervision.earned_value import actual_cost, baseline
from cityloop.supervision.tracking import (
    FloatArray,
    TrackedProject,
    day_number,
    validate_projects,
)

Basis = Literal["planned", "actual"]
INFRASTRUCTURE_HEAVY = "supervision.boundary.infrastructure_heavy"


class BoundaryRules(BaseModel):
    """How spending is classified and how much infrastructure is too much."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_infrastructure_ratio: float = Field(gt=0)
    infrastructure_plan_types: tuple[str, ...]
    infrastructure_domains: tuple[str, ...]
    citizen_plan_types: tuple[str, ...]
    citizen_domains: tuple[str, ...]


class BoundaryKind(StrEnum):
    """What is wrong with a project's place in the programme."""

    NO_INDICATOR = "no_indicator"
    NO_NEED = "no_need"
    UNRELATED = "unrelated"

    def label(self, lang: str | None = None) -> str:
        """The kind's name in ``lang`` (default: the current language)."""
        return t(f"supervision.boundary_kind.{self.value}", lang)


@dataclass(frozen=True)
class BoundaryFlag:
    """One boundary problem of one project: a translation key and its parameters."""

    project: str
    kind: BoundaryKind
    key: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class SpendingSplit:
    """The programme's spending by class; ``ratio`` is infrastructure / citizen-facing.

    ``ratio`` is +inf when only infrastructure has money and NaN when neither side has any;
    ``flagged`` is ``ratio > limit`` (``max_infrastructure_ratio``); the message of a flagged
    split is ``INFRASTRUCTURE_HEAVY`` with ``params``.
    """

    basis: Basis
    infrastructure: float
    citizen: float
    other: float
    ratio: float
    infrastructure_share: float
    limit: float
    flagged: bool

    @property
    def params(self) -> dict[str, Any]:
        """The parameters of the ``INFRASTRUCTURE_HEAVY`` message."""
        return {
            "infrastructure": round(self.infrastructure, 2),
            "citizen": round(self.citizen, 2),
            "ratio": round(self.ratio, 2),
            "limit": self.limit,
        }


def link_flags(
    projects: Sequence[TrackedProject], known_domains: Collection[str]
) -> tuple[BoundaryFlag, ...]:
    """Flag projects linked to no indicator, to no need, without a plan type or with a domain
    outside the catalogue's (``known_domains``); each missing link is its own flag.

    The flags come project by project, in input order.
    """
    codes = np.array([p.code for p in projects], dtype=object)
    checks: tuple[tuple[BoundaryKind, str, list[bool]], ...] = (
        (
            BoundaryKind.NO_INDICATOR,
            "supervision.boundary.no_indicator",
            [not p.indicators for p in projects],
        ),
        (BoundaryKind.NO_NEED, "supervision.boundary.no_need", [not p.needs for p in projects]),
        (
            BoundaryKind.UNRELATED,
            "supervision.boundary.no_plan_type",
            [not p.plan_types for p in projects],
        ),
        (
            BoundaryKind.UNRELATED,
            "supervision.boundary.unknown_domain",
            [p.domain not in known_domains for p in projects],
        ),
    )
    failed = np.array([fails for _, _, fails in checks], dtype=np.bool_).reshape(
        len(checks), len(projects)
    )
    check, row = np.nonzero(failed)
    order = np.lexsort((check, row))  # project by project, checks in the order above
    return tuple(
        BoundaryFlag(
            str(codes[r]),
            checks[c][0],
            checks[c][1],
            {"code": str(codes[r]), "domain": projects[r].domain},
        )
        for c, r in zip(check[order], row[order], strict=True)
    )


def spending_classes(
    projects: Sequence[TrackedProject], rules: BoundaryRules
) -> tuple[FloatArray, FloatArray]:
    """Each project's share counted as infrastructure and as citizen-facing.

    A project is infrastructure when a plan type or its domain is in the infrastructure lists,
    citizen-facing likewise; one that is both counts 0.5 to each, one that is neither 0 to both.
    """
    infra_types, citizen_types = set(rules.infrastructure_plan_types), set(rules.citizen_plan_types)
    infra = np.array(
        [
            bool(infra_types & set(p.plan_types)) or p.domain in rules.infrastructure_domains
            for p in projects
        ],
        dtype=np.float64,
    )
    citizen = np.array(
        [
            bool(citizen_types & set(p.plan_types)) or p.domain in rules.citizen_domains
            for p in projects
        ],
        dtype=np.float64,
    )
    classes = np.maximum(infra + citizen, 1.0)
    return infra / classes, citizen / classes


def spending_split(
    projects: Sequence[TrackedProject],
    rules: BoundaryRules,
    *,
    basis: Basis,
    status_date: date | None = None,
) -> SpendingSplit:
    """Split the programme's money into infrastructure, citizen-facing and other.

    Parameters
    ----------
    projects : the programme's projects
    rules : the ``boundary`` section of ``supervision-rules.yaml``
    basis : ``planned`` (each project's budget at completion) or ``actual`` (money spent)
    status_date : for ``actual``, count spend on or before this day (default: all recorded)

    Raises
    ------
    InputError
        A project record is invalid.
    """
    arrays = validate_projects(projects)
    if basis == "planned":
        amount = baseline(arrays)
    else:
        latest = int(arrays.spend_day.max(initial=0))
        day = day_number(status_date) if status_date is not None else latest
        amount = actual_cost(arrays, np.array([day], dtype=np.int64))[:, 0]
    infra_share, citizen_share = spending_classes(projects, rules)
    infrastructure = float(amount @ infra_share)
    citizen = float(amount @ citizen_share)
    total = float(amount.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.divide(infrastructure, citizen))
        share = float(np.divide(infrastructure, total))
    return SpendingSplit(
        basis=basis,
        infrastructure=infrastructure,
        citizen=citizen,
        other=total - infrastructure - citizen,
        ratio=ratio,
        infrastructure_share=share,
        limit=rules.max_infrastructure_ratio,
        flagged=bool(ratio > rules.max_infrastructure_ratio),
    )
