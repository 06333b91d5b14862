"""A SYNTHETIC month of endpoint probes for the demo city, so that the data-quality dashboard
has uptime figures before the real prober (``cityloop quality probe``) has run for long.

Fixed seed: the same catalogue gives the same history (relative to the moment it is written).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from cityloop.store import Database
from cityloop.store.quality import NewCheck

DEMO_DAYS = 30
DEMO_EVERY_MINUTES = 15  # the interval the docs suggest for the systemd timer
OUTAGE_PROBES = 12  # one outage of three hours, on some endpoints
DEMO_DETAIL_OK = "HTTP 200 (synthetic demo)"
DEMO_DETAIL_FAIL = "HTTP 503 (synthetic demo)"


def demo_probe_history(db: Database, unit: str, seed: int, *, now: datetime | None = None) -> int:
    """Write a synthetic month of probes (every 15 minutes) for ``unit``'s resources that
    have an ``api_url``; return the rows written. Does nothing when the unit has probes.

    Each endpoint gets its own availability (most above 99 %, a few clearly worse), random
    failures at that rate, a three-hour outage on about a third of them, and log-normal
    latencies around 120 ms.
    """
    endpoints = db.quality.endpoints(unit)
    if not endpoints or db.quality.check_count(unit) > 0:
        return 0
    rng = np.random.default_rng(seed)
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    steps = DEMO_DAYS * 24 * 60 // DEMO_EVERY_MINUTES
    moments = pd.date_range(end=end, periods=steps, freq=f"{DEMO_EVERY_MINUTES}min", tz=UTC)
    n = len(endpoints)
    availability = 1 - rng.beta(0.6, 40, size=n)  # mostly > 0.99, a long tail below
    ok = rng.random((n, steps)) < availability[:, None]
    struck = rng.random(n) < 1 / 3
    starts = rng.integers(0, steps - OUTAGE_PROBES, size=n)
    offsets = np.arange(steps)[None, :] - starts[:, None]
    ok &= ~(struck[:, None] & (offsets >= 0) & (offsets < OUTAGE_PROBES))
    latency = np.round(rng.lognormal(np.log(120), 0.35, size=(n, steps)), 1)
    ids = np.repeat([resource_id for resource_id, _ in endpoints], steps)
    at = np.tile(moments.to_pydatetime(), n)
    flat_ok = ok.ravel()
    checks = [
        NewCheck(
            int(i),
            when,
            bool(good),
            float(ms) if good else None,
            DEMO_DETAIL_OK if good else DEMO_DETAIL_FAIL,
        )
        for i, when, good, ms in zip(ids, at, flat_ok, latency.ravel(), strict=True)
    ]
    return db.quality.record_checks(checks)
