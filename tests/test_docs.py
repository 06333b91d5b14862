"""docs/cli.md is the ``--help`` of every command; this test fails when the two drift apart.

Regenerate with: CITYLOOP_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_docs.py
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from typer.main import get_command
from typer.testing import CliRunner

from cityloop.cli import app

DOC = Path(__file__).parent.parent / "docs" / "cli.md"
ENV = {"TERMINAL_WIDTH": "100", "COLUMNS": "100", "NO_COLOR": "1", "CITYLOOP_LANG": "zh-CN"}


def command_paths() -> list[list[str]]:
    """Every command and sub-command of the app, depth first."""
    root = get_command(app)
    paths: list[list[str]] = [[]]

    def walk(group: object, prefix: list[str]) -> None:
        for name, cmd in sorted(getattr(group, "commands", {}).items()):
            paths.append([*prefix, name])
            walk(cmd, [*prefix, name])

    walk(root, [])
    return paths


def render() -> str:
    runner = CliRunner()
    parts = [
        "# 命令行参考 / CLI reference",
        "",
        "Generated from `--help` (zh-CN); `tests/test_docs.py` keeps it current.",
        "",
    ]
    for path in command_paths():
        result = runner.invoke(app, [*path, "--help"], env=ENV)
        assert result.exit_code == 0, result.output
        title = " ".join(["cityloop", *path])
        parts += [f"## `{title}`", "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(parts)


def test_cli_reference_matches_help() -> None:
    text = render()
    if os.environ.get("CITYLOOP_UPDATE_DOCS"):
        DOC.write_text(text, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == text, "run with CITYLOOP_UPDATE_DOCS=1"


def test_every_command_has_help_text() -> None:
    for path in command_paths()[1:]:
        cmd = get_command(app)
        for name in path:
            cmd = cmd.commands[name]  # type: ignore[attr-defined]
        assert cmd.help, f"cityloop {' '.join(path)} has no help"
    assert isinstance(app, typer.Typer)
