"""Stored runs read back: one run's ranking, two runs compared, a run as an Excel workbook.

Everything is read from the store (never recomputed) and limited to the units the caller may
see; the web pages, the JSON API and the CLI all come here.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cityloop.errors import CityLoopError, InputError, Location, Problem
from cityloop.evaluation.compare import (
    ConfigChange,
    RankComparison,
    compare_rankings,
    config_changes,
    flatten_config,
)
from cityloop.evaluation.config import STAGES
from cityloop.evaluation.result import TOTAL
from cityloop.frameworks import Framework
from cityloop.i18n import catalogue, current_language, t
from cityloop.services.files import write_atomically
from cityloop.services.workbook import write_workbook
from cityloop.store import Database
from cityloop.store.runs import RunRow


@dataclass(frozen=True)
class RunView:
    """One stored run as its page shows it: the ranking of the visible units in ``year``.

    ``ranking`` columns: unit, name, score, rank, of, stage, stage_name and one column per
    dimension code (``dimensions`` lists (code, name) in framework order); ``medians`` is the
    median score of each dimension over the ranked visible units.
    """

    run: RunRow
    years: list[int]
    year: int | None
    dimensions: list[tuple[str, str]]
    ranking: pd.DataFrame
    medians: list[float | None]


@dataclass(frozen=True)
class RunComparison:
    """Two runs side by side in ``year`` over the units visible to the caller."""

    a: RunRow
    b: RunRow
    year: int
    years: list[int]
    same_framework: bool
    ranks: RankComparison
    names: dict[str, str]
    changes: list[ConfigChange]


def stored_run(db: Database, run_id: int) -> RunRow:
    """The run, or ``runs.unknown_run`` when there is none."""
    row = db.run(run_id)
    if row is None:
        raise UnknownRunError("runs.unknown_run", run=run_id)
    return row


class UnknownRunError(CityLoopError):
    """No stored run has the id asked for."""


def _codes(visible: Collection[str] | None) -> list[str] | None:
    return None if visible is None else sorted(visible)


def _framework(db: Database, row: RunRow) -> Framework:
    return db.framework(row.framework_id, row.framework_version)


def unit_names(db: Database, lang: str | None = None) -> dict[str, str]:
    """Every stored unit's name in ``lang`` (Chinese where no English name is stored)."""
    units = db.units()
    if units is None:
        return {}
    table = units.table
    zh = table["name_zh"].astype("string")
    names = zh
    if (lang or current_language()) == "en" and "name_en" in table:
        en = table["name_en"].astype("string")
        names = en.where(en.notna() & (en.str.len() > 0), zh)
    return {str(k): str(v) for k, v in names.fillna("").items()}


def stage_names(stage: pd.Series, lang: str | None = None) -> pd.Series:
    """Stage codes as translated stage names; blank where a unit has no stage."""
    labels = {code: t(f"stage.{code}", lang) for code in STAGES}
    named: pd.Series = stage.astype(object).map(labels).fillna("")
    return named


def stage_label(code: str) -> str:
    """One stage code's translated name; blank for none."""
    return t(f"stage.{code}") if code in STAGES else ""


def _pick_year(years: list[int], year: int | None) -> int | None:
    if year is None:
        return years[-1] if years else None
    if year not in years:
        raise CityLoopError("runs.unknown_year", year=year, years=", ".join(map(str, years)) or "—")
    return year


def run_view(
    db: Database, run_id: int, visible: Collection[str] | None, year: int | None = None
) -> RunView:
    """The ranking of the ``visible`` units (None: all) in ``year`` (default: the latest)."""
    row = stored_run(db, run_id)
    fw = _framework(db, row)
    scores = db.run_scores(run_id, units=_codes(visible), max_level=1)
    years = sorted(scores["year"].unique().tolist())
    chosen = _pick_year(years, year)
    dims = [fw.codes[i] for i in np.flatnonzero(fw.depth == 1)]
    dimensions = [(code, fw.name(code)) for code in dims]
    in_year = scores[scores["year"].to_numpy() == chosen]
    ranking = _ranking(in_year, dims, unit_names(db))
    dim_scores = ranking[dims].astype(np.float64) if len(ranking) else pd.DataFrame(columns=dims)
    medians = [None if np.isnan(m) else float(m) for m in _median(dim_scores, dims)]
    return RunView(row, [int(y) for y in years], chosen, dimensions, ranking, medians)


def _median(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    if frame.empty:
        return np.full(len(columns), np.nan)
    values = frame[columns].to_numpy(dtype=np.float64)
    filled = ~np.isnan(values)
    medians = np.full(len(columns), np.nan)
    has = filled.any(axis=0)
    medians[has] = np.nanmedian(values[:, has], axis=0)
    return medians


def _ranking(scores: pd.DataFrame, dims: list[str], names: dict[str, str]) -> pd.DataFrame:
    """One row per unit with a total: rank, names, total, stage and dimension scores."""
    total = scores[scores["node"].to_numpy() == TOTAL]
    table = pd.DataFrame(
        {
            "unit": total["unit"].astype(str).to_numpy(),
            "score": total["score"].to_numpy(dtype=np.float64, na_value=np.nan),
            "rank": total["rank"].astype("Int64").to_numpy(),
            "of": total["ranked"].astype("Int64").to_numpy(),
            "stage": total["stage"].astype(str).to_numpy(),
        }
    )
    table.insert(1, "name", table["unit"].map(names).fillna(table["unit"]))
    table["stage_name"] = stage_names(table["stage"])
    wide = scores[scores["node"].isin(dims)].pivot(index="unit", columns="node", values="score")
    wide = wide.reindex(columns=dims)
    wide.index = wide.index.astype(str)
    ranked: pd.DataFrame = table.join(wide, on="unit").sort_values(
        ["rank", "unit"], na_position="last", kind="stable"
    )
    return ranked.reset_index(drop=True)


def totals(db: Database, run_id: int, visible: Collection[str] | None) -> pd.DataFrame:
    """Overall score, rank and stage of every visible unit in every year of the run."""
    scores = db.run_scores(run_id, units=_codes(visible), max_level=0)
    total: pd.DataFrame = scores[scores["node"].to_numpy() == TOTAL]
    return total.reset_index(drop=True)


def compare_runs(
    db: Database, a: int, b: int, visible: Collection[str] | None, year: int | None = None
) -> RunComparison:
    """Runs ``a`` and ``b`` side by side on the overall index in ``year`` (default: the latest
    year both runs scored); comparing runs of different frameworks compares only the total."""
    row_a, row_b = stored_run(db, a), stored_run(db, b)
    total_a, total_b = totals(db, a, visible), totals(db, b, visible)
    common = sorted(set(total_a["year"].tolist()) & set(total_b["year"].tolist()))
    chosen = _pick_year([int(y) for y in common], year)
    if chosen is None:
        raise CityLoopError("runs.no_common_year", a=a, b=b)

    def of_year(frame: pd.DataFrame) -> pd.DataFrame:
        selected: pd.DataFrame = frame[frame["year"].to_numpy() == chosen]
        return selected[["unit", "score", "rank", "stage"]]

    ranks = compare_rankings(of_year(total_a), of_year(total_b))
    head_a = {"framework": row_a.framework_id, "framework_version": row_a.framework_version}
    head_b = {"framework": row_b.framework_id, "framework_version": row_b.framework_version}
    return RunComparison(
        a=row_a,
        b=row_b,
        year=chosen,
        years=[int(y) for y in common],
        same_framework=row_a.framework_id == row_b.framework_id,
        ranks=ranks,
        names=unit_names(db),
        changes=config_changes({**head_a, **row_a.config}, {**head_b, **row_b.config}),
    )


# -- the Excel workbook ---------------------------------------------------------------------------


def _header(name: str, lang: str) -> str:
    """A column's or sheet's heading: this area's catalogue entry first, then the shared one."""
    entries = catalogue(lang)
    return entries.get(f"runs.xlsx.{name}", entries.get(f"xlsx.{name}", name))


def run_sheets(
    db: Database, run_id: int, visible: Collection[str] | None, lang: str
) -> dict[str, pd.DataFrame]:
    """The workbook's sheets (summary, scores, ranking) with localised names and headings."""
    row = stored_run(db, run_id)
    fw = _framework(db, row)
    names = unit_names(db, lang)
    summary = {
        "run": row.id,
        "framework": row.framework_id,
        "framework_version": row.framework_version,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(timespec="seconds"),
        "data_hash": row.data_hash,
        "warnings": "\n".join(row.warnings),
        **{f"config.{k}": v for k, v in flatten_config(row.config).items()},
    }
    info = pd.DataFrame(
        {
            "item": list(summary),
            "value": [
                json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else str(v)
                for v in summary.values()
            ],
        }
    )
    scores = db.run_scores(run_id, units=_codes(visible))
    node_name = {code: fw.name(code, lang) for code in fw.codes} | {TOTAL: t("eval.total", lang)}
    table = pd.DataFrame(
        {
            "unit": scores["unit"].astype(str),
            "name": scores["unit"].astype(str).map(names),
            "year": scores["year"],
            "node": scores["node"].astype(str),
            "node_name": scores["node"].astype(str).map(node_name),
            "level": scores["level"],
            "score": scores["score"],
            "change": scores["change"],
            "rank": scores["rank"],
            "of": scores["ranked"],
            "stage_name": stage_names(scores["stage"], lang),
        }
    ).sort_values(["year", "unit", "level", "node"], kind="stable")
    latest = int(scores["year"].max()) if len(scores) else None
    ranking = table[(table["year"] == latest) & (table["node"] == TOTAL)]
    ranking = ranking[["rank", "of", "unit", "name", "year", "score", "stage_name"]]
    sheets = {
        "summary": info,
        "scores": table.reset_index(drop=True),
        "ranking": ranking.sort_values(["rank", "unit"], kind="stable").reset_index(drop=True),
    }
    return {
        _header(f"sheet.{key}", lang): frame.rename(columns=lambda c: _header(f"col.{c}", lang))
        for key, frame in sheets.items()
    }


def export_run(
    db: Database, run_id: int, out: Path, visible: Collection[str] | None, lang: str
) -> Path:
    """Write the stored run's workbook to ``out`` (an .xlsx path) atomically."""
    if out.suffix.lower() != ".xlsx":
        problem = Problem("runs.export_suffix", {"suffix": out.suffix}, Location(file=str(out)))
        raise InputError("runs.export_refused", [problem])
    sheets = run_sheets(db, run_id, visible, lang)
    return write_atomically(out, lambda tmp: write_workbook(tmp, sheets, lang))


def run_workbook(db: Database, run_id: int, visible: Collection[str] | None, lang: str) -> bytes:
    """The stored run's workbook as bytes, for a download."""
    with tempfile.TemporaryDirectory(prefix="cityloop-run-") as folder:
        path = export_run(db, run_id, Path(folder) / f"run-{run_id}.xlsx", visible, lang)
        return path.read_bytes()


def workbook_filename(run_id: int) -> str:
    """A safe ASCII file name for a run's workbook."""
    return f"cityloop-run-{int(run_id)}.xlsx"


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN and NA become None."""
    clean = frame.astype(object).where(frame.notna().to_numpy(), other=np.nan)
    return [
        {str(k): (None if v is np.nan or v is pd.NA else v) for k, v in row.items()}
        for row in clean.to_dict(orient="records")
    ]
