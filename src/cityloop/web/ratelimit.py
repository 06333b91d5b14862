"""A per-address rate limit for the public survey routes and for sign-in: a token bucket per
client address.

In-process (each worker keeps its own buckets), so with N workers an address may get up to N
times the rate; it is a brake on floods and scripts, not an accounting of requests.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_ADDRESSES = 100_000  # buckets kept before the full (idle) ones are dropped


class RateLimiter:
    """``allow(address)`` is True while the address has tokens: ``per_minute`` a minute, with
    a burst of as many."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # address → (tokens, last refill)
        self._lock = threading.Lock()

    def allow(self, address: str, now: float | None = None) -> bool:
        """Take one token for ``address``; False when it has none left."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(address, (float(self.per_minute), moment))
            tokens = min(float(self.per_minute), tokens + (moment - last) * self._rate)
            allowed = tokens >= 1.0
            self._buckets[address] = (tokens - 1.0 if allowed else tokens, moment)
            if len(self._buckets) > MAX_ADDRESSES:
                self._forget_idle(moment)
        return allowed

    def _forget_idle(self, now: float) -> None:
        # A bucket that would have refilled by now is the same as no bucket.
        full = 60.0
        self._buckets = {a: b for a, b in self._buckets.items() if now - b[1] < full}


class SignInSettings(BaseSettings):
    """The sign-in throttle, from ``CITYLOOP_LOGIN_<NAME>``: attempts a minute per address,
    each counted (right password or not), beside the per-account lockout."""

    model_config = SettingsConfigDict(env_prefix="CITYLOOP_LOGIN_", extra="ignore")

    rate_per_minute: int = 20


_BUILDING = threading.Lock()


def sign_in_limiter(state: Any) -> RateLimiter:
    """The worker's sign-in limiter, built on first use from ``state.login_settings`` when a
    test or a benchmark set one (many sign-ins from one address), else the environment's."""
    with _BUILDING:
        limiter: RateLimiter | None = getattr(state, "login_limiter", None)
        if limiter is None:
            settings = getattr(state, "login_settings", None) or SignInSettings()
            limiter = RateLimiter(settings.rate_per_minute)
            state.login_limiter = limiter
    return limiter
