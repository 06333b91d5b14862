"""The ``cityloop`` command line: a thin Typer adapter over the services.

Each area registers its commands from its own module; errors become one clear line plus detail.
"""

from __future__ import annotations

import typer

from cityloop.cli import (
    catalogue,
    collect,
    data,
    db,
    demo,
    demo_loop,
    derived,
    evaluate,
    frameworks,
    overview,
    plan,
    quality,
    report,
    runs,
    sensors,
    sharing,
    site,
    supervise,
    survey,
    uncertainty,
    users,
)
from cityloop.cli.common import language_option

app = typer.Typer(
    name="cityloop",
    help="CityLoop 新型智慧城市建设闭环平台 / closed-loop smart city platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.callback()(language_option)

for module in (
    frameworks,
    data,
    demo,
    evaluate,
    db,
    users,
    overview,
    collect,
    runs,
    sensors,
    site,
    survey,
    uncertainty,
    quality,
    derived,
    sharing,
    catalogue,
    plan,
    supervise,
    demo_loop,
    report,
):
    module.register(app)

__all__ = ["app"]
