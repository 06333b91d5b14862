"""Data use-cases: write a department's collection template, import and check a values file.

The template is written to a temporary file beside the target and moved into place at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cityloop.datahub.indicator_table import IndicatorTable, ValuesSummary, read_values
from cityloop.datahub.template import write_collection_template
from cityloop.datahub.units import Units, read_units
from cityloop.errors import InputError
from cityloop.frameworks import load_framework
from cityloop.services.files import write_atomically


def make_template(
    out: Path,
    framework_ref: str,
    *,
    department: str | None,
    units_path: Path | None,
    years: Sequence[int],
    lang: str,
) -> Path:
    """Write the collection template for ``department`` to ``out`` (.xlsx) and return it."""
    if out.suffix.lower() != ".xlsx":
        raise InputError("template.bad_suffix", suffix=out.suffix or "''")
    fw = load_framework(framework_ref)
    units = _units(units_path)
    return write_atomically(
        out,
        lambda tmp: write_collection_template(
            tmp, fw, units=units, department=department, years=years, lang=lang
        ),
    )


def import_values(path: Path, framework_ref: str, units_path: Path | None) -> IndicatorTable:
    """Read and validate a values file against a framework (and a units table when given)."""
    fw = load_framework(framework_ref)
    return read_values(path, fw, _units(units_path))


def check_values(path: Path, framework_ref: str, units_path: Path | None) -> ValuesSummary:
    """Validate a values file and say what it holds (rows, units, years, coverage)."""
    fw = load_framework(framework_ref)
    return read_values(path, fw, _units(units_path)).summary(fw)


def _units(path: Path | None) -> Units | None:
    return None if path is None else read_units(path)
