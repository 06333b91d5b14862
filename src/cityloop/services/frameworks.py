"""Framework use-cases: list the shipped ones, describe one, validate a file, copy for editing.

Copies are written atomically in YAML or Excel, ready to edit and load by path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cityloop.errors import FrameworkError, Location, Problem
from cityloop.frameworks import Framework, load_framework, shipped_ids, write_excel, write_yaml
from cityloop.frameworks.schema import WeightStatus
from cityloop.frameworks.tree import weights_by_status
from cityloop.i18n import pick
from cityloop.services.files import write_atomically


@dataclass(frozen=True)
class FrameworkInfo:
    """One line of the framework list."""

    id: str
    version: str
    title: str
    standard: str
    dimensions: int
    indicators: int
    weights_confirmed: int
    weights_equal_by_default: int
    weights_unconfirmed: int


def describe(fw: Framework, lang: str | None = None) -> FrameworkInfo:
    counts = weights_by_status(fw)
    return FrameworkInfo(
        id=fw.id,
        version=fw.version,
        title=pick(fw.spec.title.as_dict(), lang),
        standard=fw.spec.standard.code if fw.spec.standard else "",
        dimensions=fw.n_dimensions,
        indicators=len(fw.indicators),
        weights_confirmed=counts[WeightStatus.CONFIRMED] + counts[WeightStatus.DERIVED],
        weights_equal_by_default=counts[WeightStatus.EQUAL_BY_DEFAULT],
        weights_unconfirmed=counts[WeightStatus.UNCONFIRMED],
    )


def list_frameworks(lang: str | None = None) -> list[FrameworkInfo]:
    """Every shipped framework, loaded and validated."""
    return [describe(load_framework(fid), lang) for fid in shipped_ids()]


def copy_framework(ref: str, dest: Path) -> Path:
    """Write framework ``ref`` to ``dest`` (.yaml/.yml or .xlsx) for a user to edit."""
    fw = load_framework(ref)
    suffix = dest.suffix.lower()
    if suffix not in {".yaml", ".yml", ".xlsx"}:
        raise FrameworkError(
            "fw.invalid",
            [Problem("fw.bad_suffix_short", {"suffix": suffix}, Location(file=str(dest)))],
            file=str(dest),
        )

    def write(tmp: Path) -> None:
        if suffix == ".xlsx":
            write_excel(fw, tmp)
        else:
            write_yaml(fw, tmp)
        load_framework(tmp)  # never hand the user a copy that does not load back

    return write_atomically(dest, write)


def weight_tree(fw: Framework, lang: str | None = None) -> list[dict[str, object]]:
    """The tree as nested ``{name, code, value, children}`` with each node's share of the
    whole score as ``value``: the data of the weights sunburst."""
    share = fw.path_weight()
    nodes: list[dict[str, object]] = [
        {"name": fw.name(code, lang), "code": code, "value": float(share[i]), "children": []}
        for i, code in enumerate(fw.codes)
    ]
    roots: list[dict[str, object]] = []
    for i, node in enumerate(nodes):
        parent = int(fw.parent[i])
        siblings = roots if parent < 0 else nodes[parent]["children"]
        assert isinstance(siblings, list)
        siblings.append(node)
    for node in nodes:
        if not node["children"]:
            del node["children"]
    return roots
