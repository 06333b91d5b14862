"""Shared pieces of the CLI: the language switch, the error guard and the console.

User errors print one clear line plus the detail and exit with status 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import highspy
import typer
from rich.console import Console
from rich.markup import escape

from cityloop.errors import CityLoopError
from cityloop.i18n import DEFAULT_LANGUAGE, set_language

console = Console(highlight=False)
error_console = Console(stderr=True, highlight=False)

T = TypeVar("T")


def language_option(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", envvar="CITYLOOP_LANG", help="zh-CN（默认）或 en / zh-CN (default) or en"
        ),
    ] = None,
) -> None:
    """CityLoop 新型智慧城市建设闭环平台 / closed-loop smart city platform."""
    # Set on every invocation so one command's choice never leaks into the next.
    try:
        set_language(lang or DEFAULT_LANGUAGE)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@contextmanager
def guarded() -> Iterator[None]:
    """Turn a ``CityLoopError`` into a clean message on stderr and exit status 2."""
    try:
        yield
    except CityLoopError as exc:
        text = exc.render()
        head, _, detail = text.partition("\n")
        # soft_wrap: long paths and messages stay on one line, as the user will copy them.
        error_console.print(f"[bold red]✗[/] {escape(head)}", markup=True, soft_wrap=True)
        if detail:
            error_console.print(detail, markup=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def run(fn: Callable[[], T]) -> T:
    with guarded():
        return fn()
    raise AssertionError("unreachable")  # pragma: no cover


def mute_solver_banner() -> None:
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
