"""Placeholder registration for the demo commands; replaced by the area owner."""

import typer


def register(app: typer.Typer) -> None:
    """Register this area's commands on ``app``."""
