"""The storage catalogue: zh-CN and English have the same keys, and every key used exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from cityloop.i18n import catalogue

SRC = Path(__file__).parent.parent.parent / "src" / "cityloop"
I18N = SRC / "i18n"
# Literal "store.something" strings, and the f-string families the CLI builds from a stem.
KEY = re.compile(r"""["'](store\.[a-z0-9_.]+)["']""")
FAMILY = re.compile(r"""f["'](store\.[a-z0-9_.]+)\{""")


def keys(lang_file: str) -> set[str]:
    return set(yaml.safe_load((I18N / lang_file).read_text(encoding="utf-8")))


def test_both_languages_have_the_same_store_keys() -> None:
    assert keys("store.zh_CN.yaml") == keys("store.en.yaml")


def test_every_store_key_in_the_code_exists() -> None:
    code = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
    zh = catalogue("zh-CN")
    used = set(KEY.findall(code))
    assert used, "no store key found: the pattern is wrong"
    assert sorted(used - set(zh)) == []
    for stem in FAMILY.findall(code):
        assert any(k.startswith(stem) for k in zh), stem


def test_store_keys_live_in_the_store_catalogue() -> None:
    assert {k for k in catalogue("en") if k.startswith("store.")} == keys("store.en.yaml")
