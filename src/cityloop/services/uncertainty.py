"""How robust a ranking is, for a stored run or for data files: the Monte Carlo uncertainty
and Sobol sensitivity analysis of ``evaluation.uncertainty`` on the inputs of an evaluation.

The web page, its JSON API and ``cityloop uncertainty`` all come here; results can be written
to an Excel workbook. They are not stored: the seed and the spec reproduce them exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import yaml

from cityloop.datahub.units import Units
from cityloop.errors import ConfigError, InputError, Location, Problem
from cityloop.evaluation.aggregate import Aggregation
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import ValuesCube
from cityloop.evaluation.groups import GroupKind, groups_from_memberships
from cityloop.evaluation.missing import Imputation
from cityloop.evaluation.normalise import Normalisation
from cityloop.evaluation.uncertainty import (
    LeaveOut,
    UncertaintyResult,
    UncertaintySpec,
    WeightPerturbation,
    load_spec,
    uncertainty,
)
from cityloop.frameworks import Framework, load_framework
from cityloop.i18n import catalogue, current_language, t
from cityloop.services.evaluation import (
    DEFAULT_FRAMEWORK,
    DataInput,
    cube_for,
    load_config,
    load_units,
    load_values,
)
from cityloop.services.files import write_atomically
from cityloop.services.run_results import stored_run, unit_names
from cityloop.services.workbook import write_workbook
from cityloop.store import Database

Progress = Callable[[int, int], None]
T = TypeVar("T")
# What a web request may ask for: a few seconds of one worker. Larger analyses belong to the
# command line, optionally on a Dask cluster (``--scheduler``).
MAX_WEB_REPLICATIONS = 20_000


@dataclass(frozen=True)
class Inputs:
    """What an evaluation was computed from: the cube, framework, config and groups."""

    cube: ValuesCube
    framework: Framework
    config: EvaluationConfig
    groups: dict[str, GroupKind]
    names: dict[str, str]


@dataclass(frozen=True)
class Robustness:
    """An analysis and where it came from.

    ``run_id`` is the stored run analysed (None for files); ``data_changed`` says the stored
    values differ from those the run evaluated (the analysis uses the values stored now).
    """

    result: UncertaintyResult
    run_id: int | None
    data_changed: bool
    names: dict[str, str]

    def summary(self, visible: Collection[str] | None = None) -> pd.DataFrame:
        """The per-unit summary of the visible units (None: all), with their names."""
        table = self.result.summary_table
        if visible is not None:
            table = table[table["unit"].isin(set(visible))]
        table = table.copy()
        table.insert(1, "name", table["unit"].map(self.names).fillna(table["unit"]))
        return table.reset_index(drop=True)


def run_inputs(db: Database, run_id: int) -> tuple[Inputs, str]:
    """The inputs of stored run ``run_id`` rebuilt as ``evaluate_stored`` built them (the run's
    framework version and config, the stored values and regions), and the run's data hash."""
    run = stored_run(db, run_id)
    fw = db.framework(run.framework_id, run.framework_version)
    config = load_config(run.config)
    units = db.units()
    table = load_values(db.values_frame(fw.id, config.years), fw, units)
    return inputs_of(table, fw, config, units, unit_names(db)), run.data_hash


def run_config(db: Database, run_id: int) -> EvaluationConfig:
    """The config stored run ``run_id`` was evaluated with."""
    return load_config(stored_run(db, run_id).config)


def file_inputs(
    data: DataInput,
    framework: str | Path | Framework = DEFAULT_FRAMEWORK,
    config: EvaluationConfig | Mapping[str, Any] | str | Path | None = None,
    units: str | Path | pd.DataFrame | Units | None = None,
) -> Inputs:
    """The inputs ``cityloop evaluate`` reads from the same arguments."""
    fw = framework if isinstance(framework, Framework) else load_framework(framework)
    cfg = load_config(config)
    unit_info = load_units(units)
    table = load_values(data, fw, unit_info)
    return inputs_of(table, fw, cfg, unit_info, names_of(unit_info))


def inputs_of(
    table: Any, fw: Framework, config: EvaluationConfig, units: Units | None, names: dict[str, str]
) -> Inputs:
    cube = cube_for(table, fw, config, units)
    groups = groups_from_memberships(units.memberships if units else None, cube.units)
    return Inputs(cube, fw, config, groups, names)


def names_of(units: Units | None) -> dict[str, str]:
    """Unit code → name in the current language (Chinese where no English name is given)."""
    if units is None:
        return {}
    names = units.table["name_zh"].astype(str)
    if current_language() == "en" and "name_en" in units.table:
        english = units.table["name_en"].fillna("").astype(str)
        names = english.where(english.str.len() > 0, names)
    return {str(code): str(name) for code, name in names.items()}


def analyse(
    inputs: Inputs,
    spec: UncertaintySpec | Mapping[str, Any] | None = None,
    *,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> UncertaintyResult:
    """``evaluation.uncertainty`` on ``inputs``; ``scheduler`` names a Dask scheduler."""
    return uncertainty(
        inputs.cube,
        inputs.framework,
        inputs.config,
        spec,
        inputs.groups,
        scheduler=scheduler,
        progress=progress,
    )


def analyse_run(
    db: Database,
    run_id: int,
    spec: UncertaintySpec | Mapping[str, Any] | None = None,
    *,
    scheduler: str | None = None,
    progress: Progress | None = None,
    max_replications: int | None = None,
) -> Robustness:
    """How robust stored run ``run_id``'s ranking is, on the values stored now.

    ``max_replications`` refuses a larger spec before anything runs (the web uses
    ``MAX_WEB_REPLICATIONS``).
    """
    checked = load_spec(spec)
    if max_replications is not None and checked.replications > max_replications:
        raise InputError("rob.too_many", replications=checked.replications, limit=max_replications)
    inputs, data_hash = run_inputs(db, run_id)
    result = analyse(inputs, checked, scheduler=scheduler, progress=progress)
    return Robustness(result, run_id, inputs.cube.data_hash != data_hash, inputs.names)


def analyse_files(
    data: DataInput,
    framework: str | Path | Framework = DEFAULT_FRAMEWORK,
    config: EvaluationConfig | Mapping[str, Any] | str | Path | None = None,
    units: str | Path | pd.DataFrame | Units | None = None,
    spec: UncertaintySpec | Mapping[str, Any] | None = None,
    *,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Robustness:
    """How robust the ranking of the evaluation of data files is (``cityloop evaluate`` input)."""
    inputs = file_inputs(data, framework, config, units)
    result = analyse(inputs, spec, scheduler=scheduler, progress=progress)
    return Robustness(result, None, False, inputs.names)


def read_spec(path: Path | None, **overrides: Any) -> UncertaintySpec:
    """A spec from a YAML file (or the defaults) with ``overrides`` that are not None applied;
    a bad file or field is refused naming the file and the field."""
    data: dict[str, Any] = {}
    source = "<uncertainty>"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
        except (OSError, yaml.YAMLError) as exc:
            problem = Problem(
                "rob.spec_unreadable",
                {"file": source, "detail": str(exc).splitlines()[0]},
                Location(file=source),
            )
            raise ConfigError("unc.spec_invalid", [problem]) from None
        if not isinstance(loaded, dict):
            problem = Problem("rob.spec_not_mapping", {"file": source}, Location(file=source))
            raise ConfigError("unc.spec_invalid", [problem])
        data = loaded
    data.update({k: v for k, v in overrides.items() if v is not None})
    return load_spec(data)


# -- the web form ---------------------------------------------------------------------------------

# Choices the robustness form offers, in the order it lists them.
CHOICES: dict[str, tuple[str, ...]] = {
    "weights": tuple(w.value for w in WeightPerturbation),
    "normalisations": tuple(n.value for n in Normalisation),
    "aggregations": tuple(a.value for a in Aggregation),
    "imputations": tuple(i.value for i in Imputation),
    "leave_out": tuple(v.value for v in LeaveOut),
}
DEFAULT_SPEC = UncertaintySpec()
WEB_REPLICATIONS = 2000  # what the form proposes: about a second on a province's cities


@dataclass(frozen=True)
class SpecForm:
    """The robustness form as the user typed it; ``form_spec`` turns it into a spec.

    ``weight_spread`` is in percent; each ``imputations`` entry is one method, tried alone.
    """

    replications: str = str(WEB_REPLICATIONS)
    seed: str = str(DEFAULT_SPEC.seed)
    weights: str = DEFAULT_SPEC.weights.value
    weight_spread: str = f"{100 * DEFAULT_SPEC.weight_spread:g}"
    dirichlet_concentration: str = f"{DEFAULT_SPEC.dirichlet_concentration:g}"
    normalisations: tuple[str, ...] = ()
    aggregations: tuple[str, ...] = ()
    imputations: tuple[str, ...] = ()
    leave_out: str = DEFAULT_SPEC.leave_out.value
    top_k: str = str(DEFAULT_SPEC.top_k)
    year: str = ""
    sobol: bool = DEFAULT_SPEC.sobol


def option_label(kind: str, value: str) -> str:
    """A form choice's name (``kind`` is a key of ``CHOICES``): the run form's for methods."""
    shared = {"normalisations": "normalisation", "aggregations": "aggregation"}
    shared["imputations"] = "imputation"
    if kind in shared:
        return t(f"runs.opt.{shared[kind]}.{value}")
    return t(f"rob.opt.{kind}.{value}")


def form_spec(form: SpecForm, run_config: EvaluationConfig | None = None) -> UncertaintySpec:
    """The spec of a form; text that is no number is refused naming the field, the rest is
    checked by ``load_spec``. Methods ticked are drawn together with ``run_config``'s own."""
    problems: list[Problem] = []

    def number(name: str, text: str, kind: type[int] | type[float]) -> float | None:
        try:
            return kind(text.strip()) if text.strip() else None
        except ValueError:
            where = Location(file=t("rob.form.source"), column=name)
            problems.append(Problem("rob.form.not_a_number", {"value": text[:40]}, where))
            return None

    spread = number("weight_spread", form.weight_spread, float)
    own_normalisation = run_config.normalisation.method.value if run_config else None
    own_aggregation = run_config.aggregation.default.value if run_config else None
    own_imputation = [m.value for m in run_config.imputation] if run_config else None
    mapping: dict[str, Any] = {
        "replications": number("replications", form.replications, int),
        "seed": number("seed", form.seed, int),
        "weights": form.weights,
        "weight_spread": None if spread is None else spread / 100,
        "dirichlet_concentration": number(
            "dirichlet_concentration", form.dirichlet_concentration, float
        ),
        "normalisations": with_own(form.normalisations, own_normalisation),
        "aggregations": with_own(form.aggregations, own_aggregation),
        "imputations": with_own([[m] for m in form.imputations], own_imputation),
        "leave_out": form.leave_out,
        "top_k": number("top_k", form.top_k, int),
        "year": number("year", form.year, int),
        "sobol": form.sobol,
    }
    if problems:
        raise ConfigError("unc.spec_invalid", problems)
    return load_spec({k: v for k, v in mapping.items() if v is not None or k == "year"})


def with_own(chosen: Sequence[T], own: T | None) -> list[T]:
    """The methods ticked, with the run's own first; nothing ticked stays nothing (the core
    then keeps the run's method)."""
    if not chosen or own is None or own in chosen:
        return list(chosen)
    return [own, *chosen]


def spec_yaml(spec: UncertaintySpec) -> str:
    """The spec as the YAML ``cityloop uncertainty --spec`` reads: the page's recipe."""
    text: str = yaml.safe_dump(spec.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
    return text


# -- the workbook ---------------------------------------------------------------------------------


def _header(name: str, lang: str) -> str:
    """A sheet's or column's heading: this area's catalogue entry first, then the shared one."""
    entries = catalogue(lang)
    return entries.get(f"rob.xlsx.{name}", entries.get(f"xlsx.{name}", name))


def robustness_sheets(analysis: Robustness, lang: str | None = None) -> dict[str, pd.DataFrame]:
    """Summary, sensitivity, drawn factors and provenance, with localised names and headings."""
    lang = lang or current_language()
    result = analysis.result
    info = {
        **result.provenance,
        "run": analysis.run_id,
        "year": result.year,
        "data_changed": analysis.data_changed,
    }
    provenance = pd.DataFrame(
        {
            "item": list(info),
            "value": [
                json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else str(v)
                for v in info.values()
            ],
        }
    )
    sheets = {
        "summary": analysis.summary(),
        "sensitivity": result.sensitivity_table,
        "factors": result.factors,
        "provenance": provenance,
    }
    return {
        _header(f"sheet.{key}", lang): frame.rename(columns=lambda c: _header(f"col.{c}", lang))
        for key, frame in sheets.items()
    }


def write_robustness(analysis: Robustness, out: Path, lang: str | None = None) -> Path:
    """Write the analysis to the workbook ``out`` (.xlsx) atomically."""
    if out.suffix.lower() != ".xlsx":
        problem = Problem("rob.export_suffix", {"suffix": out.suffix}, Location(file=str(out)))
        raise InputError("rob.export_refused", [problem])
    sheets = robustness_sheets(analysis, lang)
    return write_atomically(out, lambda tmp: write_workbook(tmp, sheets, lang))
