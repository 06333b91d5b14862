"""The CLI tests read Rich tables: give the shared console a wide, fixed width.

Rich reads ``COLUMNS`` once, when the console is made, so the env of a later CliRunner call
cannot widen a console another test imported first; a narrow one wraps cells mid-word.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cityloop.cli.common import console, error_console


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    widths = console.width, error_console.width
    console.width = error_console.width = 200
    yield
    console.width, error_console.width = widths
