"""``cityloop supervise template|upload|baseline``: the progress workbook of a city's tracked
projects, its upload (all or nothing) and baseline changes (变更) of one project.

Thin adapter over ``services.supervision_excel`` and ``services.supervision_baseline``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from cityloop.accounts import Principal, Role
from cityloop.cli.common import console, guarded
from cityloop.errors import InputError
from cityloop.i18n import t
from cityloop.services import store
from cityloop.services.files import write_atomically
from cityloop.services.supervision_baseline import baseline_summary, change_baseline
from cityloop.services.supervision_excel import progress_template, upload_progress
from cityloop.store import Database

City = Annotated[str, typer.Argument(help=t("supervision.cli.arg_city"))]
Owner = Annotated[str | None, typer.Option("--owner", help=t("supervision.cli.opt_owner"))]
Milestones = Annotated[
    list[str] | None, typer.Option("--milestone", help=t("supervision.cli.opt_milestone"))
]
Gates = Annotated[list[str] | None, typer.Option("--gate", help=t("supervision.cli.opt_gate"))]
Budget = Annotated[list[str] | None, typer.Option("--budget", help=t("supervision.cli.opt_budget"))]
Risks = Annotated[list[str] | None, typer.Option("--risk", help=t("supervision.cli.opt_risk"))]


def _actor(db: Database, username: str | None) -> Principal:
    """The stored user the command acts as; without one, the CLI administrator."""
    if username is None:
        return Principal(store.cli_user(), Role.ADMINISTRATOR)
    row = db.user(username)
    if row is None or not row.active:
        raise InputError("supervision.cli.unknown_user", user=username)
    return Principal(row.username, row.role, row.scope, row.department)


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(content)


def template_cmd(
    city: City,
    out: Annotated[Path, typer.Option("--out", help=t("supervision.cli.opt_out"))],
    lang: Annotated[str, typer.Option("--lang", help=t("supervision.cli.opt_lang"))] = "zh-CN",
    user: Annotated[str | None, typer.Option("--user", help=t("supervision.cli.opt_user"))] = None,
) -> None:
    """Write the prefilled progress workbook of CITY."""
    with guarded():
        db = store.open_database()
        content = progress_template(db, city, actor=_actor(db, user), lang=lang,
                                    today=date.today())  # fmt: skip
        write_atomically(out, lambda tmp: _write(tmp, content))
    console.print(t("supervision.cli.template_written", file=str(out)), soft_wrap=True)


def upload_cmd(
    city: City,
    file: Annotated[Path, typer.Argument(help=t("supervision.cli.arg_file"))],
    user: Annotated[str, typer.Option("--user", help=t("supervision.cli.opt_user"))],
) -> None:
    """Apply a filled progress workbook to CITY's projects, all or nothing."""
    with guarded():
        db = store.open_database()
        if not file.is_file():
            raise InputError("supervision.cli.no_file", file=str(file))
        result = upload_progress(db, city, file.read_bytes(), file.name, actor=_actor(db, user))
    console.print(t("supervision.upload.applied", count=len(result.applied),
                    codes=", ".join(result.applied) or "—"), soft_wrap=True)  # fmt: skip
    console.print(t("supervision.upload.unchanged", count=len(result.unchanged),
                    codes=", ".join(result.unchanged) or "—"), soft_wrap=True)  # fmt: skip


def _parts(item: str, option: str, n: int, form: str) -> list[str]:
    parts = [p.strip() for p in item.split("|")]
    if len(parts) != n:
        raise InputError("supervision.cli.bad_item", option=option, value=item, form=form)
    return parts


def _milestone(item: str) -> dict[str, Any]:
    if item.startswith("-"):
        return {"position": item[1:].strip(), "remove": True}
    form = "POS|NAME|DUE|VALUE, +|NAME|DUE|VALUE, -POS"
    position, name, due, value = _parts(item, "--milestone", 4, form)
    return {"position": None if position == "+" else position, "name": name or None,
            "due": due or None, "value": value or None}  # fmt: skip


def _risk(item: str) -> dict[str, Any]:
    if item.startswith("-"):
        return {"id": item[1:].strip(), "close": True}
    if "|" not in item and "=" in item:
        risk, _, level = item.partition("=")
        return {"id": risk.strip(), "level": level.strip()}
    text, level = _parts(item, "--risk", 2, "TEXT|LEVEL, ID=LEVEL, -ID")
    return {"text": text, "level": level}


def baseline_cmd(
    city: City,
    project: Annotated[str, typer.Argument(help=t("supervision.cli.arg_project"))],
    reason: Annotated[str, typer.Option("--reason", help=t("supervision.cli.opt_reason"))],
    owner: Owner = None,
    milestone: Milestones = None,
    gate: Gates = None,
    budget: Budget = None,
    risk: Risks = None,
    user: Annotated[str | None, typer.Option("--user", help=t("supervision.cli.opt_user"))] = None,
) -> None:
    """Change the baseline of one tracked project, with a reason."""
    with guarded():
        db = store.open_database()
        gates = [_parts(g, "--gate", 2, "KIND|YYYY-MM-DD") for g in gate or []]
        years = [_parts(b, "--budget", 2, "YEAR|COST") for b in budget or []]
        change = {
            "reason": reason,
            "owner_department": owner,
            "milestones": [_milestone(m) for m in milestone or []],
            "gates": dict(gates),
            "budget": [{"year": y, "planned_cost": c or None} for y, c in years],
            "risks": [_risk(r) for r in risk or []],
        }
        result = change_baseline(db, city, project, change, actor=_actor(db, user))
    console.print(baseline_summary(project, result.changed), soft_wrap=True)


def register_supervise(app: typer.Typer) -> None:
    """Add ``template``, ``upload`` and ``baseline`` to ``cityloop supervise``."""
    app.command("template", help=t("supervision.cli.template_help"))(template_cmd)
    app.command("upload", help=t("supervision.cli.upload_help"))(upload_cmd)
    app.command("baseline", help=t("supervision.cli.baseline_help"))(baseline_cmd)
