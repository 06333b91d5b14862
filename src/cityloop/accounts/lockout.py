"""Account lockout after repeated failed logins, as a pure policy over a two-field state.

The state is what the store keeps per account (consecutive failures, time of the last one);
the caller passes the current time in, so nothing here reads a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures lock an account, and for how long.

    Every ``max_failures``-th consecutive failure locks the account, starting at the time of
    that failure: the first lock lasts ``first_lock``, each further lock in the same streak
    twice as long as the one before, never longer than ``longest_lock``. A streak is forgotten
    once ``forget_after`` has passed since its last failure (or the end of its lock) without a
    new failure; a successful login ends it at once.

    The defaults (5 failures, 15 minutes doubling to 4 hours) let an online guesser try at most
    about 30 passwords a day per account, while someone who mistyped is back in 15 minutes and
    an attacker can lock a victim out for at most 4 hours at a time.

    Parameters
    ----------
    max_failures : int
        Consecutive failures that trigger a lock.
    first_lock : timedelta
        Length of the first lock of a streak.
    longest_lock : timedelta
        Cap on the doubling.
    forget_after : timedelta
        Quiet time after which a streak no longer counts.
    """

    max_failures: int = 5
    first_lock: timedelta = timedelta(minutes=15)
    longest_lock: timedelta = timedelta(hours=4)
    forget_after: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if self.first_lock <= timedelta(0) or self.longest_lock < self.first_lock:
            raise ValueError("need 0 < first_lock <= longest_lock")
        if self.forget_after < timedelta(0):
            raise ValueError("forget_after must not be negative")

    def lock_duration(self, lock_number: int) -> timedelta:
        """Length of the ``lock_number``-th lock of a streak (1 for the first)."""
        if lock_number < 1:
            raise ValueError("lock_number starts at 1")
        doublings = lock_number - 1
        # Compare exponents rather than build 2**doublings, which could overflow timedelta.
        if doublings >= math.log2(self.longest_lock / self.first_lock):
            return self.longest_lock
        return min(self.first_lock * (1 << doublings), self.longest_lock)


DEFAULT_LOCKOUT = LockoutPolicy()


@dataclass(frozen=True)
class LoginState:
    """What is remembered about an account's failed logins.

    Parameters
    ----------
    failures : int
        Consecutive failed logins in the current streak.
    last_failure : datetime or None
        When the latest of them happened; None when ``failures`` is 0. Use one convention
        (timezone-aware UTC is recommended) for every datetime passed to this module.
    """

    failures: int = 0
    last_failure: datetime | None = None

    def __post_init__(self) -> None:
        if self.failures < 0:
            raise ValueError("failures must not be negative")
        if self.failures > 0 and self.last_failure is None:
            raise ValueError("a state with failures needs the time of the last one")


@dataclass(frozen=True)
class LockStatus:
    """Whether an account is locked now and, if so, until when."""

    locked: bool
    until: datetime | None = None


def _lock_end(state: LoginState, policy: LockoutPolicy) -> datetime | None:
    """End of the lock the latest failure started, or None if it started none."""
    if state.last_failure is None or state.failures < policy.max_failures:
        return None
    if state.failures % policy.max_failures:
        return None
    return state.last_failure + policy.lock_duration(state.failures // policy.max_failures)


def lock_status(
    state: LoginState, now: datetime, policy: LockoutPolicy = DEFAULT_LOCKOUT
) -> LockStatus:
    """Whether the account in ``state`` is locked at ``now``.

    Parameters
    ----------
    state : LoginState
        The account's remembered failures.
    now : datetime
        The current time, supplied by the caller.
    policy : LockoutPolicy
        The lockout rules.

    Returns
    -------
    LockStatus
        ``locked`` and, when locked, ``until`` (the first moment a login is accepted again).
    """
    end = _lock_end(state, policy)
    if end is not None and now < end:
        return LockStatus(locked=True, until=end)
    return LockStatus(locked=False)


def record_attempt(
    state: LoginState,
    *,
    succeeded: bool,
    now: datetime,
    policy: LockoutPolicy = DEFAULT_LOCKOUT,
) -> LoginState:
    """The state after a login attempt at ``now`` that ``succeeded`` or failed.

    An attempt on a locked account changes nothing, whatever its outcome: the lock runs its
    full course, and the caller should refuse such an attempt without checking the password
    (so a locked account offers no password oracle and costs no Argon2 work). Otherwise a
    success clears the streak and a failure extends it, or starts a new one if the old one is
    forgotten.

    Parameters
    ----------
    state : LoginState
        The account's remembered failures before the attempt.
    succeeded : bool
        Whether the password was right.
    now : datetime
        When the attempt happened, supplied by the caller.
    policy : LockoutPolicy
        The lockout rules.

    Returns
    -------
    LoginState
        The state to store.
    """
    if lock_status(state, now, policy).locked:
        return state
    if succeeded:
        return LoginState()
    streak = 0 if _forgotten(state, now, policy) else state.failures
    return LoginState(failures=streak + 1, last_failure=now)


def _forgotten(state: LoginState, now: datetime, policy: LockoutPolicy) -> bool:
    if state.last_failure is None:
        return True
    quiet_since = _lock_end(state, policy) or state.last_failure
    return now - quiet_since >= policy.forget_after
