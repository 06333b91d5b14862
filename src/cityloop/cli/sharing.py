"""``cityloop sharing …``: ask for a resource on a department's behalf, decide requests, list
requests and keys, revoke a key and read the access log.

Thin adapter over ``services.sharing``; the command line acts as an administrator (whoever runs
it has the database), named in the audit log as ``cli:<user>``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cityloop.accounts import Principal, Role
from cityloop.cli.common import console, guarded
from cityloop.i18n import t
from cityloop.services import sharing, store

sharing_app = typer.Typer(help=t("sharing.cli.help"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``sharing`` group to ``app``."""
    app.add_typer(sharing_app, name="sharing")


def operator() -> Principal:
    return Principal(store.cli_user(), Role.ADMINISTRATOR)


def _show_key(plain: str) -> None:
    console.print(t("sharing.cli.key", key=plain), soft_wrap=True)
    console.print(t("sharing.key.once_hint"), soft_wrap=True)


@sharing_app.command("request", help=t("sharing.cli.request_help"))
def request_cmd(
    resource: Annotated[int, typer.Argument(help=t("sharing.cli.arg_resource"))],
    department: Annotated[str, typer.Option("--department", help=t("sharing.cli.opt_dept"))],
    purpose: Annotated[str, typer.Option("--purpose", help=t("sharing.cli.opt_purpose"))],
) -> None:
    with guarded():
        db = store.open_database()
        outcome = sharing.request_sharing(db, operator(), resource, purpose, department=department)
    row = outcome.request
    status = t(f"sharing.status.{row.status.value}")
    console.print(t("sharing.cli.requested", request=row.id, status=status), soft_wrap=True)
    if outcome.key is not None:
        _show_key(outcome.key.plain)


@sharing_app.command("decide", help=t("sharing.cli.decide_help"))
def decide_cmd(
    request: Annotated[int, typer.Argument(help=t("sharing.cli.arg_request"))],
    approve: Annotated[bool, typer.Option("--approve/--refuse", help=t("sharing.cli.opt_approve"))],
    reason: Annotated[str, typer.Option("--reason", help=t("sharing.cli.opt_reason"))] = "",
) -> None:
    with guarded():
        db = store.open_database()
        outcome = sharing.decide(db, operator(), request, approve=approve, reason=reason)
    status = t(f"sharing.status.{outcome.request.status.value}")
    console.print(t("sharing.cli.decided", request=request, status=status), soft_wrap=True)
    if outcome.key is not None:
        _show_key(outcome.key.plain)


@sharing_app.command("list", help=t("sharing.cli.list_help"))
def list_cmd(
    department: Annotated[
        str | None, typer.Option("--department", help=t("sharing.cli.opt_dept_filter"))
    ] = None,
) -> None:
    with guarded():
        board = sharing.board(store.open_database(), operator())
    table = Table(title=t("sharing.cli.list_title"))
    for key in ("id", "resource", "owner", "requester", "status", "purpose", "decision"):
        table.add_column(t(f"sharing.cli.col.{key}"))
    for r in board.made:
        if department is not None and department not in (r.requester_department,
                                                         r.resource.department):  # fmt: skip
            continue
        decision = f"{r.decided_by}: {r.decision_reason}" if r.decided_by else ""
        table.add_row(
            str(r.id), f"{r.resource.id} {r.resource.code} {r.resource.name_zh}",
            r.resource.department, r.requester_department,
            t(f"sharing.status.{r.status.value}"), r.purpose, decision,
        )  # fmt: skip
    console.print(table)


@sharing_app.command("keys", help=t("sharing.cli.keys_help"))
def keys_cmd(
    department: Annotated[
        str | None, typer.Option("--department", help=t("sharing.cli.opt_dept_filter"))
    ] = None,
) -> None:
    with guarded():
        board = sharing.board(store.open_database(), operator())
    table = Table(title=t("sharing.cli.keys_title"))
    for key in ("key_id", "prefix", "resource", "holder", "request", "issued", "state"):
        table.add_column(t(f"sharing.cli.col.{key}"))
    for k in board.held_keys:
        if department is not None and k.department != department:
            continue
        state = (
            t("sharing.key.revoked", user=k.revoked_by) if k.revoked_at else t("sharing.key.live")
        )
        table.add_row(
            str(k.key_id), k.prefix + "…", str(k.resource_id), k.department,
            "" if k.request_id is None else str(k.request_id),
            f"{k.created_by} {k.created_at:%Y-%m-%d %H:%M}", state,
        )  # fmt: skip
    console.print(table)


@sharing_app.command("revoke", help=t("sharing.cli.revoke_help"))
def revoke_cmd(key: Annotated[int, typer.Argument(help=t("sharing.cli.arg_key"))]) -> None:
    with guarded():
        row = sharing.revoke(store.open_database(), operator(), key)
    console.print(t("sharing.flash.revoked", prefix=row.prefix), soft_wrap=True)


@sharing_app.command("log", help=t("sharing.cli.log_help"))
def log_cmd(
    resource: Annotated[
        int | None, typer.Option("--resource", help=t("sharing.cli.opt_resource"))
    ] = None,
    department: Annotated[
        str | None, typer.Option("--department", help=t("sharing.cli.opt_dept_filter"))
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help=t("sharing.cli.opt_limit"))
    ] = 50,
) -> None:
    with guarded():
        rows, total = sharing.access_log(
            store.open_database(), operator(), resource_id=resource, department=department,
            limit=limit,
        )  # fmt: skip
    table = Table(title=t("sharing.cli.log_title", shown=len(rows), total=total))
    for key in ("at", "resource", "key", "department", "actor", "operation", "status", "rows"):
        table.add_column(t(f"sharing.cli.col.{key}"))
    for e in rows:
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}", "" if e.resource_id is None else str(e.resource_id),
            "" if e.key_id is None else str(e.key_id), e.department or "", e.actor,
            e.operation, str(e.status), str(e.rows),
        )  # fmt: skip
    console.print(table)
