"""The Dask path: a real LocalCluster of worker processes gives the local result bit for bit."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from distributed import Client, LocalCluster

from cityloop.errors import ConfigError
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import ValuesCube
from cityloop.evaluation.uncertainty import UncertaintyResult, uncertainty
from cityloop.frameworks import Framework, load_framework

SPEC = {
    "replications": 3000,
    "seed": 99,
    "chunk_size": 500,
    "weights": "dirichlet",
    "normalisations": ["min_max", "goalposts"],
    "aggregations": ["arithmetic", "geometric"],
    "leave_out": "indicator",
}


@pytest.fixture(scope="module")
def data() -> tuple[ValuesCube, Framework]:
    fw = load_framework("gbt33356-2016")
    rng = np.random.default_rng(8)
    values = rng.uniform(0, 100, size=(60, 2, len(fw.indicator_codes)))
    values[rng.random(values.shape) < 0.1] = np.nan
    units = tuple(f"U{i:03d}" for i in range(60))
    return ValuesCube(units, (2024, 2025), fw.indicator_codes, values), fw


@pytest.fixture(scope="module")
def clusters() -> Iterator[dict[int, Client]]:
    """A one-worker and a two-worker cluster of separate processes."""
    made = {
        n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
        for n in (1, 2)
    }
    clients = {n: Client(cluster) for n, cluster in made.items()}
    yield clients
    for n, client in clients.items():
        client.close()
        made[n].close()


def same(a: UncertaintyResult, b: UncertaintyResult) -> None:
    assert np.array_equal(a.scores, b.scores, equal_nan=True)
    assert np.array_equal(a.ranks, b.ranks)
    assert np.array_equal(a.stages, b.stages)
    assert a.factors.equals(b.factors)
    assert np.array_equal(a.rank_shift, b.rank_shift)
    assert a.sensitivity.equals(b.sensitivity)


@pytest.mark.parametrize("sobol", [False, True])
def test_one_and_two_workers_give_the_local_result_bit_for_bit(
    data: tuple[ValuesCube, Framework], clusters: dict[int, Client], sobol: bool
) -> None:
    cube, fw = data
    spec = {**SPEC, "sobol": sobol}
    local = uncertainty(cube, fw, EvaluationConfig(), spec)
    seen: list[tuple[int, int]] = []
    two = uncertainty(
        cube,
        fw,
        EvaluationConfig(),
        spec,
        scheduler=clusters[2],
        progress=lambda done, total: seen.append((done, total)),
    )
    one = uncertainty(
        cube, fw, EvaluationConfig(), {**spec, "chunk_size": 1024}, scheduler=clusters[1]
    )
    same(local, two)
    same(local, one)
    assert two.provenance["n_workers"] == 2 and one.provenance["n_workers"] == 1
    assert local.provenance["scheduler"] == "local"
    assert seen[-1] == (local.replications, local.replications)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert np.ptp(local.ranks, axis=0).max() > 0  # the replications did vary


def test_a_scheduler_address_works_too(
    data: tuple[ValuesCube, Framework], clusters: dict[int, Client]
) -> None:
    cube, fw = data
    address = clusters[2].scheduler.address
    spec = {**SPEC, "sobol": False, "replications": 700}
    remote = uncertainty(cube, fw, EvaluationConfig(), spec, scheduler=address)
    assert remote.provenance["scheduler"] == address
    same(uncertainty(cube, fw, EvaluationConfig(), spec), remote)


def test_a_bad_scheduler_address_is_a_located_error(data: tuple[ValuesCube, Framework]) -> None:
    cube, fw = data
    with pytest.raises(ConfigError) as err:
        uncertainty(cube, fw, EvaluationConfig(), {"replications": 10}, scheduler="nonsense://x")
    assert err.value.problems[0].location.column == "scheduler"
    assert "nonsense://x" in str(err.value)
