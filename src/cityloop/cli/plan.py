"""``cityloop plan …``: the top-level design commands (project catalogue, diagnosis, solve).

Each planning area's module adds its commands to the ``plan`` group with ``register_plan``.
"""

from __future__ import annotations

import typer

from cityloop.cli import plan_catalogue, plan_diagnosis, plan_solve
from cityloop.i18n import t

plan_app = typer.Typer(help=t("plan.cli.help"), no_args_is_help=True)

# -- planning areas: each adds `from cityloop.cli import <module>` above and its module here --
AREAS: tuple[object, ...] = (plan_catalogue, plan_diagnosis, plan_solve)


def register(app: typer.Typer) -> None:
    """Add ``cityloop plan`` with every planning area's commands under it."""
    for area in AREAS:
        area.register_plan(plan_app)  # type: ignore[attr-defined]
    app.add_typer(plan_app, name="plan")
