"""The Dask adapter: run the uncertainty chunks on a ``dask.distributed`` cluster.

The only module that imports Dask. The shared inputs are scattered to every worker once, each
chunk is one task of the same pure ``run_chunk`` the local path calls, and the outputs are
gathered in chunk order, so a cluster gives the local result bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from distributed import Client
from distributed import as_completed as _untyped_as_completed

from cityloop.errors import ConfigError, Location, Problem
from cityloop.evaluation.uncertainty_kernel import ChunkInputs, ChunkOutput, run_chunk

_as_completed: Any = _untyped_as_completed  # distributed is untyped
_connect: Any = Client


def _client(address: str) -> Any:
    """Connect to the scheduler at ``address``; an unreachable one is a located user error."""
    try:
        return _connect(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            "unc.spec_invalid",
            [
                Problem(
                    "unc.scheduler_unreachable",
                    {"address": address, "detail": str(exc).splitlines()[0] if str(exc) else ""},
                    Location(column="scheduler"),
                )
            ],
        ) from None


def map_chunks(
    inputs: ChunkInputs,
    bounds: Sequence[tuple[int, int]],
    scheduler: str | Client,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[ChunkOutput], dict[str, Any]]:
    """Run ``run_chunk(inputs, start, stop)`` for every chunk on the cluster at ``scheduler``.

    ``scheduler`` is an address (``"tcp://host:8786"``) or a connected ``Client``; a client
    made here is closed afterwards. Returns the outputs in chunk order and what ran them.
    """
    own = not isinstance(scheduler, Client)
    # distributed's methods are untyped; the adapter keeps that to this one name.
    client: Any = scheduler if isinstance(scheduler, Client) else _client(scheduler)
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        shared = client.scatter(inputs, broadcast=True)
        futures = [
            client.submit(run_chunk, shared, start, stop, pure=False) for start, stop in bounds
        ]
        if progress is not None:
            total = bounds[-1][1] if bounds else 0
            sizes = {f.key: stop - start for f, (start, stop) in zip(futures, bounds, strict=True)}
            done = 0
            for finished in _as_completed(futures):
                done += sizes[finished.key]
                progress(done, total)
        outputs: list[ChunkOutput] = client.gather(futures)
        address = str(client.scheduler.address) if client.scheduler is not None else ""
    finally:
        if own:
            client.close()
    return outputs, {"scheduler": address, "n_workers": workers}
