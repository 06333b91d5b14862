"""Benchmark: the full evaluation pipeline on 3,000 units × 200 indicators × 10 years.

Run: .venv/bin/python benchmarks/evaluate.py [--units 3000 --indicators 200 --years 10]
Prints wall time and peak memory of each stage; figures go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

from cityloop.datahub.indicator_table import validate_values
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import build_cube
from cityloop.evaluation.pipeline import evaluate_cube
from cityloop.frameworks import Framework, FrameworkFile, compile_framework, departments

T = TypeVar("T")


def synthetic_framework(
    n_indicators: int, n_dimensions: int = 8, *, band: bool = True
) -> Framework:
    """A two-level framework of ``n_indicators`` spread over ``n_dimensions`` (benchmark only):
    higher-, lower- and (with ``band``) band-is-better indicators in turn."""
    directions = ["higher", "lower", "band"] if band else ["higher", "lower"]
    dims = [{"code": f"D{d}", "name": {"zh": f"维度{d}"}} for d in range(n_dimensions)]
    inds = [
        {
            "code": f"I{i:03d}",
            "name": {"zh": f"指标{i}"},
            "parent": f"D{i % n_dimensions}",
            "unit": "%",
            "value_type": "percentage",
            "direction": directions[i % len(directions)],
            **({"band": [40.0, 60.0]} if directions[i % len(directions)] == "band" else {}),
            "source_kind": "statistics",
            "department": "statistics",
        }
        for i in range(n_indicators)
    ]
    spec = FrameworkFile.model_validate(
        {
            "id": "bench",
            "version": "1",
            "title": {"zh": "基准"},
            "dimensions": dims,
            "indicators": inds,
        }
    )
    return compile_framework(spec, departments=departments())


def synthetic_long_table(n_units: int, n_ind: int, n_years: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 100, size=(n_units, n_years, n_ind))
    values[rng.random(values.shape) < 0.05] = np.nan
    u, y, i = np.nonzero(~np.isnan(values))
    return pd.DataFrame(
        {
            "unit": pd.Categorical.from_codes(u, categories=[f"U{k:05d}" for k in range(n_units)]),
            "year": (2016 + y).astype(np.int64),
            "indicator": pd.Categorical.from_codes(
                i, categories=[f"I{k:03d}" for k in range(n_ind)]
            ),
            "value": values[u, y, i],
            "source": "benchmark",
            "note": "",
        }
    )


def timed(label: str, fn: Callable[[], T], repeat: int = 3) -> tuple[T, float]:
    """Best wall time of ``repeat`` runs, and the last run's result."""
    start = time.perf_counter()
    out = fn()
    times = [time.perf_counter() - start]
    for _ in range(repeat - 1):
        start = time.perf_counter()
        out = fn()  # the previous result is freed here, so memory stays that of one run
        times.append(time.perf_counter() - start)
    best = min(times)
    print(f"{label:<48} {best:8.3f} s (best of {repeat})")
    return out, best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--indicators", type=int, default=200)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
    )
    fw = synthetic_framework(args.indicators)
    long = synthetic_long_table(args.units, args.indicators, args.years, seed=7)
    print(
        f"data: {args.units} units × {args.indicators} indicators × {args.years} years "
        f"= {len(long):,} observed values"
    )
    table, _ = timed("validate long table", lambda: validate_values(long, fw), repeat=1)
    cube, _ = timed("build cube", lambda: build_cube(table.frame, fw))
    config = EvaluationConfig(min_coverage=0.5)
    result, engine = timed(
        "engine: impute→normalise→weight→aggregate→rank", lambda: evaluate_cube(cube, fw, config)
    )
    winsor = EvaluationConfig(
        outliers={"method": "winsorise"},
        imputation=["carry_forward"],
        weights={"method": "entropy"},
        aggregation={"by_level": {1: "geometric"}},
    )
    timed(
        "engine with winsorise + carry-forward + entropy + geometric",
        lambda: evaluate_cube(cube, fw, winsor),
    )
    timed(
        "materialise scores, ranks, stages tables",
        lambda: (result.scores_table, result.ranks_table, result.stages_table)[0].shape,
        repeat=1,
    )
    tracemalloc.start()
    evaluate_cube(cube, fw, config)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{'peak memory of the engine (tracemalloc)':<48} {peak / 2**20:8.1f} MiB")
    print(
        f"{'max RSS of the process':<48} "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.1f} MiB"
    )
    print(f"engine target < 1 s: {'met' if engine < 1.0 else 'NOT met'} ({engine:.3f} s)")


if __name__ == "__main__":
    main()
