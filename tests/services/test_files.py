"""Atomic writes: the target holds the old content or the new, never a partial file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityloop.services.files import write_atomically


def test_new_content_replaces_old_and_no_temp_file_is_left(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old", "utf-8")
    write_atomically(target, lambda tmp: tmp.write_text("new", "utf-8"))
    assert target.read_text("utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_failing_writer_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old", "utf-8")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("half", "utf-8")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, half_then_fail)
    assert target.read_text("utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_temporary_file_keeps_the_suffix_writers_rely_on(tmp_path: Path) -> None:
    seen: list[str] = []
    write_atomically(tmp_path / "book.xlsx", lambda tmp: seen.append(tmp.suffix) or tmp.touch())
    assert seen == [".xlsx"]
