"""Chapters 3 and 4 of the supervision bulletin: earned value (the S-curve, by phase, by domain,
per project) and the outcome assessment of a stored report; the bulletin's shared inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from cityloop.i18n import pick, t
from cityloop.reports import (
    Block,
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    Figure,
    Heading,
    Paragraph,
    ReferenceLine,
    Series,
    Table,
)
from cityloop.reports.document import Cell
from cityloop.services.outcomes import OutcomeReport, ProjectOutcome
from cityloop.services.plan import SavedPlan
from cityloop.services.supervision import Dashboard, Figures, GroupLine
from cityloop.services.supervision_view import (
    SCurve,
    domain_label,
    index_text,
    phase_label,
)

MONEY, INDEX = 1, 2  # decimals of 万元 and of indices, as the dashboard writes them
EFFECT = 2  # decimals of measured effects, as the outcomes page writes them
# The earned-value figures every table of chapter 3 shows, in this order.
EVM = ("bac", "pv", "ev", "ac", "spi", "cpi", "eac", "vac")


@dataclass(frozen=True)
class Bulletin:
    """What the bulletin reads: the dashboard and S-curve on the status date, the plans the
    projects came from, each project's name (in the bulletin's language) and state, the
    outcome report (None: none made yet) with its indicators' names, and the demo label
    (blank: real data)."""

    unit: str
    lang: str
    unit_name: str
    status_date: date
    board: Dashboard
    curve: SCurve | None
    plans: list[SavedPlan]
    project_names: dict[str, str]
    states: dict[str, str]
    outcome: OutcomeReport | None
    indicator_names: dict[str, str]
    illustrative: str


def light_word(light: str) -> str:
    """A traffic light as a word: its colour and the dashboard's label, e.g. 红（需整改）."""
    return t("repsup.light", colour=t(f"repsup.colour.{light}"),
             label=t(f"supervision.light.{light}"))  # fmt: skip


def index_cell(value: float) -> float | str | None:
    """An index or ratio as a table cell: ``∞`` as the dashboard writes it, a blank for an
    undefined one (NaN), a finite value as the number itself."""
    text = index_text(value)
    if text == "∞":
        return text
    return None if text == "—" else value


def _evm_columns() -> tuple[Column, ...]:
    return tuple(
        Column(
            t(f"repsup.evm_short.{k}"), ColumnKind.NUMBER, INDEX if k in ("spi", "cpi") else MONEY
        )
        for k in EVM
    )


def _evm_cells(f: Figures) -> tuple[Cell, ...]:
    return tuple(index_cell(getattr(f, k)) if k in ("spi", "cpi") else getattr(f, k) for k in EVM)


# -- 3 earned value -----------------------------------------------------------------------------


def _curve_figure(curve: SCurve) -> Figure:
    # month ends by their month; the status date (between two month ends) by its day
    days = tuple(d.isoformat() if d == curve.status_date else d.isoformat()[:7]
                 for d in curve.dates)  # fmt: skip
    series = (
        Series(t("repsup.evm.pv"), tuple(curve.pv)),
        Series(t("repsup.evm.ev"), tuple(curve.ev)),
        Series(t("repsup.evm.ac"), tuple(curve.ac)),
    )
    return Figure(
        t("repsup.figure.curve", date=curve.status_date.isoformat()),
        Chart(ChartKind.LINE, days, series, t("repsup.axis.money"),
              references=(ReferenceLine(t("repsup.evm.bac"), curve.bac),)),
    )  # fmt: skip


def _group_table(
    caption: str, key: str, groups: Sequence[GroupLine], label: Callable[[str], str]
) -> Table:
    rows = tuple((label(g.group), g.projects, *_evm_cells(g.figures)) for g in groups)
    return Table(
        caption,
        (Column(t("repsup.col.group")), Column(t("repsup.col.projects"), ColumnKind.INTEGER),
         *_evm_columns()),
        rows,
        key=key,
        note=t("repsup.evm.note"),
    )  # fmt: skip


def earned_value_section(b: Bulletin) -> list[Block]:
    """Chapter 3: the programme's S-curve, earned value by phase, by domain and per project."""
    board = b.board
    blocks: list[Block] = [Heading(t("repsup.h.evm")), Paragraph(t("repsup.evm.intro"))]
    if b.curve is not None:
        blocks.append(_curve_figure(b.curve))
    blocks += [
        _group_table(t("repsup.table.evm_phase"), t("repsup.sheet.evm_phase"), board.phases,
                     phase_label),
        _group_table(t("repsup.table.evm_domain"), t("repsup.sheet.evm_domain"), board.domains,
                     domain_label),
        Table(
            t("repsup.table.evm_projects"),
            (Column(t("repsup.col.project")), Column(t("repsup.col.state")),
             Column(t("repsup.col.light")), *_evm_columns()),
            tuple((b.project_names.get(p.code, p.name), t(f"repsup.state.{b.states[p.code]}"),
                   light_word(p.light), *_evm_cells(p.figures)) for p in board.projects),
            key=t("repsup.sheet.evm_projects"),
            note=t("repsup.evm.note"),
        ),
    ]  # fmt: skip
    return blocks


# -- 4 outcome assessment -----------------------------------------------------------------------


def _pre_trend(ok: bool | None, p: float | None) -> str:
    if ok is None:
        return "—"
    shown = "—" if p is None else f"{p:.2f}"
    return t("repsup.pretrend.ok" if ok else "repsup.pretrend.violated", p=shown)


def outcome_section(b: Bulletin) -> list[Block]:
    """Chapter 4: the chosen stored outcome report — projects with their verdicts, every
    promised indicator's measured effect, the skipped projects — or how to make one."""
    report = b.outcome
    blocks: list[Block] = [Heading(t("repsup.h.outcome"))]
    if report is None:
        return [*blocks, Paragraph(t("repsup.outcome.none", unit=b.unit))]
    confidence = f"{100 * report.confidence:g}"
    blocks.append(
        Paragraph(
            t("repsup.outcome.intro", id=report.id, as_of=report.as_of.isoformat(),
              who=report.created_by, when=report.created_at.strftime("%Y-%m-%d %H:%M"),
              confidence=confidence, framework=report.framework_id)
        )
    )  # fmt: skip
    if report.projects:
        blocks += _measured(b, report, confidence)
    else:
        blocks.append(Paragraph(t("repsup.outcome.none_measured")))
    if report.skipped:
        blocks.append(
            Table(
                t("repsup.table.skipped"),
                (Column(t("repsup.col.code")), Column(t("repsup.col.project")),
                 Column(t("repsup.col.indicator")), Column(t("repsup.col.reason"))),
                tuple((s.code, b.project_names.get(s.code, s.code),
                       b.indicator_names.get(s.indicator, s.indicator) if s.indicator else "—",
                       s.message) for s in report.skipped),
                key=t("repsup.sheet.skipped"),
            )
        )  # fmt: skip
    blocks.append(Paragraph(t("repsup.outcome.method", confidence=confidence), note=True))
    return blocks


def _measured(b: Bulletin, report: OutcomeReport, confidence: str) -> list[Block]:
    def name(p: ProjectOutcome) -> str:
        return pick({"zh": p.name_zh, "en": p.name_en or p.name_zh})

    pairs = [(p, i) for p in report.projects for i in p.indicators]
    label = {(p.code, i.indicator): f"{name(p)} · {b.indicator_names.get(i.indicator, i.indicator)}"
             for p, i in pairs}  # fmt: skip
    cost = Column(t("repsup.col.cost_per_unit"), ColumnKind.NUMBER, MONEY)
    return [
        Table(
            t("repsup.table.outcome_projects"),
            (Column(t("repsup.col.code")), Column(t("repsup.col.project")),
             Column(t("repsup.col.delivered")), Column(t("repsup.col.spend"), ColumnKind.NUMBER,
                                                       MONEY),
             Column(t("repsup.col.high_spend")), Column(t("repsup.col.verdict"))),
            tuple((p.code, name(p), p.delivered.isoformat(), p.spend,
                   t("repsup.yes") if p.high_spend else "—", t(p.verdict.label_key))
                  for p in report.projects),
            key=t("repsup.sheet.outcome_projects"),
        ),
        Table(
            t("repsup.table.effects", confidence=confidence),
            (Column(t("repsup.col.code")), Column(t("repsup.col.indicator")),
             Column(t("repsup.col.promised_low"), ColumnKind.NUMBER, EFFECT),
             Column(t("repsup.col.promised_likely"), ColumnKind.NUMBER, EFFECT),
             Column(t("repsup.col.promised_high"), ColumnKind.NUMBER, EFFECT),
             Column(t("repsup.col.effect"), ColumnKind.NUMBER, EFFECT),
             Column(t("repsup.col.ci_low", confidence=confidence), ColumnKind.NUMBER, EFFECT),
             Column(t("repsup.col.ci_high", confidence=confidence), ColumnKind.NUMBER, EFFECT),
             Column(t("repsup.col.pretrend")), Column(t("repsup.col.verdict")), cost),
            tuple((p.code, b.indicator_names.get(i.indicator, i.indicator), i.low, i.likely,
                   i.high, i.estimate, i.ci_low, i.ci_high,
                   _pre_trend(i.pre_trend_ok, i.pre_trend_p), t(i.verdict.label_key),
                   t("outcome.cost.no_improvement") if i.cost_per_unit is None
                   else i.cost_per_unit)
                  for p, i in pairs),
            key=t("repsup.sheet.effects"),
            note=t("repsup.outcome.effects_note"),
        ),
        Figure(
            t("repsup.figure.forest", confidence=confidence),
            Chart(
                ChartKind.SPAN,
                tuple(label[p.code, i.indicator] for p, i in pairs),
                (Series(t("repsup.col.ci_low", confidence=confidence),
                        tuple(i.ci_low for _, i in pairs)),
                 Series(t("repsup.col.ci_high", confidence=confidence),
                        tuple(i.ci_high for _, i in pairs)),
                 Series(t("repsup.col.effect"), tuple(i.estimate for _, i in pairs))),
                t("repsup.axis.effect"),
                references=(ReferenceLine(t("repsup.figure.no_effect"), 0.0),),
                groups=tuple(t(i.verdict.label_key) for _, i in pairs),
            ),
        ),
    ]  # fmt: skip
