"""``cityloop plan …``: the top-level design commands (project catalogue, diagnosis, solve).

Each planning area's module adds its commands to the ``plan`` group with ``register_plan``.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

import highspy
import typer

from cityloop.cli import plan_catalogue, plan_diagnosis, plan_solve
from cityloop.i18n import t

plan_app = typer.Typer(help=t("plan.cli.help"), no_args_is_help=True)
AREAS: tuple[ModuleType, ...] = (plan_catalogue, plan_diagnosis, plan_solve)


@plan_app.callback()
def _mute_solver_banner() -> None:
    """HiGHS prints a banner on C stdout when a process makes its first solver; made here with
    stdout pointed at /dev/null, so ``--json`` output and tables stay clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()  # type: ignore[no-untyped-call]  # highspy leaves __init__ bare
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def register(app: typer.Typer) -> None:
    """Add ``cityloop plan`` with every planning area's commands under it."""
    for area in AREAS:
        area.register_plan(plan_app)
    app.add_typer(plan_app, name="plan")
