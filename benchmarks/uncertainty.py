"""Benchmark: 10,000 uncertainty replications on 300 units × 60 indicators × 1 year, vs pymcdm.

Run: .venv/bin/python benchmarks/uncertainty.py [--units 300 --indicators 60 --reps 10000]
Prints wall time and peak memory, then runs the same weight draws through pymcdm's WSM one
replication at a time, checks the ranks are identical and prints the speed ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd
from pymcdm.methods import WSM
from pymcdm.normalizations import minmax_normalization

from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import build_cube
from cityloop.evaluation.uncertainty import load_spec, uncertainty
from cityloop.evaluation.uncertainty_kernel import competition_ranks, perturb_weights, uniform_draws
from cityloop.evaluation.uncertainty_setup import build_setup
from cityloop.frameworks import Framework
from evaluate import (
    synthetic_framework,  # the sibling benchmark's builder; benchmarks/ is sys.path[0]
)


def synthetic_cube(fw: Framework, n_units: int, seed: int):  # type: ignore[no-untyped-def]
    """Uniform values, complete (the peer library cannot re-weight around missing values)."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 100, size=(n_units, len(fw.indicator_codes)))
    u, i = np.nonzero(np.ones_like(values, dtype=bool))
    frame = pd.DataFrame(
        {
            "unit": [f"U{k:05d}" for k in u],
            "year": 2026,
            "indicator": [fw.indicator_codes[k] for k in i],
            "value": values[u, i],
        }
    )
    return build_cube(frame, fw), values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--indicators", type=int, default=60)
    parser.add_argument("--dimensions", type=int, default=6)
    parser.add_argument("--reps", type=int, default=10_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
    )
    # No band indicators: pymcdm knows only profit and cost criteria.
    fw = synthetic_framework(args.indicators, args.dimensions, band=False)
    cube, raw = synthetic_cube(fw, args.units, seed=7)
    config = EvaluationConfig()
    spec = load_spec(
        {"replications": args.reps, "weights": "uniform", "weight_spread": 0.2, "sobol": False}
    )
    print(
        f"data: {args.units} units × {args.indicators} indicators ({args.dimensions} "
        f"dimensions) × 1 year; {args.reps:,} replications, weights × U(0.8, 1.2)"
    )

    uncertainty(cube, fw, config, spec)  # warm-up: imports, first-touch of memory
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = uncertainty(cube, fw, config, spec)
        times.append(time.perf_counter() - start)
    ours = min(times)
    print(
        f"{'cityloop uncertainty (Monte Carlo), best of 3':<52} {ours:8.3f} s "
        f"(runs: {', '.join(f'{t:.3f}' for t in times)})"
    )
    tracemalloc.start()
    uncertainty(cube, fw, config, spec)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{'peak memory of one run (tracemalloc)':<52} {peak / 2**20:8.1f} MiB")

    sobol_spec = load_spec(
        {
            "replications": args.reps,
            "normalisations": ["min_max", "rank"],
            "aggregations": ["arithmetic", "geometric"],
        }
    )
    start = time.perf_counter()
    sobol = uncertainty(cube, fw, config, sobol_spec)
    print(
        f"{'with Sobol: weights + 2 norm. + 2 aggr. (' + str(sobol.replications) + ' reps)':<52}"
        f" {time.perf_counter() - start:8.3f} s"
    )

    # The peer: the same draws, one replication at a time through pymcdm's weighted sum.
    setup = build_setup(cube, fw, config, spec, {}, 0)
    inputs = setup.inputs
    u = uniform_draws(inputs, 0, args.reps)
    weights = perturb_weights(
        inputs.base_weight[np.zeros(args.reps, dtype=np.int64)],
        u,
        inputs.weight_nodes,
        inputs.parent,
        perturbation="uniform",
        spread=0.2,
        concentration=1.0,
    )
    types = np.where(fw.direction > 0, 1, -1)
    wsm = WSM(normalization_function=minmax_normalization)
    start = time.perf_counter()
    peer_scores = np.empty((args.reps, args.units))
    for r in range(args.reps):  # the peer library's way: one call per replication
        leaf_share = fw.path_weight(weights[r, :-1])[fw.leaf_nodes]
        peer_scores[r] = wsm(raw, leaf_share, types)
    peer = time.perf_counter() - start
    peer_ranks = competition_ranks(peer_scores)
    same = np.array_equal(peer_ranks, result.ranks)
    print(f"{'pymcdm WSM, same draws, one replication per call':<52} {peer:8.3f} s")
    print(
        f"identical ranks for identical draws: {same} "
        f"(max |score difference| {np.max(np.abs(peer_scores * 100 - result.scores)):.2e})"
    )
    print(f"speed ratio: {peer / ours:.0f}× (target ≥ 50×)")
    print(
        f"{'max RSS of the process':<52} "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.1f} MiB"
    )
    print(f"target < 2 s: {'met' if ours < 2.0 else 'NOT met'} ({ours:.3f} s)")


if __name__ == "__main__":
    main()
