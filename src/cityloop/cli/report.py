"""``cityloop report …``: the documents a review panel reads (city and province evaluation
reports, the top-level design document, the supervision bulletin) in every format.

Each document's module adds its command to the ``report`` group with ``register_report``.
"""

from __future__ import annotations

from types import ModuleType

import typer

from cityloop.cli import report_evaluation, report_plan, report_supervision
from cityloop.i18n import t

report_app = typer.Typer(help=t("report.cli.help"), no_args_is_help=True)
AREAS: tuple[ModuleType, ...] = (report_evaluation, report_plan, report_supervision)


def register(app: typer.Typer) -> None:
    """Add ``cityloop report`` with every document's command under it."""
    for area in AREAS:
        area.register_report(report_app)
    app.add_typer(report_app, name="report")
