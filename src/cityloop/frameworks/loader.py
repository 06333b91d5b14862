"""Read and write framework files: the shipped YAML files, a user's YAML copy or an Excel book.

Problems point at the file and line (YAML) or sheet and row (Excel) where they were written.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ValidationError

from cityloop.datahub.formulas import FormulaError, parse_formula
from cityloop.errors import FrameworkError, Location, Problem, schema_problems
from cityloop.frameworks.schema import FrameworkFile
from cityloop.frameworks.tree import Framework, compile_framework
from cityloop.yamltext import load_with_nodes

SHIPPED_PACKAGE = "cityloop.frameworks"
EXCEL_SHEETS = ("framework", "dimensions", "indicators")
_NAME_PAIRS = ("name", "definition")


@cache
def departments() -> dict[str, dict[str, str]]:
    """The department kinds an indicator may be assigned to (code → zh/en names)."""
    text = resources.files(SHIPPED_PACKAGE).joinpath("departments.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return {str(k): {"zh": v["zh"], "en": v["en"]} for k, v in data.items()}


def shipped_ids() -> list[str]:
    """Ids of the frameworks shipped with CityLoop (file stems under the package)."""
    folder = resources.files(SHIPPED_PACKAGE)
    return sorted(
        p.name.removesuffix(".yaml")
        for p in folder.iterdir()
        if p.name.endswith(".yaml") and p.name != "departments.yaml"
    )


def load_framework(ref: str | Path) -> Framework:
    """Load a framework by shipped id (``gbt33356-2022``) or by a path to .yaml/.yml/.xlsx."""
    path = Path(ref)
    if isinstance(ref, str) and ref in shipped_ids() and not path.exists():
        text = resources.files(SHIPPED_PACKAGE).joinpath(f"{ref}.yaml").read_text("utf-8")
        return parse_yaml(text, source=f"{ref}.yaml")
    if not path.exists():
        raise FrameworkError("fw.not_found", [], ref=str(ref), known=", ".join(shipped_ids()))
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return read_excel(path)
    if path.suffix.lower() in {".yaml", ".yml"}:
        return parse_yaml(path.read_text(encoding="utf-8-sig"), source=str(path))
    raise FrameworkError("fw.bad_suffix", [], file=str(path), suffix=path.suffix)


def parse_yaml(text: str, *, source: str) -> Framework:
    """Parse YAML text into a validated framework; every fault names its line."""
    try:
        data, root = load_with_nodes(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise FrameworkError(
            "fw.invalid",
            [
                Problem(
                    "fw.yaml_syntax",
                    {"detail": str(exc).splitlines()[0]},
                    Location(file=source, row=row),
                )
            ],
            file=source,
        ) from None
    if not isinstance(data, dict) or root is None:
        raise FrameworkError(
            "fw.invalid", [Problem("fw.not_mapping", {}, Location(file=source))], file=source
        )
    locate = _yaml_locations(root, source)
    return _validate(data, source, lambda loc: _yaml_line(root, loc, source), locate)


def read_excel(path: Path) -> Framework:
    """Read a framework written as an Excel book with sheets framework/dimensions/indicators."""
    from openpyxl import load_workbook

    source = str(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        raise FrameworkError(
            "fw.invalid",
            [Problem("fw.excel_unreadable", {"detail": str(exc)}, Location(file=source))],
            file=source,
        ) from None
    missing = [s for s in EXCEL_SHEETS if s not in book.sheetnames]
    if missing:
        raise FrameworkError(
            "fw.invalid",
            [
                Problem(
                    "fw.excel_missing_sheet", {"sheets": ", ".join(missing)}, Location(file=source)
                )
            ],
            file=source,
        )
    meta: dict[str, Any] = {}
    for row in book["framework"].iter_rows(min_row=2, values_only=True):
        if row and row[0] is not None:
            meta[str(row[0]).strip()] = row[1]
    data: dict[str, Any] = _unflatten_names(meta)
    if "standard_code" in data:
        data["standard"] = {
            "code": data.pop("standard_code"),
            "title": {
                "zh": data.pop("standard_title_zh", "") or "",
                "en": data.pop("standard_title_en", "") or "",
            },
            "publisher": data.pop("standard_publisher", "") or "",
            "year": data.pop("standard_year", None),
        }
    data["normalise_weights_within_parent"] = bool(data.get("normalise_weights_within_parent"))
    rows_of: dict[str, list[int]] = {}
    for sheet in ("dimensions", "indicators"):
        records, rows = _sheet_records(book[sheet])
        data[sheet] = [_unflatten_names(r) for r in records]
        rows_of[sheet] = rows
    book.close()
    locate = {
        str(rec.get("code")): Location(file=source, sheet=sheet, row=row)
        for sheet in ("dimensions", "indicators")
        for rec, row in zip(data[sheet], rows_of[sheet], strict=True)
    }

    def locate_error(loc: tuple[Any, ...]) -> Location:
        if len(loc) >= 2 and loc[0] in rows_of and isinstance(loc[1], int):
            column = ".".join(str(p) for p in loc[2:]) or None
            return Location(
                file=source, sheet=str(loc[0]), row=rows_of[loc[0]][loc[1]], column=column
            )
        return Location(file=source, sheet="framework", column=".".join(map(str, loc)))

    return _validate(data, source, locate_error, locate)


def write_excel(fw: Framework, path: Path) -> None:
    """Write ``fw`` as an Excel book that ``read_excel`` reads back to the same framework."""
    from openpyxl import Workbook

    spec = fw.spec.model_dump(mode="json", exclude_none=False)
    book = Workbook()
    meta_sheet = book.active
    meta_sheet.title = "framework"
    meta_sheet.append(["key", "value"])
    flat_meta = {k: v for k, v in spec.items() if k not in {"dimensions", "indicators", "standard"}}
    for key, value in _flatten_names(flat_meta).items():
        meta_sheet.append([key, value])
    if spec.get("standard"):
        std = spec["standard"]
        meta_sheet.append(["standard_code", std["code"]])
        meta_sheet.append(["standard_title_zh", std["title"]["zh"]])
        meta_sheet.append(["standard_title_en", std["title"]["en"]])
        meta_sheet.append(["standard_publisher", std["publisher"]])
        meta_sheet.append(["standard_year", std["year"]])
    for sheet in ("dimensions", "indicators"):
        rows = [_flatten_names(r) for r in spec[sheet]]
        ws = book.create_sheet(sheet)
        # Every key of any row: only some indicators carry a ``derived`` formula.
        columns = list(dict.fromkeys(k for r in rows for k in r)) or [
            "code", "name_zh", "name_en", "parent", "weight",
        ]  # fmt: skip
        ws.append(columns)
        for r in rows:
            ws.append([_cell(r.get(c)) for c in columns])
    book.save(path)


def write_yaml(fw: Framework, path: Path) -> None:
    """Write ``fw`` as a YAML file a user can edit and load again."""
    spec = fw.spec.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    path.write_text(
        yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8"
    )


# -- helpers ----------------------------------------------------------------------------------


def _validate(
    data: Mapping[str, Any],
    source: str,
    locate_error: Any,
    locate: Mapping[str, Location],
) -> Framework:
    try:
        spec = FrameworkFile.model_validate(data)
    except ValidationError as exc:
        problems = schema_problems(exc, locate_error)
        raise FrameworkError("fw.invalid", problems, file=source) from None
    formula_problems = _derived_problems(spec, locate_error)
    if formula_problems:
        raise FrameworkError("fw.invalid", formula_problems, file=source)
    return compile_framework(spec, source=source, departments=departments(), locate=locate)


def _derived_problems(spec: FrameworkFile, locate_error: Any) -> list[Problem]:
    """Each derived formula that does not parse, and each unknown time zone, located."""
    problems: list[Problem] = []
    for i, indicator in enumerate(spec.indicators):
        derived = indicator.derived
        if derived is None:
            continue
        try:
            parse_formula(derived.formula)
        except FormulaError as exc:
            where = locate_error(("indicators", i, "derived", "formula"))
            params = {"code": indicator.code, **exc.params}
            problems.append(Problem(exc.key, params, where))
        try:
            ZoneInfo(derived.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            where = locate_error(("indicators", i, "derived", "timezone"))
            params = {"code": indicator.code, "timezone": derived.timezone}
            problems.append(Problem("derived.bad_timezone", params, where))
    return problems


def _yaml_locations(root: yaml.Node, source: str) -> dict[str, Location]:
    out: dict[str, Location] = {}
    if not isinstance(root, yaml.MappingNode):
        return out
    for key, value in root.value:
        if key.value in {"dimensions", "indicators"} and isinstance(value, yaml.SequenceNode):
            for item in value.value:
                if isinstance(item, yaml.MappingNode):
                    for k, v in item.value:
                        if k.value == "code":
                            out[str(v.value)] = Location(file=source, row=item.start_mark.line + 1)
    return out


def _yaml_line(root: yaml.Node, loc: tuple[Any, ...], source: str) -> Location:
    """Follow a pydantic error path through the composed YAML to the line it names."""
    node: yaml.Node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == part]
            if not match:
                break
            node = match[0]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            break
    return Location(file=source, row=node.start_mark.line + 1, column=".".join(map(str, loc)))


def _sheet_records(ws: Any) -> tuple[list[dict[str, Any]], list[int]]:
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        return [], []
    names = [str(h).strip() if h is not None else "" for h in header]
    records: list[dict[str, Any]] = []
    row_numbers: list[int] = []
    for number, row in enumerate(rows, start=2):
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        rec = {n: v for n, v in zip(names, row, strict=False) if n and v is not None and v != ""}
        records.append(rec)
        row_numbers.append(number)
    return records, row_numbers


def _flatten_names(rec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in rec.items():
        if key in {*_NAME_PAIRS, "title", "notes"} and isinstance(value, dict):
            out[f"{key}_zh"] = value.get("zh", "")
            out[f"{key}_en"] = value.get("en", "")
        elif key == "band":
            out["band_low"] = value[0] if value else None
            out["band_high"] = value[1] if value else None
        else:
            out[key] = value
    return out


def _unflatten_names(rec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in rec.items():
        for stem in (*_NAME_PAIRS, "title", "notes"):
            if key in (f"{stem}_zh", f"{stem}_en"):
                out.setdefault(stem, {})[key[-2:]] = "" if value is None else str(value)
                break
        else:
            if key in {"band_low", "band_high"}:
                continue
            # A cell holds the derived block as the YAML text ``write_excel`` put there.
            out[key] = (
                yaml.safe_load(value) if key == "derived" and isinstance(value, str) else value
            )
    if rec.get("band_low") is not None or rec.get("band_high") is not None:
        out["band"] = [rec.get("band_low"), rec.get("band_high")]
    for key in ("code", "parent", "department", "unit"):
        if key in out and out[key] is not None:
            out[key] = str(out[key])
    return out


def _yaml_cell(value: Any) -> Any:
    """The mapping a cell's YAML text writes; the text itself when it is not YAML (the schema
    then says what was expected)."""
    if not isinstance(value, str):
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return yaml.safe_dump(value, allow_unicode=True).strip()
    return value
