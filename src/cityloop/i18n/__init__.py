"""The translation catalogue: every user-facing string is looked up here by key.

zh-CN is the default language, English the second; ``CITYLOOP_LANG`` or ``use_language``
choose another for the current context.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"

_current: ContextVar[str | None] = ContextVar("cityloop_language", default=None)


def normalise_language(lang: str) -> str:
    """Map user spellings (zh, zh_CN, EN, en-US) to a supported language code."""
    low = lang.strip().lower().replace("_", "-")
    if low.startswith("zh"):
        return "zh-CN"
    if low.startswith("en"):
        return "en"
    raise ValueError(f"unsupported language {lang!r}; choose one of {', '.join(LANGUAGES)}")


def current_language() -> str:
    chosen = _current.get()
    if chosen is not None:
        return chosen
    env = os.environ.get("CITYLOOP_LANG")
    return normalise_language(env) if env else DEFAULT_LANGUAGE


@contextmanager
def use_language(lang: str) -> Iterator[None]:
    token = _current.set(normalise_language(lang))
    try:
        yield
    finally:
        _current.reset(token)


def set_language(lang: str) -> None:
    """Set the language for the rest of this context (the CLI calls it once per command)."""
    _current.set(normalise_language(lang))


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Merge every ``<area>.<lang>.yaml`` file of the package; a key defined twice is a bug."""
    suffix = ".zh_CN.yaml" if lang == "zh-CN" else ".en.yaml"
    merged: dict[str, str] = {}
    folder = resources.files("cityloop.i18n")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(suffix):
            continue
        data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise RuntimeError(f"translation catalogue {entry.name} is not a mapping")
        twice = merged.keys() & data.keys()
        if twice:
            raise RuntimeError(f"keys defined twice in the catalogue: {sorted(twice)}")
        merged.update({str(k): str(v) for k, v in data.items()})
    return merged


def t(key: str, lang: str | None = None, /, **params: Any) -> str:
    """Translate ``key`` into ``lang`` (default: the current language) and fill ``params``.

    A key missing from the catalogue is a programming error caught by the catalogue test;
    at run time the key itself is shown rather than crashing the user's command.
    """
    text = catalogue(lang or current_language()).get(key, key)
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return f"{text} {params}"


def pick(names: dict[str, str], lang: str | None = None) -> str:
    """Choose the right-language entry of a ``{zh: ..., en: ...}`` name, falling back to zh."""
    want = lang or current_language()
    if want == "en" and names.get("en"):
        return names["en"]
    return names.get("zh") or names.get("en") or ""
