"""``cityloop db upgrade|load-demo``, ``cityloop backup`` and ``cityloop restore``.

Thin adapter over ``cityloop.services.store``; the database comes from ``CITYLOOP_DATABASE_URL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.demo.generator import DEMO_SEED
from cityloop.i18n import t
from cityloop.services import store as service

db_app = typer.Typer(help=t("store.cli.db_help"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``db`` group, ``backup`` and ``restore`` to ``app``."""
    app.add_typer(db_app, name="db")
    app.command("backup", help=t("store.cli.backup_help"))(backup_cmd)
    app.command("restore", help=t("store.cli.restore_help"))(restore_cmd)


@db_app.command("upgrade", help=t("store.cli.upgrade_help"))
def upgrade_cmd() -> None:
    with guarded():
        db = service.open_database()
        before, after = service.upgrade(db)
    key = "store.cli.up_to_date" if before == after else "store.cli.upgraded"
    console.print(t(key, url=db.url, before=before or "—", after=after or "—"), soft_wrap=True)


@db_app.command("load-demo", help=t("store.cli.load_demo_help"))
def load_demo_cmd(
    framework: Annotated[
        list[str] | None, typer.Option("--framework", help=t("store.cli.opt_framework"))
    ] = None,
    cities: Annotated[int, typer.Option("--cities", help=t("store.cli.opt_cities"))] = 320,
    seed: Annotated[int, typer.Option("--seed", help=t("store.cli.opt_seed"))] = DEMO_SEED,
) -> None:
    with guarded():
        db = service.open_database()
        done = service.load_demo(
            db, framework or None, n_cities=cities, seed=seed, user=service.cli_user()
        )
    table = Table(title=t("store.cli.loaded", url=db.url))
    for key in ("what", "inserted", "updated", "unchanged"):
        table.add_column(t(f"store.cli.col_{key}"), justify="left" if key == "what" else "right")
    counts = {t("store.cli.regions"): done.regions, **done.values}
    for what, c in counts.items():
        table.add_row(what, f"{c.inserted:,}", f"{c.updated:,}", f"{c.unchanged:,}")
    console.print(table)
    console.print(f"[bold yellow]{t('demo.cli.synthetic', seed=seed)}[/]")


def backup_cmd(
    file: Annotated[Path, typer.Argument(help=t("store.cli.arg_backup_file"))],
) -> None:
    with guarded():
        db = service.open_database()
        manifest = service.backup(db, file)
    console.print(
        t(
            "store.cli.backed_up",
            file=str(file),
            rows=f"{manifest.total_rows():,}",
            tables=len(manifest.tables),
            revision=manifest.revision,
        ),
        soft_wrap=True,  # paths and URLs stay on one line, as the user will copy them
    )


def restore_cmd(
    file: Annotated[Path, typer.Argument(help=t("store.cli.arg_restore_file"))],
    force: Annotated[bool, typer.Option("--force", help=t("store.cli.opt_force"))] = False,
) -> None:
    with guarded():
        db = service.open_database()
        manifest = service.restore(db, file, force=force)
    console.print(
        t(
            "store.cli.restored",
            file=str(file),
            url=db.url,
            rows=f"{manifest.total_rows():,}",
            tables=len(manifest.tables),
            revision=manifest.revision,
        ),
        soft_wrap=True,  # paths and URLs stay on one line, as the user will copy them
    )
