"""Lockout after repeated failures: worked sequences and properties over random attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityloop.accounts import (
    DEFAULT_LOCKOUT,
    LockoutPolicy,
    LockStatus,
    LoginState,
    lock_status,
    record_attempt,
)
from tests.strategies import attempt_gaps, login_attempts

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def fail(state: LoginState, now: datetime, times: int = 1) -> LoginState:
    for _ in range(times):
        state = record_attempt(state, succeeded=False, now=now)
    return state


def test_four_failures_do_not_lock_and_the_fifth_locks_for_15_minutes() -> None:
    state = fail(LoginState(), T0, 4)
    assert state == LoginState(failures=4, last_failure=T0)
    assert not lock_status(state, T0).locked
    state = fail(state, T0 + MINUTE)
    assert lock_status(state, T0 + MINUTE) == LockStatus(True, T0 + 16 * MINUTE)
    assert lock_status(state, T0 + 16 * MINUTE) == LockStatus(False)


def test_repeated_locks_double_up_to_the_cap() -> None:
    state, now, lengths = LoginState(), T0, []
    for _ in range(7):
        state = fail(state, now, DEFAULT_LOCKOUT.max_failures)
        status = lock_status(state, now)
        assert status.locked
        assert status.until is not None
        lengths.append(status.until - now)
        now = status.until
    assert lengths == [timedelta(minutes=m) for m in (15, 30, 60, 120, 240, 240, 240)]


def test_huge_lock_numbers_stay_at_the_cap() -> None:
    assert DEFAULT_LOCKOUT.lock_duration(10**9) == DEFAULT_LOCKOUT.longest_lock
    odd = LockoutPolicy(first_lock=timedelta(minutes=10), longest_lock=timedelta(minutes=25))
    assert [odd.lock_duration(n).seconds // 60 for n in (1, 2, 3, 4)] == [10, 20, 25, 25]
    with pytest.raises(ValueError, match="starts at 1"):
        DEFAULT_LOCKOUT.lock_duration(0)


def test_attempts_while_locked_change_nothing() -> None:
    locked = fail(LoginState(), T0, 5)
    assert record_attempt(locked, succeeded=False, now=T0 + MINUTE) == locked
    assert record_attempt(locked, succeeded=True, now=T0 + MINUTE) == locked


def test_success_clears_the_streak() -> None:
    state = fail(LoginState(), T0, 4)
    state = record_attempt(state, succeeded=True, now=T0 + MINUTE)
    assert state == LoginState()
    assert not lock_status(fail(state, T0 + MINUTE, 4), T0 + MINUTE).locked


def test_a_quiet_day_forgets_the_streak() -> None:
    state = fail(LoginState(), T0, 4)
    state = fail(state, T0 + timedelta(hours=24))
    assert state == LoginState(failures=1, last_failure=T0 + timedelta(hours=24))
    # After a lock the quiet day counts from the end of the lock, and doubling starts over.
    state = fail(LoginState(), T0, 5)
    state = fail(state, T0 + 15 * MINUTE + timedelta(hours=24) - MINUTE)
    assert state.failures == 6
    state = fail(LoginState(failures=5, last_failure=T0), T0 + 15 * MINUTE + timedelta(hours=24))
    assert state.failures == 1


def test_invalid_policy_and_state_are_refused() -> None:
    with pytest.raises(ValueError, match="max_failures"):
        LockoutPolicy(max_failures=0)
    with pytest.raises(ValueError, match="first_lock"):
        LockoutPolicy(first_lock=timedelta(hours=5))
    with pytest.raises(ValueError, match="negative"):
        LoginState(failures=-1)
    with pytest.raises(ValueError, match="last one"):
        LoginState(failures=2)


@given(login_attempts())
def test_lock_end_never_moves_earlier_while_failures_continue(
    attempts: list[tuple[timedelta, bool]],
) -> None:
    state, now, ends = LoginState(), T0, list[datetime]()
    for gap, _ in attempts:
        now += gap
        state = record_attempt(state, succeeded=False, now=now)
        until = lock_status(state, now).until
        if until is not None:
            ends.append(until)
    assert ends == sorted(ends)


@given(login_attempts())
def test_a_success_outside_a_lock_always_resets(attempts: list[tuple[timedelta, bool]]) -> None:
    state, now = LoginState(), T0
    for gap, succeeded in attempts:
        now += gap
        was_locked = lock_status(state, now).locked
        state = record_attempt(state, succeeded=succeeded, now=now)
        if succeeded and not was_locked:
            assert state == LoginState()


@given(login_attempts(max_size=20), st.lists(st.tuples(attempt_gaps, st.booleans())))
def test_a_lock_holds_until_its_time_whatever_is_tried(
    before: list[tuple[timedelta, bool]], during: list[tuple[timedelta, bool]]
) -> None:
    state, now = LoginState(), T0
    for gap, succeeded in before:
        now += gap
        state = record_attempt(state, succeeded=succeeded, now=now)
    state = fail(state, now, DEFAULT_LOCKOUT.max_failures)
    status = lock_status(state, now)
    assert status.locked  # max_failures in a row reach a lock, whatever came before
    until = status.until
    assert until is not None
    for gap, succeeded in during:
        now += gap
        if now >= until:
            break
        state = record_attempt(state, succeeded=succeeded, now=now)
        assert lock_status(state, now) == LockStatus(True, until)
    assert not lock_status(state, until).locked
