"""Benchmark: the scale run, up to 1,000,000 replications on 3,000 units × 200 indicators on Dask.

Run: .venv/bin/python benchmarks/uncertainty_dask.py [--reps 1000000 --workers 2 --out DIR]
Two parts. (1) ``uncertainty(..., scheduler=client)`` itself on a LocalCluster for ``--api-reps``
replications (every replication's ranks come back: 3 × 8 bytes × units per replication).
(2) The scale run: the same chunks (the same ``run_chunk`` the API sends to workers), each
reduced on its worker to a per-unit rank histogram, because 1,000,000 × 3,000 ranks would be
24 GB. Each chunk's histogram is saved in ``--out``, so an interrupted run resumes where it
stopped. Median, 5 % and 95 % ranks and P(top 10) come exactly from the summed histograms.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client, LocalCluster, as_completed

from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import ValuesCube
from cityloop.evaluation.uncertainty import load_spec, uncertainty
from cityloop.evaluation.uncertainty_kernel import ChunkInputs, run_chunk
from cityloop.evaluation.uncertainty_setup import build_setup

# The sibling benchmark's framework builder (benchmarks/ is on sys.path when run as a script).
sys.path.insert(0, str(Path(__file__).parent))
from evaluate import synthetic_framework


def rank_histogram(inputs: ChunkInputs, start: int, stop: int) -> dict[str, Any]:
    """Run one chunk on the worker and keep only what the summary needs."""
    t0 = time.perf_counter()
    out = run_chunk(inputs, start, stop)
    n_units = out.ranks.shape[1]
    cells = np.arange(n_units)[None, :] * (n_units + 1) + out.ranks
    counts = np.bincount(cells.ravel(), minlength=n_units * (n_units + 1))
    return {
        "start": start,
        "stop": stop,
        "counts": counts.reshape(n_units, n_units + 1).astype(np.int32),  # ≤ chunk size
        "seconds": time.perf_counter() - t0,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def synthetic_cube(n_units: int, n_ind: int, seed: int) -> tuple[ValuesCube, Any]:
    fw = synthetic_framework(n_ind, 8, band=False)
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 100, size=(n_units, 1, n_ind))
    values[rng.random(values.shape) < 0.05] = np.nan
    units = tuple(f"U{i:05d}" for i in range(n_units))
    return ValuesCube(units, (2026,), fw.indicator_codes, values), fw


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--indicators", type=int, default=200)
    parser.add_argument("--reps", type=int, default=1_000_000)
    parser.add_argument("--api-reps", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=8192)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/cityloop-uncertainty-scale"))
    args = parser.parse_args()
    cube, fw = synthetic_cube(args.units, args.indicators, seed=7)
    config = EvaluationConfig()
    print(f"data: {args.units} units × {args.indicators} indicators (8 dimensions, 5 % missing)")
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster)
    print(f"LocalCluster: {args.workers} worker processes × 1 thread")

    if args.api_reps:
        spec = {"replications": args.api_reps, "sobol": False, "chunk_size": args.chunk}
        start = time.perf_counter()
        result = uncertainty(cube, fw, config, spec, scheduler=client)
        took = time.perf_counter() - start
        print(
            f"API uncertainty(scheduler=client): {args.api_reps:,} replications in {took:.1f} s "
            f"({took / args.api_reps * 1e3:.3f} ms per replication); "
            f"client max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
        del result

    spec = load_spec({"replications": args.reps, "sobol": False})
    setup = build_setup(cube, fw, config, spec, {}, 0)
    args.out.mkdir(parents=True, exist_ok=True)
    bounds = [(s, min(s + args.chunk, args.reps)) for s in range(0, args.reps, args.chunk)]
    todo = [b for b in bounds if not (args.out / f"{b[0]:09d}.npz").exists()]
    print(
        f"scale run: {args.reps:,} replications in {len(bounds)} chunks of {args.chunk}; "
        f"{len(bounds) - len(todo)} already done in {args.out}"
    )
    shared = client.scatter(setup.inputs, broadcast=True)
    start = time.perf_counter()
    futures = [client.submit(rank_histogram, shared, s, e, pure=False) for s, e in todo]
    done = 0
    worker_rss = 0.0
    for future in as_completed(futures):
        part = future.result()
        np.savez_compressed(args.out / f"{part['start']:09d}.npz", counts=part["counts"])
        done += part["stop"] - part["start"]
        worker_rss = max(worker_rss, part["max_rss_mib"])
        elapsed = time.perf_counter() - start
        print(
            f"  {done:>9,} / {sum(e - s for s, e in todo):,} replications, {elapsed:7.1f} s, "
            f"chunk {part['seconds']:.1f} s, worker max RSS {worker_rss:.0f} MiB",
            flush=True,
        )
        future.release()
    took = time.perf_counter() - start
    counts = sum(np.load(args.out / f"{s:09d}.npz")["counts"].astype(np.int64) for s, _ in bounds)
    cdf = np.cumsum(counts[:, 1:], axis=1) / counts[:, 1:].sum(axis=1, keepdims=True)
    median = (cdf < 0.5).sum(axis=1) + 1
    p05, p95 = (cdf < 0.05).sum(axis=1) + 1, (cdf < 0.95).sum(axis=1) + 1
    print(
        f"scale run: {sum(e - s for s, e in todo):,} replications in {took:.1f} s "
        f"({took / max(done, 1) * 1e3:.3f} ms per replication, {args.workers} workers)"
    )
    print(
        f"median width of the 5–95 % rank interval: {np.median(p95 - p05):.0f} places; "
        f"median of median ranks {np.median(median):.0f}"
    )
    print(
        f"client max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
        f"worker max RSS {worker_rss:.0f} MiB"
    )
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
