"""Test-wide settings: hypothesis checks correctness, never timing (benchmarks do that); every
test starts in the default language, whatever the one before it chose (``--lang en``)."""

from collections.abc import Iterator

import pytest
from hypothesis import settings

from cityloop.i18n import DEFAULT_LANGUAGE, set_language

settings.register_profile("cityloop", deadline=None, print_blob=True)
settings.load_profile("cityloop")


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    set_language(DEFAULT_LANGUAGE)
    yield
    set_language(DEFAULT_LANGUAGE)
