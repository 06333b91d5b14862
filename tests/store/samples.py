"""Small synthetic data for the storage tests: the mini framework and a 31-city demo panel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from cityloop.datahub.indicator_table import IndicatorTable, validate_values
from cityloop.datahub.units import Units, build_units
from cityloop.demo.generator import generate_demo
from cityloop.frameworks import Framework, load_framework

MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"
YEARS = (2024, 2025)


@dataclass(frozen=True)
class Demo:
    """Units and validated values of the mini framework for 31 invented cities, two years."""

    units: Units
    values: IndicatorTable
    frame: pd.DataFrame


@pytest.fixture(scope="session")
def mini() -> Framework:
    return load_framework(MINI)


@pytest.fixture(scope="session")
def mini_demo(mini: Framework) -> Demo:
    data = generate_demo([mini], n_cities=31, years=YEARS, seed=7)
    units = build_units(data.units)
    frame = data.values[mini.id]
    return Demo(units=units, values=validate_values(frame, mini, units), frame=frame)
