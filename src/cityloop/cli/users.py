"""``cityloop users add|list|set-role|set-password|deactivate|activate|sessions|sign-out``:
manage accounts and their web sessions from the command line.

Thin adapter over ``cityloop.services.users``. A new password is typed twice at a hidden
prompt, or taken from ``CITYLOOP_NEW_PASSWORD`` for scripts; it is never echoed.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from cityloop.accounts import Role
from cityloop.cli.common import console, guarded
from cityloop.errors import CityLoopError, InputError
from cityloop.i18n import t
from cityloop.services import store
from cityloop.services import users as service
from cityloop.store.users import KEEP, Keep

PASSWORD_ENV = "CITYLOOP_NEW_PASSWORD"
CLEAR = "-"  # --scope - / --department - in set-role: remove the stored value

users_app = typer.Typer(help=t("cli.users.help"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``users`` group to ``app``."""
    app.add_typer(users_app, name="users")


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InputError("users.unknown_role", role=value, known=known) from None


def _new_password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    first = typer.prompt(t("cli.users.password_prompt"), hide_input=True)
    second = typer.prompt(t("cli.users.password_again"), hide_input=True)
    if first != second:
        raise CityLoopError("cli.users.password_mismatch")
    return str(first)


def _keep_or(value: str | None) -> str | Keep | None:
    if value is None:
        return KEEP
    return None if value == CLEAR else value


@users_app.command("add", help=t("cli.users.add_help"))
def add_cmd(
    username: Annotated[str, typer.Argument(help=t("cli.users.arg_username"))],
    role: Annotated[str, typer.Option("--role", help=t("cli.users.opt_role"))],
    scope: Annotated[str | None, typer.Option("--scope", help=t("cli.users.opt_scope"))] = None,
    department: Annotated[
        str | None, typer.Option("--department", help=t("cli.users.opt_department"))
    ] = None,
    name: Annotated[str, typer.Option("--name", help=t("cli.users.opt_name"))] = "",
) -> None:
    with guarded():
        checked = _role(role)
        db = store.open_database()
        service.add_user(
            db,
            username,
            _new_password(),
            checked,
            scope,
            department,
            name,
            actor=store.cli_user(),
        )
    console.print(
        t("cli.users.added", username=username, role=checked.label(), url=db.url), soft_wrap=True
    )


@users_app.command("list", help=t("cli.users.list_help"))
def list_cmd() -> None:
    with guarded():
        db = store.open_database()
        rows = service.list_users(db)
    if not rows:
        console.print(t("cli.users.none", url=db.url), soft_wrap=True)
        return
    now = datetime.now(UTC)
    table = Table(title=t("cli.users.title", url=db.url))
    for key in ("username", "name", "role", "scope", "department", "locked_until"):
        table.add_column(t(f"cli.users.col_{key}"))
    for row in rows:
        locked = row.locked_until is not None and row.locked_until > now
        table.add_row(
            row.username,
            row.display_name,
            row.role.label(),
            row.scope or t("accounts.scope.all"),
            row.department or "",
            row.locked_until.strftime("%Y-%m-%d %H:%M UTC") if locked and row.locked_until else "",
        )
    console.print(table)


@users_app.command("set-role", help=t("cli.users.set_role_help"))
def set_role_cmd(
    username: Annotated[str, typer.Argument(help=t("cli.users.arg_username"))],
    role: Annotated[str, typer.Option("--role", help=t("cli.users.opt_role"))],
    scope: Annotated[
        str | None, typer.Option("--scope", help=t("cli.users.opt_scope_change"))
    ] = None,
    department: Annotated[
        str | None, typer.Option("--department", help=t("cli.users.opt_department_change"))
    ] = None,
) -> None:
    with guarded():
        checked = _role(role)
        db = store.open_database()
        row = service.set_role(
            db,
            username,
            checked,
            scope=_keep_or(scope),
            department=_keep_or(department),
            actor=store.cli_user(),
        )
    console.print(
        t(
            "cli.users.role_set",
            username=row.username,
            role=row.role.label(),
            scope=row.scope or t("accounts.scope.all"),
            department=row.department or "—",
        ),
        soft_wrap=True,
    )


@users_app.command("set-password", help=t("cli.users.set_password_help"))
def set_password_cmd(
    username: Annotated[str, typer.Argument(help=t("cli.users.arg_username"))],
) -> None:
    with guarded():
        db = store.open_database()
        service.set_password(db, username, _new_password(), actor=store.cli_user())
    console.print(t("cli.users.password_set", username=username), soft_wrap=True)


@users_app.command("deactivate", help=t("cli.users.deactivate_help"))
def deactivate_cmd(
    username: Annotated[str, typer.Argument(help=t("cli.users.arg_username"))],
) -> None:
    with guarded():
        service.set_active(store.open_database(), username, False, actor=store.cli_user())
    console.print(t("cli.users.deactivated", username=username), soft_wrap=True)


@users_app.command("activate", help=t("cli.users.activate_help"))
def activate_cmd(
    username: Annotated[str, typer.Argument(help=t("cli.users.arg_username"))],
) -> None:
    with guarded():
        service.set_active(store.open_database(), username, True, actor=store.cli_user())
    console.print(t("cli.users.activated", username=username), soft_wrap=True)


@users_app.command("sessions", help=t("cli.users.sessions_help"))
def sessions_cmd(
    username: Annotated[
        str | None, typer.Argument(help=t("cli.users.arg_sessions_username"))
    ] = None,
) -> None:
    with guarded():
        db = store.open_database()
        rows = service.live_sessions(db, datetime.now(UTC), username)
    if not rows:
        console.print(t("cli.users.no_sessions", url=db.url), soft_wrap=True)
        return
    table = Table(title=t("cli.users.sessions_title", url=db.url))
    for key in ("username", "started", "expires"):
        table.add_column(t(f"cli.users.col_{key}"))
    for row in rows:
        table.add_row(
            row.username, f"{row.started:%Y-%m-%d %H:%M}", f"{row.expires:%Y-%m-%d %H:%M}"
        )
    console.print(table)


@users_app.command("sign-out", help=t("cli.users.sign_out_help"))
def sign_out_cmd(
    username: Annotated[str, typer.Argument(help=t("cli.users.arg_username"))],
) -> None:
    with guarded():
        db = store.open_database()
        count = service.sign_out_everywhere(db, username, datetime.now(UTC), actor=store.cli_user())
    console.print(t("cli.users.signed_out", username=username, count=count), soft_wrap=True)
