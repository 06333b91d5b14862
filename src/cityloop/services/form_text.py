"""Lists typed into one text field: codes or numbers separated by commas, semicolons, spaces
or new lines, in ASCII or full-width (Chinese) punctuation, as forms and CLI options take them.
"""

from __future__ import annotations

# Every separator an office worker types between items, the full-width ones of a Chinese
# input method included (，；、 and the ideographic space), becomes one comma.
_SEPARATORS = str.maketrans(dict.fromkeys(" \t\r\n;，；、\u3000", ","))


def split_list(text: str) -> list[str]:
    """The non-empty items of ``text``, in order, repeats kept."""
    return [part for part in text.translate(_SEPARATORS).split(",") if part]


def split_codes(text: str) -> tuple[str, ...]:
    """The codes in ``text``, in order, each once."""
    return tuple(dict.fromkeys(split_list(text)))


def split_numbers(text: str) -> tuple[float, ...]:
    """The numbers in ``text``, in order.

    Raises
    ------
    ValueError
        An item is not a number; the caller names the field in its own message.
    """
    return tuple(float(part) for part in split_list(text))
