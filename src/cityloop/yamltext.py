"""Parse a YAML data file once into both its values and its node tree (for line numbers).

Uses libyaml's C loader when PyYAML was built with it: framework and questionnaire files parse
about ten times faster than with the pure-Python loader.
"""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_with_nodes(text: str) -> tuple[Any, yaml.Node | None]:
    """The document's values and its root node (``(None, None)`` for an empty document).

    Raises
    ------
    yaml.YAMLError
        The text is not valid YAML; ``problem_mark`` says where.
    """
    loader = SafeLoader(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    finally:
        loader.dispose()
