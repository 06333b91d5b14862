"""Placeholder for the runs commands (being written).

Replaced by the real commands of issue 3.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the runs commands to ``app`` (none yet)."""
