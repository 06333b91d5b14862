"""Benchmark: survey analysis (raking + every index + IPA + needs) of 10,000,000 responses.

Run: .venv/bin/python benchmarks/survey_analysis.py [--n 10000000 --runs 2]
Generates SYNTHETIC responses to a citizen-experience-like plan (not timed against the
target), times ``analyse`` end to end and its parts, and measures the grouped scan both ways
(NumPy bincount vs DuckDB) on the same per-respondent scores.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import duckdb
import numpy as np
import pandas as pd

from cityloop.demo.survey import DEMO_DISTRICTS, default_truth, demo_plan, synthetic_responses
from cityloop.survey.analysis import _rake_each_year, analyse
from cityloop.survey.grouped import build_strata, stratum_sums
from cityloop.survey.needs import rank_needs
from cityloop.survey.needs_dictionary import load_dictionary
from cityloop.survey.satisfaction import respondent_scores

PARENTS = {code: code[:2] for code in ("L1P1", "L1P2", "L1P3", "L1P4", "L1P5", "L1P6", "L1P7",
                                      "L2P1", "L2P2", "L3P1", "L4P1")}  # fmt: skip


def timed(label: str, call):  # type: ignore[no-untyped-def]
    """Run ``call``; print wall time, CPU time of all threads and the load average."""
    start, cpu = time.perf_counter(), time.process_time()
    result = call()
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"{label}: {elapsed:.2f} s wall, {used:.2f} s CPU (load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return result, elapsed


def duckdb_sums(scores: dict, strata_codes: np.ndarray) -> float:  # type: ignore[type-arg]
    """The same per-stratum sums (count, Σy, Σy²) of every score, as one DuckDB query."""
    # Timed from handing the arrays over: DuckDB needs them as one table (pandas copies them
    # into one block; NaN becomes NULL on the scan).
    start, cpu = time.perf_counter(), time.process_time()
    distinct = {id(v): v for v in scores.values()}
    table = pd.DataFrame({f"v{k}": v for k, v in enumerate(distinct.values())})
    table["stratum"] = strata_codes
    aggregates = ", ".join(
        f"count(v{k}), sum(v{k}), sum(v{k} * v{k})" for k in range(len(distinct))
    )
    connection = duckdb.connect()
    connection.register("scores", table)
    connection.execute(f"SELECT stratum, {aggregates} FROM scores GROUP BY stratum").fetchnumpy()
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"  grouped scan, DuckDB ({len(distinct)} scores): {elapsed:.2f} s wall, {used:.2f} s CPU",
        flush=True,
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, pandas {pd.__version__}, "
        f"DuckDB {duckdb.__version__}; load average {os.getloadavg()[0]:.2f}"
    )
    plan = demo_plan()
    truth = default_truth(plan, DEMO_DISTRICTS)
    responses, generation = timed(
        f"generate {args.n:,} SYNTHETIC responses (not counted)",
        lambda: synthetic_responses(plan, args.n, districts=DEMO_DISTRICTS, seed=7, year=2026),
    )
    print(
        f"  {len(plan.rated)} rated questions, {len(responses.choices):,} need picks, "
        f"{len(responses.texts):,} free texts"
    )
    margins = truth.margins()
    times = []
    for run in range(args.runs):
        result, elapsed = timed(
            f"analyse, run {run + 1}",
            lambda: analyse(plan, responses, margins, parents=PARENTS),
        )
        times.append(elapsed)
    print(f"analyse best of {args.runs}: {min(times):.2f} s (target < 10 s)")
    print(
        f"  raking: {result.raking[2026].iterations} iterations, converged "
        f"{result.raking[2026].converged}, deff {result.design_effect:.3f}; "
        f"{len(result.estimates):,} estimates, {len(result.ipa)} IPA items, "
        f"{len(result.needs)} needs; experience score {result.experience_score.value:.2f}"
    )
    frame = responses.frame
    (weights, _), _ = timed("  part: raking (district × age × gender)", lambda: _rake_each_year(
        frame, margins, (0.3, 3.0)))  # fmt: skip
    scores, _ = timed("  part: per-respondent scores", lambda: respondent_scores(
        plan, frame, PARENTS))  # fmt: skip
    strata, _ = timed("  part: strata", lambda: build_strata(frame, weights, ("district",)))
    distinct = {id(v): v for v in scores.values()}
    timed(
        f"  grouped scan, NumPy bincount ({len(distinct)} scores)",
        lambda: [stratum_sums(v, strata) for v in distinct.values()],
    )
    duckdb_sums(scores, strata.codes)
    dictionary = load_dictionary()
    timed("  part: needs (choices + texts)", lambda: rank_needs(
        plan, responses, weights, dictionary=dictionary))  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"max RSS {peak:.1f} GiB; generation {generation:.1f} s")


if __name__ == "__main__":
    main()
