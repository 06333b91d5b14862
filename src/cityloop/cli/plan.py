"""``cityloop plan …``: the top-level design commands (project catalogue, diagnosis, solve).

Each planning area's module adds its commands to the ``plan`` group with ``register_plan``.
"""

from __future__ import annotations

from types import ModuleType

import typer

from cityloop.cli import plan_catalogue, plan_diagnosis, plan_solve
from cityloop.cli.common import mute_solver_banner
from cityloop.i18n import t

plan_app = typer.Typer(help=t("plan.cli.help"), no_args_is_help=True)
AREAS: tuple[ModuleType, ...] = (plan_catalogue, plan_diagnosis, plan_solve)


plan_app.callback()(mute_solver_banner)


def register(app: typer.Typer) -> None:
    """Add ``cityloop plan`` with every planning area's commands under it."""
    for area in AREAS:
        area.register_plan(plan_app)
    app.add_typer(plan_app, name="plan")
