"""The evaluation use-case: load framework, config, units and data; run; write results.

The only place where files meet the engine; the CLI and (later) the web app call these.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import yaml
from pydantic import ValidationError

from cityloop.datahub.indicator_table import IndicatorTable, read_values, validate_values
from cityloop.datahub.units import Units, build_units, read_units
from cityloop.errors import (
    ConfigError,
    DataValidationError,
    Location,
    Problem,
    schema_problems,
)
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import ValuesCube, build_cube
from cityloop.evaluation.groups import groups_from_memberships
from cityloop.evaluation.pipeline import evaluate_cube
from cityloop.evaluation.result import TOTAL, EvaluationResult
from cityloop.frameworks import Framework, load_framework
from cityloop.services.files import write_atomically
from cityloop.services.workbook import excel_safe, write_workbook

DataInput: TypeAlias = str | Path | pd.DataFrame | IndicatorTable
Progress: TypeAlias = Callable[[str], None]
OUTPUT_SUFFIXES = (".xlsx", ".csv", ".json", ".parquet")
# The most complete GB/T 33356 tree we could encode from public text (the 2022 file is a
# skeleton until its text is at hand; see docs/frameworks/gbt33356.md).
DEFAULT_FRAMEWORK = "gbt33356-2016"


def evaluate(
    data: DataInput,
    framework: str | Path | Framework = DEFAULT_FRAMEWORK,
    config: EvaluationConfig | Mapping[str, Any] | str | Path | None = None,
    units: str | Path | pd.DataFrame | Units | None = None,
    *,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Evaluate units against a framework; see ``EvaluationResult`` for what comes back.

    ``data`` is a long table (unit, year, indicator, value, source, note) as a CSV, XLSX or
    Parquet path, a DataFrame or an already validated ``IndicatorTable``. ``units`` (optional)
    brings the hierarchy and groups used for group ranks and group imputation.
    """
    step = progress or (lambda _msg: None)
    fw = framework if isinstance(framework, Framework) else load_framework(framework)
    cfg = load_config(config)
    unit_info = load_units(units)
    step("read")
    table = load_values(data, fw, unit_info)
    cube = cube_for(table, fw, cfg, unit_info)
    step("evaluate")
    groups = groups_from_memberships(unit_info.memberships if unit_info else None, cube.units)
    return evaluate_cube(cube, fw, cfg, groups)


def load_config(
    config: EvaluationConfig | Mapping[str, Any] | str | Path | None,
) -> EvaluationConfig:
    """A config from a YAML file, a mapping or defaults; faults name the file and field."""
    if config is None:
        return EvaluationConfig()
    if isinstance(config, EvaluationConfig):
        return config
    source = "<config>"
    if isinstance(config, str | Path):
        source = str(config)
        try:
            data = yaml.safe_load(Path(config).read_text(encoding="utf-8-sig")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(
                "eval.config_invalid",
                [
                    Problem(
                        "eval.config_unreadable",
                        {"file": source, "detail": str(exc).splitlines()[0]},
                        Location(file=source),
                    )
                ],
            ) from None
    else:
        data = dict(config)
    try:
        return EvaluationConfig.model_validate(data)
    except ValidationError as exc:
        problems = schema_problems(
            exc, lambda loc: Location(file=source, column=".".join(map(str, loc)))
        )
        raise ConfigError("eval.config_invalid", problems) from None


def load_units(units: str | Path | pd.DataFrame | Units | None) -> Units | None:
    if units is None or isinstance(units, Units):
        return units
    if isinstance(units, pd.DataFrame):
        return build_units(units)
    return read_units(Path(units))


def load_values(data: DataInput, fw: Framework, units: Units | None) -> IndicatorTable:
    if isinstance(data, IndicatorTable):
        return data
    if isinstance(data, pd.DataFrame):
        return validate_values(data, fw, units)
    return read_values(Path(data), fw, units)


def cube_for(
    table: IndicatorTable, fw: Framework, cfg: EvaluationConfig, units: Units | None
) -> ValuesCube:
    """The cube of the units and years this config evaluates."""
    frame = table.frame
    if frame.empty:
        raise DataValidationError(
            "values.invalid", [Problem("eval.no_data", {"framework": fw.id})], file="<data>"
        )
    unit_codes: list[str] | None = None
    if units is not None and cfg.level is not None:
        at_level = set(units.of_level(cfg.level))
        unit_codes = sorted(set(frame["unit"].astype(str)) & at_level)
        if not unit_codes:
            raise DataValidationError(
                "values.invalid",
                [Problem("eval.no_units_at_level", {"level": cfg.level})],
                file="<data>",
            )
    years = cfg.years
    if years is not None:
        present = sorted(set(frame["year"].astype(int)))
        if not set(years) & set(present):
            raise DataValidationError(
                "values.invalid",
                [
                    Problem(
                        "eval.no_data_for_years",
                        {
                            "years": ", ".join(map(str, years)),
                            "present": ", ".join(map(str, present)),
                        },
                    )
                ],
                file="<data>",
            )
    return build_cube(frame, fw, units=unit_codes, years=years)


# -- writing results -----------------------------------------------------------------------------


def results_table(result: EvaluationResult, *, indicators: bool = True) -> pd.DataFrame:
    """One row per unit, year and node: score, change, overall rank and stage.

    ``indicators=False`` keeps only the dimensions and the overall index.
    """
    scores = result.scores_table
    if not indicators:
        scores = scores[~scores["node"].isin(result.framework.indicator_codes)]
    ranks = result.ranks_table
    overall = ranks[ranks["scope_kind"] == "all"][["unit", "year", "node", "rank", "of"]]
    stages = result.stages_table[["unit", "year", "node", "stage"]]
    out = scores.merge(overall, on=["unit", "year", "node"], how="left")
    out = out.merge(stages, on=["unit", "year", "node"], how="left")
    out["rank"] = out["rank"].astype("Int64")
    out["of"] = out["of"].astype("Int64")
    for col in ("unit", "node"):
        out[col] = out[col].astype(str)
    out["stage"] = out["stage"].fillna("")
    return out


def write_results(result: EvaluationResult, out: Path) -> Path:
    """Write the result to ``out`` by its suffix (.xlsx, .csv, .json, .parquet), atomically."""
    suffix = out.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise DataValidationError(
            "values.invalid",
            [
                Problem(
                    "eval.bad_output_suffix",
                    {"suffix": suffix, "known": ", ".join(OUTPUT_SUFFIXES)},
                    Location(file=str(out)),
                )
            ],
            file=str(out),
        )

    def write(tmp: Path) -> None:
        if suffix == ".csv":
            excel_safe(results_table(result)).to_csv(tmp, index=False, encoding="utf-8-sig")
        elif suffix == ".parquet":
            _write_parquet(result, tmp)
        elif suffix == ".json":
            _write_json(result, tmp)
        else:
            _write_xlsx(result, tmp)

    return write_atomically(out, write)


def _write_parquet(result: EvaluationResult, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(results_table(result), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"cityloop.provenance"] = json.dumps(result.provenance, ensure_ascii=False).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def _write_json(result: EvaluationResult, path: Path) -> None:
    payload: dict[str, Any] = {"provenance": result.provenance, "warnings": list(result.warnings)}
    for name, df in result.tables().items():
        payload[name] = json.loads(
            df.to_json(orient="records", force_ascii=False, double_precision=15)
        )
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")


def _write_xlsx(result: EvaluationResult, path: Path) -> None:
    """The workbook an office reads: every year's dimension results, the latest year's detail.

    Dimension and overall results (with overall ranks and stages) for every year; ranks within
    groups, indicator contributions and strengths/weaknesses for the latest year, the year a
    report is about; coverage, weights and provenance. The full panel of every table is in the
    .json, .parquet and .csv outputs.
    """
    latest = max(result.cube.years)

    def latest_only(df: pd.DataFrame) -> pd.DataFrame:
        selected: pd.DataFrame = df[df["year"].to_numpy() == latest]
        return selected.reset_index(drop=True)

    ranks = result.ranks_table
    info = pd.DataFrame(
        {
            "key": list(result.provenance),
            "value": [
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for v in result.provenance.values()
            ],
        }
    )
    write_workbook(
        path,
        {
            "results": results_table(result, indicators=False),
            "group_ranks": latest_only(ranks[ranks["scope_kind"] != "all"]),
            "contributions": latest_only(result.contributions_table),
            "strengths_weaknesses": latest_only(result.strengths_weaknesses()),
            "group_scores": result.group_scores,
            "coverage": result.coverage_table,
            "indicator_coverage": result.indicator_coverage,
            "weights": result.weights_table,
            "provenance": info,
        },
    )


__all__ = ["TOTAL", "evaluate", "load_config", "results_table", "write_results"]
