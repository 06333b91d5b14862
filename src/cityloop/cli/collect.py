"""``cityloop collect open|status|remind``: data collection rounds from the command line.

Thin adapter over ``cityloop.services.collection``; the command line acts as an administrator
(whoever may run it may open the database file anyway) and the audit log names the OS user.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.table import Table

from cityloop.accounts import Principal, Role
from cityloop.cli.common import console, guarded
from cityloop.errors import InputError
from cityloop.i18n import pick, t
from cityloop.services import collection as service
from cityloop.services import store

collect_app = typer.Typer(help=t("collect.cli.help"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``collect`` group to ``app``."""
    app.add_typer(collect_app, name="collect")


def _cli_principal() -> Principal:
    return Principal(store.cli_user(), Role.ADMINISTRATOR)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError("collect.cli.bad_deadline", value=value) from None


@collect_app.command("open", help=t("collect.cli.open_help"))
def open_cmd(
    framework: Annotated[str, typer.Option("--framework", help=t("collect.cli.opt_framework"))],
    year: Annotated[int, typer.Option("--year", help=t("collect.cli.opt_year"))],
    deadline: Annotated[str, typer.Option("--deadline", help=t("collect.cli.opt_deadline"))],
    note: Annotated[str, typer.Option("--note", help=t("collect.cli.opt_note"))] = "",
) -> None:
    with guarded():
        day = _day(deadline)
        db = store.open_database()
        opened = service.open_round(db, _cli_principal(), framework, year, day, note=note)
    console.print(
        t("collect.cli.opened", round=opened.id, framework=framework, year=year, day=day),
        soft_wrap=True,
    )


@collect_app.command("status", help=t("collect.cli.status_help"))
def status_cmd(
    round_id: Annotated[
        int | None, typer.Option("--round", help=t("collect.cli.opt_round"))
    ] = None,
) -> None:
    with guarded():
        db = store.open_database()
        chosen = service.choose_round(db, round_id)
        if chosen is None:
            raise InputError("collect.no_round")
        principal = _cli_principal()
        scope = service.scope_of(db, principal, chosen, datetime.now(UTC))
        progress = service.progress(db, scope)
        departments = service.by_department(db, principal, scope, progress)
    left = scope.deadline.days_left
    title = t(
        "collect.cli.status_title",
        round=chosen.id,
        framework=pick(scope.framework.spec.title.as_dict()),
        year=chosen.year,
        day=scope.deadline.day.isoformat(),
        left=t("collect.days_over", days=-left) if left < 0 else t("collect.days_left", days=left),
        share=f"{progress.share:.1%}",
    )
    table = Table(title=title)
    table.add_column(t("collect.col.department"))
    for key in ("owed", "missing"):
        table.add_column(t(f"collect.col.{key}"), justify="right")
    table.add_column(t("collect.share"), justify="right")
    table.add_column(t("collect.col.chase"))
    for d in departments:
        sent = d.last_reminder
        chased = service.shown_time(sent.sent_at) if sent else ""
        table.add_row(d.name, str(d.owed), str(d.missing), f"{d.share:.1%}", chased)
    console.print(table)


@collect_app.command("remind", help=t("collect.cli.remind_help"))
def remind_cmd(
    department: Annotated[str, typer.Option("--department", help=t("collect.cli.opt_department"))],
    round_id: Annotated[
        int | None, typer.Option("--round", help=t("collect.cli.opt_round"))
    ] = None,
    unit: Annotated[str | None, typer.Option("--unit", help=t("collect.cli.opt_unit"))] = None,
    message: Annotated[str, typer.Option("--message", help=t("collect.cli.opt_message"))] = "",
) -> None:
    with guarded():
        db = store.open_database()
        chosen = service.choose_round(db, round_id)
        if chosen is None:
            raise InputError("collect.no_round")
        sent = service.send_reminder(
            db, _cli_principal(), chosen.id, department, unit=unit, message=message
        )
    console.print(
        t(
            "collect.cli.reminded",
            department=service.department_name(department),
            round=chosen.id,
            at=service.shown_time(sent.sent_at),
        ),
        soft_wrap=True,
    )
