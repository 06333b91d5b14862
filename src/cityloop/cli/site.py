"""``cityloop demo-site`` (prepare a ready-to-use demo site) and ``cityloop serve`` (the web app).

Thin adapters over ``cityloop.services.site`` and ``cityloop.web.create_app``.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn
from rich.markup import escape
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.i18n import t
from cityloop.services.site import prepare_demo_site
from cityloop.services.store import open_database
from cityloop.store import Settings
from cityloop.web import create_app

DEFAULT_WORKERS = min(os.cpu_count() or 1, 4)


def register(app: typer.Typer) -> None:
    """Add ``demo-site`` and ``serve`` to ``app``."""
    app.command("demo-site", help=t("cli.site.help"))(demo_site_cmd)
    app.command("serve", help=t("cli.serve.help"))(serve_cmd)


def demo_site_cmd(
    cities: Annotated[int, typer.Option("--cities", help=t("store.cli.opt_cities"))] = 320,
) -> None:
    with guarded():
        settings = Settings()
        db = open_database(settings)
        ready = prepare_demo_site(db, settings.data_dir, n_cities=cities)
    console.print(t("cli.site.ready", url=db.url, run=ready.run_id), soft_wrap=True)
    if ready.loaded_demo:
        console.print(f"[bold yellow]{escape(t('cli.site.synthetic'))}[/]")
    table = Table(title=t("cli.site.accounts", file=escape(str(ready.accounts_file))))
    for key in ("username", "role", "scope", "department", "password"):
        table.add_column(t(f"cli.site.col_{key}"))
    for a in ready.accounts:
        table.add_row(a.username, a.role.label(), a.scope or "—", a.department or "—", a.password)
    console.print(table)


def serve_cmd(
    host: Annotated[str, typer.Option("--host", help=t("cli.serve.opt_host"))] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help=t("cli.serve.opt_port"))] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help=t("cli.serve.opt_workers"))
    ] = DEFAULT_WORKERS,
) -> None:
    with guarded():
        settings = Settings()
        create_app(settings)  # fails here, once, on a bad setting; makes the session key
    console.print(t("cli.serve.address", address=f"http://{host}:{port}/"), soft_wrap=True)
    # Worker processes build their own app from the same environment; one process per core
    # because a request's Python work holds the GIL.
    uvicorn.run(
        "cityloop.web:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,
    )
