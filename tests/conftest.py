"""Test-wide settings: hypothesis checks correctness, never timing (benchmarks do that)."""

from hypothesis import settings

settings.register_profile("cityloop", deadline=None, print_blob=True)
settings.load_profile("cityloop")
