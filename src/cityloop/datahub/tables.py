"""Read any user table (CSV, XLSX, Parquet) into a DataFrame of strings and numbers.

CSV exports from Chinese Excel are often GBK; UTF-8 with or without a BOM is tried first.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cityloop.errors import DataValidationError, Location, Problem

CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def read_table(path: Path, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read ``path`` as text-typed columns, leaving type checks to the caller's validator."""
    suffix = path.suffix.lower()
    source = str(path)
    if not path.exists():
        raise DataValidationError(
            "table.invalid", [Problem("table.not_found", {}, Location(file=source))], file=source
        )
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix in {".xlsx", ".xlsm"}:
            return pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except DataValidationError:
        raise
    except Exception as exc:  # parsers raise many types for a corrupt file
        raise DataValidationError(
            "table.invalid",
            [
                Problem(
                    "table.unreadable",
                    {"detail": str(exc).splitlines()[0] if str(exc) else type(exc).__name__},
                    Location(file=source),
                )
            ],
            file=source,
        ) from None
    raise DataValidationError(
        "table.invalid",
        [Problem("table.bad_suffix", {"suffix": suffix}, Location(file=source))],
        file=source,
    )


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in CSV_ENCODINGS:
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return pd.read_csv(
            path,
            dtype=str,
            encoding=encoding,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            skip_blank_lines=False,  # keep blank lines so row numbers match the file
        )
    raise DataValidationError(
        "table.invalid",
        [
            Problem(
                "table.bad_encoding", {"tried": ", ".join(CSV_ENCODINGS)}, Location(file=str(path))
            )
        ],
        file=str(path),
    )
