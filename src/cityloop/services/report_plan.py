"""The top-level design document (顶层设计方案) of a saved plan: title page, needs analysis,
diagnosis and plan-type emphasis here; the projects, roadmap, trajectory and risks are in
``report_plan_sections``. Every number is the stored plan's or a named service's.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from cityloop.errors import CityLoopError
from cityloop.i18n import normalise_language, pick, t, use_language
from cityloop.planning.project_types import PlanType
from cityloop.reports import (
    Block,
    BulletList,
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    Document,
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    Series,
    Table,
)
from cityloop.services.plan import SavedPlan, plan
from cityloop.services.plan_catalogue import unit_view
from cityloop.services.plan_diagnosis import DiagnosisReport, application_catalogue, diagnose
from cityloop.services.report_evaluation import has_demo_values
from cityloop.services.report_files import ReportFile, report_file, report_format, report_language
from cityloop.services.report_plan_needs import needs_section
from cityloop.services.report_plan_roadmap import roadmap_section, trajectory_section
from cityloop.services.report_plan_sections import PlanContext, project_sections, risk_section
from cityloop.services.run_results import unit_names
from cityloop.store import Database

# The demo writes this word into every synthetic value's source (cityloop.demo.generator).
ILLUSTRATIVE_NAMES = ("示意", "illustrative", "合成", "synthetic")


def plan_report(db: Database, plan_id: int, *, lang: str = "zh-CN") -> Document:
    """The top-level design document of saved plan ``plan_id`` in ``lang``.

    Parameters
    ----------
    db
        The store.
    plan_id
        A saved plan; the caller has checked the reader may see its unit.
    lang
        ``zh-CN`` (default) or ``en``.

    Returns
    -------
    Document
        Title page and seven chapters: needs, diagnosis, plan-type emphasis, projects,
        roadmap, expected trajectory and risks. The plan's own numbers come from its stored
        result unchanged (nothing is solved again); the needs analysis, the diagnosis and the
        catalogue's effects are read now with the services the plan pages use, as notes say.

    Raises
    ------
    PlanNotFoundError
        No saved plan with that id.
    """
    return plan_document(db, plan(db, plan_id), normalise_language(lang))


def plan_document(db: Database, saved: SavedPlan, lang: str) -> Document:
    """The document of plan ``saved`` already read, in ``lang`` (``zh-CN`` or ``en``)."""
    with use_language(lang):
        context = plan_context(db, saved, lang)
        blocks: list[Block] = [
            Paragraph(t("repplan.source_note", plan=saved.id, run=saved.view.run_id), note=True),
            *([Paragraph(context.illustrative, note=True)] if context.illustrative else []),
            PageBreak(),
            *needs_section(db, context),
            *_diagnosis_and_emphasis(db, context),
            *project_sections(context),
            *roadmap_section(context),
            *trajectory_section(context),
            *risk_section(context),
        ]
        return Document(
            title=t("repplan.title", unit=context.unit_name),
            lang=lang,
            issued=date.today(),
            subtitle=saved.name,
            facts=_facts(context),
            blocks=tuple(blocks),
        )


def plan_report_file(
    db: Database, plan_id: int, fmt: str, *, lang: str = "zh-CN", served: bool = False
) -> ReportFile:
    """The top-level design document of plan ``plan_id`` rendered as ``fmt`` (``served``: see
    ``report_file``). The format and language are checked before anything is read
    (``InputError``); an unknown plan raises ``PlanNotFoundError``."""
    chosen, language = report_format(fmt), report_language(lang)
    saved = plan(db, plan_id)
    doc = plan_document(db, saved, language)
    name = f"{saved.unit}-{saved.id}.{chosen.value}"
    return report_file(doc, chosen, f"{t('repplan.filename', language)}-{name}",
                       f"{t('repplan.filename', 'en')}-{name}", served=served)  # fmt: skip


def plan_context(db: Database, saved: SavedPlan, lang: str) -> PlanContext:
    """What the document reads beside the saved plan: names, framework, the unit's catalogue
    (effects and needs of each project) and the label a demo plan must carry."""
    framework = db.framework(saved.view.framework_id)
    catalogue = unit_view(db, saved.unit)
    status = catalogue.status
    return PlanContext(
        saved=saved,
        unit_name=unit_names(db, lang).get(saved.unit, saved.unit),
        framework=framework,
        catalogue=catalogue.catalogue.projects,
        applications=application_catalogue(),
        illustrative=_illustrative(db, saved, [status.get(p.code) for p in saved.view.chosen]),
    )


def demo_marks(db: Database, saved: SavedPlan) -> tuple[bool, bool]:
    """Whether ``saved`` rests on the demo's synthetic values, and whether its name says it is
    illustrative (the demo's plans do): either makes a document on it say so."""
    view = saved.view
    synthetic = has_demo_values(db, view.framework_id, view.evaluation_year, [saved.unit])
    return synthetic, any(word in saved.name.lower() for word in ILLUSTRATIVE_NAMES)


def _illustrative(db: Database, saved: SavedPlan, statuses: list[str | None]) -> str:
    """The label a demo plan must carry: synthetic data, an illustrative name or shipped
    (ILLUSTRATIVE) catalogue figures; blank for a plan built wholly on an office's own."""
    synthetic, named = demo_marks(db, saved)
    shipped = "shipped" in statuses
    if not (synthetic or named or shipped):
        return ""
    parts = [t("repplan.label.illustrative")]
    parts += [t("repplan.label.synthetic")] if synthetic else []
    parts += [t("repplan.label.catalogue")] if shipped else []
    return " ".join(parts)


def _facts(c: PlanContext) -> tuple[tuple[str, str], ...]:
    v, s = c.saved.view, c.saved
    last = v.first_year + sum(v.phase_years) - 1
    gap = "—" if v.relative_gap is None else f"{100 * v.relative_gap:.2f} %"
    facts = [
        (t("repplan.fact.unit"), t("repplan.named", name=c.unit_name, code=s.unit)),
        (t("repplan.fact.plan"), t("repplan.named", name=s.name, code=f"#{s.id}")),
        (
            t("repplan.fact.period"),
            t(
                "repplan.fact.period_value",
                first=v.first_year,
                last=last,
                years=last - v.first_year + 1,
            ),
        ),
        (
            t("repplan.fact.framework"),
            t("repplan.named", name=pick(c.framework.spec.title.as_dict()), code=v.framework_id),
        ),
        (
            t("repplan.fact.evaluation"),
            t(
                "repplan.fact.evaluation_value",
                run=v.run_id,
                year=v.evaluation_year,
                total=f"{v.baseline_total:.2f}",
                stage=v.stage_name(v.baseline_stage),
            ),
        ),
        (
            t("repplan.fact.saved"),
            t(
                "repplan.fact.saved_value",
                who=s.created_by,
                when=s.created_at.strftime("%Y-%m-%d %H:%M"),
            ),
        ),
        (
            t("repplan.fact.solver"),
            t(
                "repplan.fact.solver_value",
                status=t(f"planweb.status.{v.status}"),
                gap=gap,
                objective="—" if v.objective is None else f"{v.objective:.3f}",
            ),
        ),
        (t("repplan.fact.case"), t(f"planweb.case.{v.case}")),
    ]
    if c.illustrative:
        facts.append((t("repplan.fact.nature"), c.illustrative))
    return tuple(facts)


# -- 2 diagnosis and 3 emphasis ----------------------------------------------------------------


def _diagnosis(db: Database, c: PlanContext) -> tuple[DiagnosisReport | None, str]:
    v = c.saved.view
    try:
        found = diagnose(
            db, c.saved.unit, framework_id=v.framework_id, run_id=v.run_id, year=v.evaluation_year
        )
    except CityLoopError as refused:
        return None, refused.render()
    return found, ""


def _diagnosis_and_emphasis(db: Database, c: PlanContext) -> list[Block]:
    v = c.saved.view
    report, refused = _diagnosis(db, c)
    blocks: list[Block] = [Heading(t("repplan.h.diagnosis"))]
    if report is None:
        blocks.append(Paragraph(t("repplan.diagnosis.refused", problem=refused)))
        return [*blocks, *_emphasis(c, None)]
    blocks.append(
        Paragraph(
            t(
                "repplan.diagnosis.stage",
                year=v.evaluation_year,
                total=f"{v.baseline_total:.2f}",
                stage=report.stage_name or "—",
                peers=report.peers,
                run=v.run_id,
            )
        )
    )
    weak = t("repplan.sep").join(d.name for d in report.dimensions if d.weak) or "—"
    strong = t("repplan.sep").join(d.name for d in report.dimensions if d.strong) or "—"
    blocks.append(Paragraph(t("repplan.diagnosis.weak_strong", weak=weak, strong=strong)))
    blocks.append(
        Table(
            t("repplan.table.dimensions"),
            (
                Column(t("repplan.col.code")),
                Column(t("repplan.col.dimension")),
                Column(t("repplan.col.score"), ColumnKind.NUMBER, 2),
                Column(t("repplan.col.peer_best"), ColumnKind.NUMBER, 2),
                Column(t("repplan.col.rank"), ColumnKind.INTEGER),
                Column(t("repplan.col.percentile"), ColumnKind.PERCENT, 0),
                Column(t("repplan.col.verdict")),
            ),
            tuple(
                (
                    d.code,
                    d.name,
                    d.score,
                    d.best,
                    d.rank,
                    d.percentile,
                    t("repplan.verdict.weak")
                    if d.weak
                    else t("repplan.verdict.strong")
                    if d.strong
                    else "—",
                )
                for d in report.dimensions
            ),
            key=t("repplan.sheet.dimensions"),
            note=t("repplan.diagnosis.peers_note", peers=report.peers),
        )
    )
    if report.reasons:
        blocks.append(Paragraph(t("repplan.diagnosis.reasons")))
        blocks.append(BulletList(tuple(dict.fromkeys(r.text for r in report.reasons))))
    blocks.append(Paragraph(t("repplan.diagnosis.note"), note=True))
    return [*blocks, *_emphasis(c, report)]


def achieved_shares(c: PlanContext) -> dict[str, float]:
    """Each plan type's share of the chosen plan as the optimiser counts it: the need value
    (or, ``share_of="projects"``, the number) of the chosen projects of that type over all
    chosen; a project of two types counts for both."""
    chosen = c.saved.view.chosen
    by_value = c.saved.settings.share_of == "value"
    weight = np.array([p.need_value if by_value else 1.0 for p in chosen], dtype=np.float64)
    members = np.array([[pt.value in p.plan_types for p in chosen] for pt in PlanType], dtype=bool)
    total = weight.sum()
    shares = members @ weight / total if total > 0 else np.zeros(len(PlanType))
    return {pt.value: float(s) for pt, s in zip(PlanType, shares, strict=True)}


def _emphasis(c: PlanContext, report: DiagnosisReport | None) -> list[Block]:
    settings = c.saved.settings
    achieved = achieved_shares(c)
    suggested = {ts.plan_type: ts.share for ts in report.types} if report else {}
    minimum = {str(k): v for k, v in settings.min_share.items()}
    counts = {
        pt.value: sum(pt.value in p.plan_types for p in c.saved.view.chosen) for pt in PlanType
    }
    blocks: list[Block] = [Heading(t("repplan.h.emphasis"))]
    if report is not None:
        blocks.append(Paragraph(report.headline))
    used = t("repplan.sep_long").join(
        f"{t(f'plandiag.type.{k}')} ≥ {100 * s:g} %" for k, s in minimum.items()
    )
    blocks.append(
        Paragraph(
            t(
                "repplan.emphasis.minimum",
                used=used or t("repplan.emphasis.none"),
                share_of=t(f"repplan.share_of.{settings.share_of}"),
            )
        )
    )
    types = [pt.value for pt in PlanType]
    names = tuple(t(f"plandiag.type.{k}") for k in types)
    primary = {report.primary: t("repplan.emphasis.primary")} if report else {}
    if report is not None and report.secondary:
        primary[report.secondary] = t("repplan.emphasis.secondary")
    blocks.append(
        Table(
            t("repplan.table.emphasis"),
            (
                Column(t("repplan.col.plan_type")),
                Column(t("repplan.col.role")),
                Column(t("repplan.col.suggested"), ColumnKind.PERCENT, 1),
                Column(t("repplan.col.minimum"), ColumnKind.PERCENT, 1),
                Column(t("repplan.col.achieved"), ColumnKind.PERCENT, 1),
                Column(t("repplan.col.projects"), ColumnKind.INTEGER),
            ),
            tuple(
                (
                    name,
                    primary.get(k, "—"),
                    suggested.get(k),
                    minimum.get(k),
                    achieved[k],
                    counts[k],
                )
                for k, name in zip(types, names, strict=True)
            ),
            key=t("repplan.sheet.emphasis"),
            note=t("repplan.emphasis.note"),
        )
    )
    series = [Series(t("repplan.col.achieved"), tuple(100 * achieved[k] for k in types))]
    if suggested:
        series.insert(
            0, Series(t("repplan.col.suggested"), tuple(100 * suggested.get(k, 0.0) for k in types))
        )
    blocks.append(
        Figure(
            t("repplan.figure.emphasis"),
            Chart(ChartKind.BAR, names, tuple(series), t("repplan.axis.share")),
        )
    )
    return blocks
