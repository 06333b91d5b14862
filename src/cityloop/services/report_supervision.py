"""The supervision bulletin (建设监督通报) of a city's programme on a status date: the title
page, programme status and early warnings; earned value and outcomes are in ``…_sections``.

Every number is the supervision dashboard's, the S-curve's or a stored outcome report's.
"""

from __future__ import annotations

from datetime import date

from cityloop.errors import InputError
from cityloop.i18n import normalise_language, t, use_language
from cityloop.reports import (
    Block,
    Column,
    ColumnKind,
    Document,
    Heading,
    PageBreak,
    Paragraph,
    Table,
)
from cityloop.services.outcomes import outcome_report, outcome_reports
from cityloop.services.plan import PlanNotFoundError, SavedPlan, plan
from cityloop.services.report_files import ReportFile, report_file, report_format, report_language
from cityloop.services.report_plan import demo_marks
from cityloop.services.report_supervision_sections import (
    Bulletin,
    earned_value_section,
    index_cell,
    light_word,
    outcome_section,
)
from cityloop.services.run_results import unit_names
from cityloop.services.supervision import Dashboard, supervision_dashboard, tracked
from cityloop.services.supervision_view import (
    domain_label,
    index_text,
    money_text,
    phase_label,
    s_curve,
)
from cityloop.store import Database

# The states a project is counted in, in the order the bulletin lists them.
STATES = ("not_started", "in_progress", "completed", "late")


def supervision_report(
    db: Database,
    unit: str,
    status_date: date,
    *,
    outcome_id: int | None = None,
    lang: str = "zh-CN",
) -> Document:
    """The supervision bulletin of ``unit``'s programme on ``status_date`` in ``lang``.

    Parameters
    ----------
    db
        The store.
    unit
        A city (any stored unit); the caller has checked the reader may see it.
    status_date
        The day the programme is reported as it stood (``supervision_dashboard``'s).
    outcome_id
        A stored outcome report of ``unit`` for chapter 4; by default its newest, if any.
    lang
        ``zh-CN`` (default) or ``en``.

    Returns
    -------
    Document
        Title page and four chapters: programme status, early warnings and boundary checks,
        earned value, outcome assessment. Figures are the dashboard's on ``status_date`` and
        the chosen outcome report's as stored; nothing is computed here.

    Raises
    ------
    InputError
        ``unit`` is not a stored unit.
    OutcomeReportNotFoundError
        ``outcome_id`` is not a report of ``unit``.
    """
    language = normalise_language(lang)
    with use_language(language):
        return bulletin_document(read_bulletin(db, unit, status_date, outcome_id, language))


def supervision_report_file(
    db: Database,
    unit: str,
    status_date: date,
    fmt: str,
    *,
    outcome_id: int | None = None,
    lang: str = "zh-CN",
    served: bool = False,
) -> ReportFile:
    """The bulletin rendered as ``fmt`` (``served``: see ``report_file``). The format and
    language are checked before anything is read (``InputError``)."""
    chosen, language = report_format(fmt), report_language(lang)
    doc = supervision_report(db, unit, status_date, outcome_id=outcome_id, lang=language)
    name = f"{unit}-{status_date.isoformat()}.{chosen.value}"
    return report_file(doc, chosen, f"{t('repsup.filename', language)}-{name}",
                       f"{t('repsup.filename', 'en')}-{name}", served=served)  # fmt: skip


def read_bulletin(
    db: Database, unit: str, status_date: date, outcome_id: int | None, lang: str
) -> Bulletin:
    """Everything the bulletin shows, read once, messages in the current language."""
    names = unit_names(db, lang)
    if unit not in names:
        raise InputError("repsup.unknown_unit", unit=unit)
    stored = tracked(db, unit, as_of=status_date)
    plans = _plans(db, sorted({p.plan_id for p in stored if p.plan_id is not None}))
    if outcome_id is None:
        listed = outcome_reports(db, unit)
        outcome_id = listed[0].id if listed else None
    outcome = None if outcome_id is None else outcome_report(db, outcome_id, unit=unit)
    board = supervision_dashboard(db, unit, status_date)
    indicators = {}
    if outcome is not None:
        framework = db.framework(outcome.framework_id)
        indicators = {c: framework.name(c, lang) for c in framework.indicator_codes}
    en = lang == "en"
    return Bulletin(
        unit=unit,
        lang=lang,
        unit_name=names[unit],
        status_date=status_date,
        board=board,
        curve=s_curve(db, unit, status_date),
        plans=plans,
        project_names={
            p.record.code: (p.name_en if en and p.name_en else p.record.name) for p in stored
        },
        states=project_states(board),
        outcome=outcome,
        indicator_names=indicators,
        illustrative=_illustrative(db, plans),
    )


def _plans(db: Database, plan_ids: list[int]) -> list[SavedPlan]:
    """The saved plans the tracked projects came from (a deleted plan is left out)."""
    found = []
    for plan_id in plan_ids:
        try:
            found.append(plan(db, plan_id))
        except PlanNotFoundError:
            continue  # the projects stay tracked; the title page names the plans still kept
    return found


def _illustrative(db: Database, plans: list[SavedPlan]) -> str:
    """The label a bulletin on demo data must carry: a plan on synthetic values or with an
    illustrative name (the demo's); blank for a programme wholly of an office's own."""
    if not any(any(demo_marks(db, p)) for p in plans):
        return ""
    return t("repsup.label.synthetic")


def project_states(board: Dashboard) -> dict[str, str]:
    """Each project's state on the status date, one of ``STATES``.

    Completed: everything earned (EV = BAC) or reported 100 %; late: a delay warning;
    not started: nothing earned and nothing paid; in progress: the rest.
    """
    delayed = {w.project for w in board.warnings if w.kind == "delay"}
    states = {}
    for p in board.projects:  # a handful of projects: arranging, not arithmetic
        f = p.figures
        if (f.bac > 0 and f.ev >= f.bac - 1e-6) or p.percent_complete >= 100:
            states[p.code] = "completed"
        elif p.code in delayed:
            states[p.code] = "late"
        elif f.ev == 0 and f.ac == 0:
            states[p.code] = "not_started"
        else:
            states[p.code] = "in_progress"
    return states


def bulletin_document(b: Bulletin) -> Document:
    """The bulletin of ``b`` in the current language."""
    blocks: list[Block] = [
        Paragraph(t("repsup.source_note", date=b.status_date.isoformat()), note=True),
        *([Paragraph(b.illustrative, note=True)] if b.illustrative else []),
        PageBreak(),
    ]
    if b.board.projects:
        blocks += [*_status_section(b), *_warning_section(b), *earned_value_section(b)]
    else:
        blocks += [Heading(t("repsup.h.status")), Paragraph(t("repsup.nothing_tracked"))]
    blocks += outcome_section(b)
    return Document(
        title=t("repsup.title", unit=b.unit_name),
        lang=b.lang,
        issued=date.today(),
        subtitle=t("repsup.subtitle", date=b.status_date.isoformat()),
        facts=_facts(b),
        blocks=tuple(blocks),
    )


def _facts(b: Bulletin) -> tuple[tuple[str, str], ...]:
    plans = t("repsup.sep").join(t("repsup.named", name=p.name, code=f"#{p.id}") for p in b.plans)
    outcome = "—" if b.outcome is None else t(
        "repsup.fact.outcome_value", id=b.outcome.id, as_of=b.outcome.as_of.isoformat()
    )  # fmt: skip
    facts = [
        (t("repsup.fact.unit"), t("repsup.named", name=b.unit_name, code=b.unit)),
        (t("repsup.fact.status_date"), b.status_date.isoformat()),
        (t("repsup.fact.plans"), plans or "—"),
        (t("repsup.fact.projects"), str(len(b.board.projects))),
        (t("repsup.fact.outcome"), outcome),
    ]
    if b.illustrative:
        facts.append((t("repsup.fact.nature"), b.illustrative))
    return tuple(facts)


# -- 1 programme status -------------------------------------------------------------------------


def _status_section(b: Bulletin) -> list[Block]:
    f = b.board.total
    assert f is not None, "a programme with projects has totals"
    summary = t(
        "repsup.status.summary", date=b.status_date.isoformat(), projects=len(b.board.projects),
        bac=money_text(f.bac), pv=money_text(f.pv), ev=money_text(f.ev), ac=money_text(f.ac),
        spi=index_text(f.spi), cpi=index_text(f.cpi), eac=money_text(f.eac),
        vac=money_text(f.vac),
    )  # fmt: skip
    counts = {s: sum(state == s for state in b.states.values()) for s in STATES}
    by_state = t("repsup.sep").join(
        t("repsup.status.count", state=t(f"repsup.state.{s}"), n=counts[s]) for s in STATES
    )
    groups = [(t("repsup.by.phase"), g, phase_label(g.group)) for g in b.board.phases]
    groups += [(t("repsup.by.domain"), g, domain_label(g.group)) for g in b.board.domains]
    return [
        Heading(t("repsup.h.status")),
        Paragraph(summary),
        Paragraph(t("repsup.status.states", states=by_state)),
        Table(
            t("repsup.table.states"),
            (Column(t("repsup.col.state")), Column(t("repsup.col.projects"), ColumnKind.INTEGER)),
            tuple((t(f"repsup.state.{s}"), counts[s]) for s in STATES),
            key=t("repsup.sheet.states"),
            note=t("repsup.status.states_note"),
        ),
        Table(
            t("repsup.table.lights"),
            (
                Column(t("repsup.col.grouping")),
                Column(t("repsup.col.group")),
                Column(t("repsup.col.light")),
                Column(t("repsup.col.projects"), ColumnKind.INTEGER),
                Column(t("repsup.col.red"), ColumnKind.INTEGER),
                Column(t("repsup.col.amber"), ColumnKind.INTEGER),
                Column(t("repsup.col.green"), ColumnKind.INTEGER),
            ),
            tuple(
                (
                    by,
                    label,
                    light_word(g.light),
                    g.projects,
                    g.red,
                    g.amber,
                    g.projects - g.red - g.amber,
                )
                for by, g, label in groups
            ),
            key=t("repsup.sheet.lights"),
            note=t("repsup.status.lights_note"),
        ),
    ]


# -- 2 early warnings and boundary checks -------------------------------------------------------


def _warning_section(b: Bulletin) -> list[Block]:
    board = b.board
    blocks: list[Block] = [Heading(t("repsup.h.warnings"))]
    if board.warnings:
        blocks.append(Paragraph(t("repsup.warnings.intro", n=len(board.warnings),
                                  projects=len({w.project for w in board.warnings}))))  # fmt: skip
        blocks.append(
            Table(
                t("repsup.table.warnings"),
                (
                    Column(t("repsup.col.code")),
                    Column(t("repsup.col.project")),
                    Column(t("repsup.col.kind")),
                    Column(t("repsup.col.severity")),
                    Column(t("repsup.col.evidence")),
                ),
                tuple(
                    (
                        w.project,
                        b.project_names.get(w.project, w.project),
                        t(f"supervision.warning_kind.{w.kind}"),
                        light_word(w.severity),
                        w.message,
                    )
                    for w in board.warnings
                ),
                key=t("repsup.sheet.warnings"),
            )
        )
    else:
        blocks.append(Paragraph(t("repsup.warnings.none", date=b.status_date.isoformat())))
    blocks.append(Heading(t("repsup.h.boundary"), level=2))
    if board.boundary:
        blocks.append(
            Table(
                t("repsup.table.boundary"),
                (
                    Column(t("repsup.col.code")),
                    Column(t("repsup.col.project")),
                    Column(t("repsup.col.kind")),
                    Column(t("repsup.col.evidence")),
                ),
                tuple(
                    (
                        f.project,
                        b.project_names.get(f.project, f.project),
                        t(f"supervision.boundary_kind.{f.kind}"),
                        f.message,
                    )
                    for f in board.boundary
                ),
                key=t("repsup.sheet.boundary"),
            )
        )
    else:
        blocks.append(Paragraph(t("repsup.boundary.none")))
    blocks.append(
        Table(
            t("repsup.table.spending"),
            (
                Column(t("repsup.col.basis")),
                Column(t("repsup.col.infrastructure"), ColumnKind.NUMBER, 1),
                Column(t("repsup.col.citizen"), ColumnKind.NUMBER, 1),
                Column(t("repsup.col.other"), ColumnKind.NUMBER, 1),
                Column(t("repsup.col.ratio"), ColumnKind.NUMBER, 2),
                Column(t("repsup.col.limit"), ColumnKind.NUMBER, 2),
                Column(t("repsup.col.flag")),
            ),
            tuple(
                (
                    t(f"repsup.basis.{s.basis}"),
                    s.infrastructure,
                    s.citizen,
                    s.other,
                    index_cell(s.ratio),
                    s.limit,
                    s.message or t("repsup.spending.within"),
                )
                for s in board.spending
            ),
            key=t("repsup.sheet.spending"),
            note=t("repsup.spending.note"),
        )
    )
    return blocks
