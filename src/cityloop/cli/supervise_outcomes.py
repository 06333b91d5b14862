"""``cityloop supervise assess|outcomes|feedback``: assess a unit's delivered projects, read its
outcome reports, feed the measured effects back into its project catalogue.

Thin adapter over ``services.outcomes``; the CLI user is a system actor already authorised.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.errors import InputError
from cityloop.i18n import pick, t
from cityloop.services import outcomes as service
from cityloop.services import store
from cityloop.services.outcomes import OutcomeReport

City = Annotated[str, typer.Argument(help=t("outcome.cli.arg_city"))]
AsOf = Annotated[str | None, typer.Option("--as-of", help=t("outcome.cli.opt_as_of"))]
ReportId = Annotated[int | None, typer.Option("--report", help=t("outcome.cli.opt_report"))]
AsJson = Annotated[bool, typer.Option("--json", help=t("outcome.cli.opt_json"))]


def register_supervise(app: typer.Typer) -> None:
    """Add assess, outcomes and feedback to ``cityloop supervise``."""
    for name, command in (("assess", assess_cmd), ("outcomes", outcomes_cmd),
                          ("feedback", feedback_cmd)):  # fmt: skip
        app.command(name, help=t(f"outcome.cli.{name}_help"))(command)


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("outcome.web.bad_date", value=text) from None


def print_report(report: OutcomeReport) -> None:
    """The report's heading, one row per project × indicator, and what was skipped."""
    console.print(
        t("outcome.cli.report", id=report.id, unit=report.unit, as_of=report.as_of.isoformat(),
          who=report.created_by, when=report.created_at.strftime("%Y-%m-%d %H:%M"))
    )  # fmt: skip
    table = Table()
    for key in ("project", "verdict", "spend", "indicator", "promised", "measured",
                "cost_per_unit"):  # fmt: skip
        table.add_column(t(f"outcome.web.col.{key}"))
    for p in report.projects:
        for i in p.indicators:
            cost = "—" if i.cost_per_unit is None else f"{i.cost_per_unit:,.1f}"
            table.add_row(
                f"{pick({'zh': p.name_zh, 'en': p.name_en or p.name_zh})} ({p.code})",
                f"{t(p.verdict.label_key)} / {t(i.verdict.label_key)}",
                f"{p.spend:,.1f}",
                i.indicator,
                f"{i.low:g} – {i.likely:g} – {i.high:g}",
                f"{i.estimate:.2f} [{i.ci_low:.2f}, {i.ci_high:.2f}]",
                cost,
            )
    console.print(table)
    if report.skipped:
        skipped = Table(title=t("outcome.web.skipped"))
        for key in ("project", "indicator", "reason"):
            skipped.add_column(t(f"outcome.web.col.{key}"))
        for s in report.skipped:
            skipped.add_row(s.code, s.indicator or "—", s.message)
        console.print(skipped)


def assess_cmd(city: City, as_of: AsOf = None, as_json: AsJson = False) -> None:
    with guarded():
        day = _day(as_of)
        report = service.assess_outcomes(store.open_database(), city, actor=store.cli_user(),
                                         as_of=day)  # fmt: skip
    if as_json:
        console.print_json(report.model_dump_json())
    else:
        print_report(report)


def outcomes_cmd(city: City, report: ReportId = None, as_json: AsJson = False) -> None:
    with guarded():
        db = store.open_database()
        listed = service.outcome_reports(db, city)
        chosen = report if report is not None else (listed[0].id if listed else None)
        found = None if chosen is None else service.outcome_report(db, chosen, unit=city)
    if as_json:
        payload = {"reports": [r.model_dump(mode="json") for r in listed],
                   "report": None if found is None else found.model_dump(mode="json")}  # fmt: skip
        console.print_json(json.dumps(payload, ensure_ascii=False))
        return
    if found is None:
        console.print(t("outcome.cli.none", unit=city))
        return
    table = Table(title=t("outcome.cli.reports", unit=city))
    for key in ("id", "as_of", "projects", "by"):
        table.add_column(t(f"outcome.cli.col.{key}"))
    for r in listed:
        table.add_row(str(r.id), r.as_of.isoformat(), str(r.projects), r.created_by)
    console.print(table)
    print_report(found)


def feedback_cmd(city: City, as_json: AsJson = False) -> None:
    with guarded():
        changes = service.feed_back(store.open_database(), city, actor=store.cli_user())
    if as_json:
        console.print_json(json.dumps([c.model_dump(mode="json") for c in changes]))
        return
    table = Table(title=t("outcome.cli.changed", count=len(changes)))
    for key in ("project", "indicator", "before", "after", "evidence"):
        table.add_column(t(f"outcome.web.col.{key}"))
    for c in changes:
        table.add_row(c.code, c.indicator, " – ".join(f"{v:.2f}" for v in c.before),
                      " – ".join(f"{v:.2f}" for v in c.after), str(c.evidence))  # fmt: skip
    console.print(table)
