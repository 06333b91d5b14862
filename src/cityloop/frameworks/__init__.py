"""Indicator frameworks as data: the schema, the loader and the compiled tree.

Shipped frameworks live beside this file as YAML; users load their own by path.
"""

from cityloop.frameworks.loader import (
    departments,
    load_framework,
    read_excel,
    shipped_ids,
    write_excel,
    write_yaml,
)
from cityloop.frameworks.schema import Direction, FrameworkFile, SourceKind, ValueType
from cityloop.frameworks.tree import Framework, compile_framework

__all__ = [
    "Direction",
    "Framework",
    "FrameworkFile",
    "SourceKind",
    "ValueType",
    "compile_framework",
    "departments",
    "load_framework",
    "read_excel",
    "shipped_ids",
    "write_excel",
    "write_yaml",
]
