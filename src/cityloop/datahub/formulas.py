"""The formula language of derived indicators: a small, safe grammar parsed with Python's ``ast``.

``parse_formula`` checks a formula once (known functions, options, types) and says which series
it reads and at what grain; ``cityloop.datahub.formula_eval`` evaluates it. Nothing is ever run.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cityloop.errors import InputError

MAX_FORMULA_CHARS = 500
AGGREGATES = frozenset({"mean", "max", "min", "sum", "count"})
COVERAGE_STEPS = {"1h": 3600, "1d": 86400}
HUB_METRICS = frozenset({"sharing_ratio", "completeness", "timeliness", "uptime", "open_share"})
HOURS_PATTERN = re.compile(r"^\d{1,2}(-\d{1,2})?(,\d{1,2}(-\d{1,2})?)*$")
ENTITY_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]*$")  # Smart Data Models types are CamelCase
ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
COMPARISON = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class Kind(StrEnum):
    """What an expression yields: a number, a series of readings, a condition or a text."""

    SCALAR = "scalar"
    SERIES = "series"
    CONDITION = "condition"
    TEXT = "text"


class Grain(StrEnum):
    """How a series must be read: hourly sums per entity suffice, or every raw reading."""

    HOURLY = "hourly"
    RAW = "raw"


class FormulaError(InputError):
    """A formula breaks the grammar; ``column`` (1-based) points into the formula text."""


@dataclass(frozen=True)
class Function:
    """A function of the language: what it takes, what it gives, its allowed option strings.

    ``hourly_input``: its result is the same whether its series argument holds raw readings
    or hourly sums (count, sum, min, max per entity and hour), so the store may pre-aggregate.
    """

    takes: Kind
    returns: Kind
    options: frozenset[str] | None = None  # None: no option; empty set: free text (checked)
    hourly_input: bool = False


FUNCTIONS: dict[str, Function] = {
    "hourly": Function(Kind.SERIES, Kind.SERIES, AGGREGATES, hourly_input=True),
    "daily": Function(Kind.SERIES, Kind.SERIES, AGGREGATES, hourly_input=True),
    "per_entity": Function(Kind.SERIES, Kind.SERIES, AGGREGATES, hourly_input=True),
    "hours": Function(Kind.SERIES, Kind.SERIES, frozenset(), hourly_input=True),
    "coverage": Function(Kind.SERIES, Kind.SERIES, frozenset(COVERAGE_STEPS), hourly_input=True),
    "latest": Function(Kind.SERIES, Kind.SERIES),
    "mean": Function(Kind.SERIES, Kind.SCALAR, hourly_input=True),
    "min": Function(Kind.SERIES, Kind.SCALAR, hourly_input=True),
    "max": Function(Kind.SERIES, Kind.SCALAR, hourly_input=True),
    "sum": Function(Kind.SERIES, Kind.SCALAR, hourly_input=True),
    "count": Function(Kind.SERIES, Kind.SCALAR, hourly_input=True),
    "median": Function(Kind.SERIES, Kind.SCALAR),
    "share": Function(Kind.CONDITION, Kind.SCALAR),
    "share_entities": Function(Kind.CONDITION, Kind.SCALAR),
}


@dataclass(frozen=True)
class Ref:
    """A series: one attribute of every entity of one NGSI-LD type in the unit."""

    entity_type: str
    attribute: str

    def __str__(self) -> str:
        return f"{self.entity_type}.{self.attribute}"


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Metric:
    name: str


@dataclass(frozen=True)
class Series:
    ref: Ref


@dataclass(frozen=True)
class Call:
    function: str
    argument: Node
    option: str | None


@dataclass(frozen=True)
class Arithmetic:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Comparison:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Negative:
    operand: Node


Node = Number | Text | Metric | Series | Call | Arithmetic | Comparison | Negative


@dataclass(frozen=True)
class Formula:
    """A checked formula: its text, its tree, the series and hub metrics it reads."""

    text: str
    root: Node
    grains: dict[Ref, Grain] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(self.grains)


def parse_formula(text: str) -> Formula:
    """Parse and check ``text``; raise ``FormulaError`` naming the fault and its column.

    Parameters
    ----------
    text : str
        A formula such as ``100 * share(daily(AirQualityObserved.pm25, "mean") <= 75)``.

    Returns
    -------
    Formula
        The tree, the series it reads (with the grain each needs) and the hub metrics.
    """
    if len(text) > MAX_FORMULA_CHARS:
        raise FormulaError("derived.formula.too_long", limit=MAX_FORMULA_CHARS, column=1)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise FormulaError(
            "derived.formula.syntax", detail=exc.msg, column=exc.offset or 1
        ) from None
    root = _node(tree.body)
    if kind_of(root) != Kind.SCALAR:
        raise FormulaError("derived.formula.not_scalar", kind=kind_of(root).value, column=1)
    grains: dict[Ref, Grain] = {}
    _collect_grains(root, hourly_ok=False, grains=grains)
    return Formula(text.strip(), root, grains, tuple(sorted(_metrics(root))))


def parse_hours(spec: str) -> frozenset[int]:
    """The local hours of day a ``hours()`` option keeps: ``"7-9,17-19"`` is 7, 8, 17 and 18.

    ``a-b`` is the half-open interval [a, b) of hours, 0 ≤ a < b ≤ 24; a single ``h`` is that
    hour (0–23). Raises ``FormulaError`` on anything else.
    """
    if not HOURS_PATTERN.match(spec):
        raise FormulaError("derived.formula.bad_hours", hours=spec, column=1)
    kept: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.partition("-")
        start, stop = int(low), int(high) if high else int(low) + 1
        if not 0 <= start < stop <= 24:
            raise FormulaError("derived.formula.bad_hours", hours=spec, column=1)
        kept.update(range(start, stop))
    return frozenset(kept)


# -- building the tree -------------------------------------------------------------------------


def _fail(key: str, node: ast.AST, **params: Any) -> FormulaError:
    return FormulaError(key, column=getattr(node, "col_offset", 0) + 1, **params)


def _node(node: ast.AST) -> Node:
    """The formula node for one ``ast`` node; anything not in the whitelist is refused."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float | str):
            raise _fail("derived.formula.bad_constant", node, value=repr(node.value))
        return Text(node.value) if isinstance(node.value, str) else Number(float(node.value))
    if isinstance(node, ast.Attribute):
        return _reference(node)
    if isinstance(node, ast.Call):
        return _call(node)
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        out = Arithmetic(ARITHMETIC[type(node.op)], _node(node.left), _node(node.right))
        _check_arithmetic(out, node)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _node(node.operand)
        if kind_of(operand) not in (Kind.SCALAR, Kind.SERIES):
            raise _fail("derived.formula.bad_operand", node, kind=kind_of(operand).value)
        return Negative(operand) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Compare):
        return _comparison(node)
    if isinstance(node, ast.Name):
        raise _fail("derived.formula.bare_name", node, name=node.id)
    raise _fail("derived.formula.not_allowed", node, what=type(node).__name__)


def _reference(node: ast.Attribute) -> Node:
    if not isinstance(node.value, ast.Name):
        raise _fail("derived.formula.bad_reference", node, text=ast.unparse(node))
    owner, name = node.value.id, node.attr
    if owner == "hub":
        if name not in HUB_METRICS:
            known = ", ".join(sorted(HUB_METRICS))
            raise _fail("derived.formula.unknown_metric", node, name=name, known=known)
        return Metric(name)
    if not ENTITY_TYPE.match(owner):
        raise _fail("derived.formula.bad_reference", node, text=ast.unparse(node))
    return Series(Ref(owner, name))


def _call(node: ast.Call) -> Call:
    if not isinstance(node.func, ast.Name):
        raise _fail("derived.formula.method_call", node, text=ast.unparse(node.func))
    name = node.func.id
    spec = FUNCTIONS.get(name)
    if spec is None:
        known = ", ".join(sorted(FUNCTIONS))
        raise _fail("derived.formula.unknown_function", node, name=name, known=known)
    wanted = 1 if spec.options is None else 2
    if (
        node.keywords
        or len(node.args) != wanted
        or any(isinstance(a, ast.Starred) for a in node.args)
    ):
        raise _fail("derived.formula.arity", node, name=name, count=wanted)
    argument = _node(node.args[0])
    if kind_of(argument) != spec.takes:
        raise _fail(
            "derived.formula.argument_kind", node, name=name,
            wanted=spec.takes.value, got=kind_of(argument).value,
        )  # fmt: skip
    option = None
    if spec.options is not None:
        given = node.args[1]
        if not isinstance(given, ast.Constant) or not isinstance(given.value, str):
            raise _fail("derived.formula.option_text", given, name=name)
        option = given.value
        if name == "hours":
            try:
                parse_hours(option)
            except FormulaError:
                raise _fail("derived.formula.bad_hours", given, hours=option) from None
        elif option not in spec.options:
            allowed = ", ".join(sorted(spec.options))
            raise _fail(
                "derived.formula.bad_option", given, name=name, option=option, known=allowed
            )
    return Call(name, argument, option)


def _check_arithmetic(out: Arithmetic, node: ast.BinOp) -> None:
    kinds = {kind_of(out.left), kind_of(out.right)}
    if not kinds <= {Kind.SCALAR, Kind.SERIES}:
        bad = (kinds - {Kind.SCALAR, Kind.SERIES}).pop()
        raise _fail("derived.formula.bad_operand", node, kind=bad.value)
    if kinds == {Kind.SERIES}:
        raise _fail("derived.formula.series_arithmetic", node)


def _comparison(node: ast.Compare) -> Comparison:
    if len(node.ops) != 1 or type(node.ops[0]) not in COMPARISON:
        raise _fail("derived.formula.chained_comparison", node)
    op = COMPARISON[type(node.ops[0])]
    left, right = _node(node.left), _node(node.comparators[0])
    kinds = sorted((kind_of(left).value, kind_of(right).value))
    if kinds not in (["scalar", "series"], ["series", "text"]):
        raise _fail("derived.formula.bad_comparison", node, left=kinds[0], right=kinds[1])
    if "text" in kinds and op not in ("==", "!="):
        raise _fail("derived.formula.text_order", node, op=op)
    return Comparison(op, left, right)


def kind_of(node: Node) -> Kind:
    """What ``node`` yields (the tree is already checked)."""
    if isinstance(node, Number | Metric):
        return Kind.SCALAR
    if isinstance(node, Text):
        return Kind.TEXT
    if isinstance(node, Series):
        return Kind.SERIES
    if isinstance(node, Call):
        return FUNCTIONS[node.function].returns
    if isinstance(node, Comparison):
        return Kind.CONDITION
    if isinstance(node, Negative):
        return kind_of(node.operand)
    kinds = {kind_of(node.left), kind_of(node.right)}
    return Kind.SERIES if Kind.SERIES in kinds else Kind.SCALAR


def _collect_grains(node: Node, *, hourly_ok: bool, grains: dict[Ref, Grain]) -> None:
    """Record for each series whether hourly sums suffice: only when every function between
    it and the first aggregation keeps them exact (``hours`` passes its parent's verdict)."""
    if isinstance(node, Series):
        grain = Grain.HOURLY if hourly_ok else Grain.RAW
        grains[node.ref] = Grain.RAW if grains.get(node.ref) == Grain.RAW else grain
    elif isinstance(node, Call):
        spec = FUNCTIONS[node.function]
        passes = hourly_ok if node.function == "hours" else spec.hourly_input
        _collect_grains(node.argument, hourly_ok=passes, grains=grains)
    elif isinstance(node, Negative):
        _collect_grains(node.operand, hourly_ok=False, grains=grains)
    elif isinstance(node, Arithmetic | Comparison):
        _collect_grains(node.left, hourly_ok=False, grains=grains)
        _collect_grains(node.right, hourly_ok=False, grains=grains)


def _metrics(node: Node) -> set[str]:
    if isinstance(node, Metric):
        return {node.name}
    if isinstance(node, Call):
        return _metrics(node.argument)
    if isinstance(node, Negative):
        return _metrics(node.operand)
    if isinstance(node, Arithmetic | Comparison):
        return _metrics(node.left) | _metrics(node.right)
    return set()
