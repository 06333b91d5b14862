"""The translation catalogue: both languages have the same keys, and every key used exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cityloop.i18n import catalogue, normalise_language, t, use_language

SRC = Path(__file__).parent.parent / "src" / "cityloop"
# Literal keys passed to t(), Problem(), errors and warnings: "area.something" strings.
KEY_CALL = re.compile(
    r"""(?:\bt|Problem|Error|MethodError|ConfigError|DataValidationError|FrameworkError)\(\s*"""
    r"""["']([a-z_]+\.[a-z0-9_.]+)["']"""
)
KEY_AREAS = (
    "eval|norm|values|template|units|table|fw|ahp|weights|demo|cli|accounts|role"
    "|web|dash|collect|runs|rob|unc|survey|questionnaire|surveypub|surveyweb"
    "|catalogue|sharing|ckan|sensors|derived|dataquality|plan|plancat|plandiag|planweb|supervision|outcome|supweb|demoloop|report|repcity|repplan|repsup"
)
KEY_LITERAL = re.compile(rf"""["']((?:{KEY_AREAS})\.[a-z0-9_.]+)["']""")


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        keys.update(KEY_CALL.findall(text))
        keys.update(k for k in KEY_LITERAL.findall(text) if not k.endswith("."))
    return keys


def test_both_languages_have_the_same_keys() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert sorted(set(zh) - set(en)) == []
    assert sorted(set(en) - set(zh)) == []


def test_every_key_used_in_the_code_is_in_the_catalogue() -> None:
    zh = catalogue("zh-CN")
    missing = sorted(
        k for k in used_keys() if k not in zh and not k.endswith((".yaml", ".py", ".html", ".xlsx"))
    )
    assert missing == []


def test_placeholders_match_between_languages() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    field = re.compile(r"\{(\w+)")
    differ = {k for k in zh if set(field.findall(zh[k])) != set(field.findall(en[k]))}
    assert differ == set()


def test_default_is_chinese_and_english_on_request() -> None:
    assert t("stage.smart") == "智慧化"
    with use_language("en"):
        assert t("stage.smart") == "Smart"
    assert t("stage.smart", "en") == "Smart"


def test_language_spellings() -> None:
    assert normalise_language("zh_CN") == "zh-CN"
    assert normalise_language("EN-us") == "en"
    with pytest.raises(ValueError, match="unsupported"):
        normalise_language("fr")
