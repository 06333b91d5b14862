"""``cityloop supervise …``: supervision and outcome-assessment commands (tracked projects,
progress, the programme dashboard, outcome assessment and feedback into the catalogue).

Each supervision area's module adds its commands to the ``supervise`` group with
``register_supervise``.
"""

from __future__ import annotations

from types import ModuleType

import typer

from cityloop.cli import supervise_dashboard, supervise_outcomes, supervise_progress
from cityloop.i18n import t

supervise_app = typer.Typer(help=t("supweb.cli.help"), no_args_is_help=True)
AREAS: tuple[ModuleType, ...] = (supervise_dashboard, supervise_progress, supervise_outcomes)


def register(app: typer.Typer) -> None:
    """Add ``cityloop supervise`` with every supervision area's commands under it."""
    for area in AREAS:
        area.register_supervise(supervise_app)
    app.add_typer(supervise_app, name="supervise")
