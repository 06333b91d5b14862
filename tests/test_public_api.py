"""The public names of ``cityloop``: adding or removing one is a deliberate change."""

import cityloop

EXPECTED = {
    "CityLoopError",
    "ConfigError",
    "DataValidationError",
    "EvaluationConfig",
    "EvaluationResult",
    "Framework",
    "FrameworkError",
    "InputError",
    "MethodError",
    "UncertaintyResult",
    "UncertaintySpec",
    "__version__",
    "evaluate",
    "load_framework",
    "uncertainty",
    "write_results",
}


def test_public_names_are_exactly_these() -> None:
    assert set(cityloop.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(cityloop, name), name


def test_exported_objects_belong_to_cityloop() -> None:
    for name in EXPECTED - {"__version__"}:
        assert getattr(cityloop, name).__module__.startswith("cityloop."), name
