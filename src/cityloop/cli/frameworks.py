"""``cityloop frameworks list|show|validate|copy``: browse, check and copy indicator frameworks.

Thin adapter over ``cityloop.services.frameworks``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from cityloop.cli.common import console, guarded
from cityloop.frameworks import load_framework
from cityloop.i18n import pick, t
from cityloop.services import frameworks as service


def register(app: typer.Typer) -> None:
    """Add the ``frameworks`` command group to ``app``."""
    group = typer.Typer(help=t("cli.fw.help"), no_args_is_help=True)
    group.command("list", help=t("cli.fw.list.help"))(list_cmd)
    group.command("show", help=t("cli.fw.show.help"))(show_cmd)
    group.command("validate", help=t("cli.fw.validate.help"))(validate_cmd)
    group.command("copy", help=t("cli.fw.copy.help"))(copy_cmd)
    app.add_typer(group, name="frameworks")


def list_cmd() -> None:
    with guarded():
        table = Table(title=t("cli.fw.list.title"))
        for key in (
            "id",
            "version",
            "title",
            "standard",
            "dimensions",
            "indicators",
            "weights_confirmed",
            "weights_equal",
        ):
            table.add_column(t(f"cli.fw.col.{key}"), no_wrap=key in {"id", "version"})
        for info in service.list_frameworks():
            table.add_row(
                info.id,
                info.version,
                info.title,
                info.standard,
                str(info.dimensions),
                str(info.indicators),
                str(info.weights_confirmed),
                str(info.weights_equal_by_default),
            )
        console.print(table)


def show_cmd(
    framework: Annotated[str, typer.Argument(help=t("cli.fw.arg.framework"))],
    depth: Annotated[int, typer.Option(help=t("cli.fw.opt.depth"))] = 9,
) -> None:
    with guarded():
        fw = load_framework(framework)
        info = service.describe(fw)
        console.print(f"[bold]{info.title}[/] ({fw.id} {fw.version}) {info.standard}")
        root = Tree(t("eval.total"))
        branches: dict[int, Tree] = {-1: root}
        share = fw.path_weight()
        for row_index, row in enumerate(fw.nodes_table()):
            if row["level"] > depth:
                continue
            parent = int(fw.parent[row_index])
            label = f"{row['code']} {row['name']}  w={row['weight']:.3f}  ({share[row_index]:.2%})"
            branches[row_index] = branches.get(parent, root).add(label)
        console.print(root)
        if fw.spec.notes:
            console.print(pick(fw.spec.notes.as_dict()))


def validate_cmd(
    path: Annotated[Path, typer.Argument(help=t("cli.fw.arg.path"))],
) -> None:
    with guarded():
        fw = load_framework(path)
        info = service.describe(fw)
        console.print(
            t(
                "cli.fw.valid",
                id=fw.id,
                version=fw.version,
                dimensions=info.dimensions,
                indicators=info.indicators,
            )
        )


def copy_cmd(
    framework: Annotated[str, typer.Argument(help=t("cli.fw.arg.framework"))],
    dest: Annotated[Path, typer.Argument(help=t("cli.fw.arg.dest"))],
) -> None:
    with guarded():
        out = service.copy_framework(framework, dest)
        console.print(t("cli.fw.copied", path=str(out)))
