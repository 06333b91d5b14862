"""Chapters 4–7 of the top-level design document: the project list with scores, needs and
effects, the roadmap (Gantt, budget and staff by year), the expected trajectory and the risks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cityloop.frameworks import Framework
from cityloop.i18n import pick, t
from cityloop.planning.project_types import CatalogueProject, EffectRange
from cityloop.reports import (
    Block,
    BulletList,
    Column,
    ColumnKind,
    Heading,
    Paragraph,
    Table,
)
from cityloop.services.plan import SavedPlan
from cityloop.services.plan_view import PlanView, ProjectRow
from cityloop.survey.needs_dictionary import Application

WIDE_RANGE = 3.0  # an effect whose high case is this many times its low case is uncertain
LONG_CHAIN = 3  # prerequisite chains of this many projects or more are a schedule risk
LEFT_OUT_NAMED = 5


@dataclass(frozen=True)
class PlanContext:
    """A saved plan and what its document reads beside it, in the document's language."""

    saved: SavedPlan
    unit_name: str
    framework: Framework
    catalogue: Mapping[str, CatalogueProject]
    applications: Mapping[str, Application]
    illustrative: str

    @property
    def view(self) -> PlanView:
        return self.saved.view

    def effects(self, code: str) -> tuple[EffectRange, ...]:
        """The catalogue's effects of project ``code`` on the plan's framework."""
        project = self.catalogue.get(code)
        fid = self.view.framework_id
        return tuple(e for e in project.effects if e.framework == fid) if project else ()

    def answered_by(self) -> dict[str, list[str]]:
        """Application code → the chosen projects answering it (from the catalogue)."""
        found: dict[str, list[str]] = {}
        for p in self.view.chosen:
            for app in self.catalogue[p.code].applications if p.code in self.catalogue else ():
                found.setdefault(app, []).append(p.code)
        return found

    @cached_property
    def chains(self) -> dict[str, tuple[str, ...]]:
        """For each chosen project, its longest chain of chosen prerequisites ending in it."""
        chosen = {p.code for p in self.view.chosen}
        known = chosen & self.catalogue.keys()  # a project since removed from the catalogue
        longest: dict[str, tuple[str, ...]] = {}

        def chain(code: str) -> tuple[str, ...]:
            if code not in longest:
                before = [q for q in self.catalogue[code].prerequisites if q in known]
                longest[code] = (*max((chain(q) for q in before), key=len, default=()), code)
            return longest[code]

        return {code: chain(code) for code in known}


def _period(p: ProjectRow) -> str:
    return f"{p.start_year}–{p.finish_year}" if p.start_year != p.finish_year else str(p.start_year)


def _effect_text(e: EffectRange) -> str:
    return t(
        "repplan.projects.effect",
        code=e.indicator,
        likely=f"{e.likely:g}",
        low=f"{e.low:g}",
        high=f"{e.high:g}",
    )


# -- 4 projects ----------------------------------------------------------------------------------


def project_sections(c: PlanContext) -> list[Block]:
    """The chosen projects: schedule, cost, staff and TOPSIS score; then needs and effects."""
    v = c.view
    chosen = v.chosen
    blocks: list[Block] = [
        Heading(t("repplan.h.projects")),
        Paragraph(
            t(
                "repplan.projects.summary",
                chosen=len(chosen),
                candidates=len(v.projects),
                cost=f"{sum(p.total_cost for p in chosen):,.1f}",
                staff=f"{sum(p.total_staff for p in chosen):,.1f}",
                need=f"{v.need_total:.2f}",
                gain=f"{v.gain_total:.2f}",
                objective="—" if v.objective is None else f"{v.objective:.3f}",
            )
        ),
        Table(
            t("repplan.table.projects"),
            (
                Column(t("repplan.col.code")),
                Column(t("repplan.col.project")),
                Column(t("repplan.col.phase")),
                Column(t("repplan.col.period")),
                Column(t("repplan.col.cost"), ColumnKind.NUMBER, 1),
                Column(t("repplan.col.staff"), ColumnKind.NUMBER, 1),
                Column(t("repplan.col.closeness"), ColumnKind.NUMBER, 3),
                Column(t("repplan.col.topsis_rank"), ColumnKind.INTEGER),
            ),
            tuple(
                (
                    p.code,
                    pick(p.name),
                    v.phase_label(p.phase),
                    _period(p),
                    p.total_cost,
                    p.total_staff,
                    p.closeness,
                    p.rank,
                )
                for p in chosen
            ),
            key=t("repplan.sheet.projects"),
            note=t("repplan.projects.topsis_note", count=len(v.projects)),
        ),
    ]
    apps = c.applications
    blocks.append(
        Table(
            t("repplan.table.needs_effects"),
            (
                Column(t("repplan.col.code")),
                Column(t("repplan.col.domain")),
                Column(t("repplan.col.needs")),
                Column(t("repplan.col.effects")),
            ),
            tuple(
                (
                    p.code,
                    pick(p.domain_name),
                    t("repplan.sep").join(
                        pick({"zh": apps[a].name_zh, "en": apps[a].name_en}) if a in apps else a
                        for a in (c.catalogue[p.code].applications if p.code in c.catalogue else ())
                    )
                    or "—",
                    "; ".join(_effect_text(e) for e in c.effects(p.code)) or "—",
                )
                for p in chosen
            ),
            key=t("repplan.sheet.needs_effects"),
            note=t("repplan.projects.catalogue_note"),
        )
    )
    return blocks


# -- 7 risks -------------------------------------------------------------------------------------


def risk_sentences(c: PlanContext) -> list[str]:
    """Each risk the stored result shows, as a sentence with its numbers."""
    v = c.view
    risks = []
    if v.status != "optimal":
        gap = "—" if v.relative_gap is None else f"{100 * v.relative_gap:.2f} %"
        risks.append(t("repplan.risk.not_optimal", status=t(f"planweb.status.{v.status}"), gap=gap))
    for resource in ("budget", "staff"):
        bound = [b for b in v.binding if b.resource == resource]
        if bound:
            where = t("repplan.sep").join(
                t(
                    "repplan.named",
                    name=v.phase_label(b.phase) if b.phase else b.year,
                    code=f"{b.used:,.1f}/{b.available:,.1f}",
                )
                for b in bound
            )
            risks.append(t(f"repplan.risk.binding_{resource}", where=where, count=len(bound)))
    longest = max(c.chains.values(), key=len, default=())
    if len(longest) >= LONG_CHAIN:
        risks.append(t("repplan.risk.chain", count=len(longest), chain=" → ".join(longest)))
    wide = [
        (p.code, e, e.high / e.low if e.low > 0 else np.inf)
        for p in v.chosen
        for e in c.effects(p.code)
        if e.high > 0 and (e.low == 0 or e.high / e.low >= WIDE_RANGE)
    ]
    if wide:
        named = t("repplan.sep_long").join(
            t(
                "repplan.risk.wide_item",
                code=code,
                indicator=e.indicator,
                low=f"{e.low:g}",
                high=f"{e.high:g}",
                ratio="∞" if not np.isfinite(r) else f"{r:.1f}",
            )
            for code, e, r in sorted(wide, key=lambda w: -w[2])[:LEFT_OUT_NAMED]
        )
        risks.append(t("repplan.risk.wide", count=len(wide), ratio=f"{WIDE_RANGE:g}", items=named))
    risks.append(t("repplan.risk.robustness", unit=v.unit))
    left = v.left_out
    built = [p.code for p in left if p.built]
    excluded = [p.code for p in left if p.excluded and not p.built]
    limited = sorted(
        (p for p in left if not (p.built or p.excluded)),
        key=lambda p: (p.rank or len(v.projects) + 1, p.code),
    )
    if left:
        risks.append(
            t(
                "repplan.risk.left_out",
                count=len(left),
                built=len(built),
                excluded=len(excluded),
                limited=len(limited),
                names=t("repplan.sep").join(
                    t("repplan.named", name=pick(p.name), code=f"{p.code}, {p.total_cost:,.0f}")
                    for p in limited[:LEFT_OUT_NAMED]
                )
                or "—",
            )
        )
    risks += [t("repplan.risk.conflict", text=k.render()) for k in v.conflicts]
    risks += [n.render() for n in v.notes]
    return risks


def risk_section(c: PlanContext) -> list[Block]:
    """Chapter 7: the risks as a list of sentences."""
    return [
        Heading(t("repplan.h.risks")),
        Paragraph(t("repplan.risk.intro")),
        BulletList(tuple(risk_sentences(c))),
    ]
