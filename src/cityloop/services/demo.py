"""Write the synthetic demo data set (units and one values table per framework) to a folder.

Each file is written to a temporary name and moved into place, so a reader never sees half a file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path

import pandas as pd

from cityloop.demo.generator import (
    DEFAULT_YEARS,
    DEMO_SEED,
    MAX_CITIES,
    MIN_CITIES,
    generate_demo,
)
from cityloop.errors import InputError
from cityloop.frameworks import load_framework, shipped_ids
from cityloop.i18n import t
from cityloop.services.files import write_atomically


class TableFormat(StrEnum):
    """File formats the values tables can be written in."""

    CSV = "csv"
    PARQUET = "parquet"
    XLSX = "xlsx"


FORMATS = tuple(f.value for f in TableFormat)
UNITS_FILE = f"units.{TableFormat.CSV.value}"  # the units table is always CSV
EXCEL_MAX_ROWS = 1_048_575  # one sheet, minus the header row


def write_demo_data(
    out_dir: Path,
    frameworks: Sequence[str] | None = None,
    *,
    fmt: str = "csv",
    n_cities: int = 320,
    years: Sequence[int] = DEFAULT_YEARS,
    seed: int = DEMO_SEED,
) -> list[Path]:
    """Generate the demo data and write it under ``out_dir``; return the files written.

    ``frameworks`` are shipped ids or paths (default: every shipped framework). Writes
    ``units.csv``, ``values-<framework id>.<fmt>`` and ``README.txt``.
    """
    if fmt not in FORMATS:
        raise InputError("demo.bad_format", fmt=fmt, expected=", ".join(FORMATS))
    if not MIN_CITIES <= n_cities <= MAX_CITIES:
        raise InputError("demo.bad_cities", value=n_cities, low=MIN_CITIES, high=MAX_CITIES)
    if seed < 0:
        raise InputError("demo.bad_seed", value=seed)
    refs = list(shipped_ids() if frameworks is None else frameworks)
    loaded = [load_framework(ref) for ref in refs]
    data = generate_demo(loaded, n_cities=n_cities, years=years, seed=seed)
    if fmt == "xlsx":
        for fid, table in data.values.items():
            if len(table) > EXCEL_MAX_ROWS:
                raise InputError(
                    "demo.too_many_rows", framework=fid, rows=len(table), limit=EXCEL_MAX_ROWS
                )

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_atomically(out_dir / UNITS_FILE, _table_writer(data.units, TableFormat.CSV))]
    for fid, table in data.values.items():
        written.append(write_atomically(out_dir / f"values-{fid}.{fmt}", _table_writer(table, fmt)))
    text = "\n\n".join(
        t("demo.readme", lang, seed=seed, cities=n_cities) for lang in ("zh-CN", "en")
    )

    def write_readme(tmp: Path) -> None:
        tmp.write_text(text + "\n", encoding="utf-8")

    written.append(write_atomically(out_dir / "README.txt", write_readme))
    return written


def _table_writer(frame: pd.DataFrame, fmt: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        if fmt == TableFormat.CSV:
            # BOM so that Excel opens the Chinese text correctly; %.10g writes counts as integers.
            frame.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.10g")
        elif fmt == TableFormat.PARQUET:
            frame.to_parquet(path, index=False)
        else:
            with pd.ExcelWriter(path, engine="openpyxl") as writer:
                frame.to_excel(writer, index=False, sheet_name="values")

    return write
