"""Lists typed into one field: every separator an office worker types splits, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityloop.services.form_text import split_codes, split_list, split_numbers

SEPARATORS = [",", "，", ";", "；", "、", " ", "\n", "\t", "\u3000", ", ", "，\n"]
ITEM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8)


@given(st.lists(ITEM, max_size=8), st.lists(st.sampled_from(SEPARATORS), min_size=8, max_size=8))
def test_items_joined_by_any_separators_come_back_in_order(
    items: list[str], separators: list[str]
) -> None:
    text = "".join(item + sep for item, sep in zip(items, separators, strict=False))
    assert split_list(text) == items
    assert split_codes(text) == tuple(dict.fromkeys(items))


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=6))
def test_numbers_round_trip(values: list[float]) -> None:
    assert split_numbers("；".join(repr(v) for v in values)) == tuple(values)


def test_chinese_input_and_blank_text() -> None:
    assert split_numbers("3000，3500、 4000") == (3000.0, 3500.0, 4000.0)
    assert split_codes("gov_cloud；city_brain gov_cloud") == ("gov_cloud", "city_brain")
    assert split_list("  ，;\n") == []


def test_a_word_among_numbers_is_refused() -> None:
    with pytest.raises(ValueError, match="three"):
        split_numbers("1, three, 3")
