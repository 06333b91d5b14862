"""Argon2id hashing round trips and the password policy, rule by rule."""

from __future__ import annotations

import pytest

from cityloop.accounts import (
    DEFAULT_PARAMETERS,
    MIN_PASSWORD_LENGTH,
    HashParameters,
    WeakPasswordError,
    check_password,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)

# The cheapest parameters Argon2 accepts, so the suite stays fast.
CHEAP = HashParameters(time_cost=1, memory_cost=8, parallelism=1)
GOOD = "Lanqiao-2024-bridge"


def keys(password: str, username: str = "") -> list[str]:
    return [p.key for p in password_problems(password, username=username)]


def test_round_trip_and_wrong_password() -> None:
    stored = hash_password(GOOD, CHEAP)
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert verify_password(stored, GOOD, CHEAP)
    assert not verify_password(stored, GOOD + "x", CHEAP)
    assert not verify_password(stored, "", CHEAP)


def test_salt_makes_every_hash_different() -> None:
    assert hash_password(GOOD, CHEAP) != hash_password(GOOD, CHEAP)


def test_unknown_account_and_malformed_hash_verify_as_false() -> None:
    assert not verify_password(None, GOOD, CHEAP)
    assert not verify_password("not-a-hash", GOOD, CHEAP)
    assert not verify_password("", GOOD, CHEAP)


def test_full_width_input_matches_half_width() -> None:
    stored = hash_password("Lanqiao2024", CHEAP)
    assert verify_password(stored, "Ｌａｎｑｉａｏ２０２４", CHEAP)


def test_hash_verifies_after_parameters_change_and_asks_for_rehash() -> None:
    stored = hash_password(GOOD, CHEAP)
    stronger = HashParameters(time_cost=2, memory_cost=16, parallelism=1)
    assert not needs_rehash(stored, CHEAP)
    assert needs_rehash(stored, stronger)
    assert verify_password(stored, GOOD, stronger)  # the hash carries its own parameters
    assert not needs_rehash(hash_password(GOOD, stronger), stronger)
    assert needs_rehash("not-a-hash", CHEAP)


def test_default_parameters_are_owasp_argon2id() -> None:
    owasp = HashParameters(time_cost=2, memory_cost=19456, parallelism=1)
    assert (owasp.hash_len, owasp.salt_len) == (32, 16)
    assert owasp == DEFAULT_PARAMETERS


@pytest.mark.parametrize(
    "kwargs",
    [
        {"time_cost": 0},
        {"parallelism": 0},
        {"memory_cost": 7},
        {"memory_cost": 15, "parallelism": 2},
        {"salt_len": 8},
        {"hash_len": 4},
    ],
)
def test_unsafe_parameters_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be at least"):
        HashParameters(**kwargs)


def test_good_password_passes_every_rule() -> None:
    assert keys(GOOD, "zhang.wei") == []
    assert keys("智慧城市建设2024年规划", "zhang.wei") == []
    check_password(GOOD, username="zhang.wei")


def test_too_short_alone() -> None:
    password = "Ab3" + "x" * (MIN_PASSWORD_LENGTH - 4)
    assert len(password) == MIN_PASSWORD_LENGTH - 1
    assert keys(password) == ["accounts.password.too_short"]
    assert keys(password + "y") == []
    assert password_problems(password)[0].params == {"min_length": MIN_PASSWORD_LENGTH}


@pytest.mark.parametrize(
    "password",
    ["abcdefghijkl", "ABCDEFGHIJKL", "938475610293", "!@#$%^&*()_+", "新型智慧城市评价指标"],
)
def test_one_character_class_alone(password: str) -> None:
    assert keys(password) == ["accounts.password.one_class"]


def test_equals_username_alone_ignoring_case() -> None:
    assert keys("Zhang.Wei.2024", "zhang.wei.2024") == ["accounts.password.equals_username"]
    assert keys("Zhang.Wei.2024", "zhang.wei") == []


@pytest.mark.parametrize("password", ["password123", "Password123", "woaini1314", "1qaz2wsx3edc"])
def test_common_password_alone(password: str) -> None:
    assert keys(password) == ["accounts.password.common"]


def test_every_broken_rule_is_reported_and_raised() -> None:
    assert keys("aaaa", "aaaa") == [
        "accounts.password.too_short",
        "accounts.password.one_class",
        "accounts.password.equals_username",
    ]
    with pytest.raises(WeakPasswordError) as caught:
        check_password("aaaa", username="aaaa")
    assert caught.value.key == "accounts.password.weak"
    assert len(caught.value.problems) == 3
    assert "至少需要 10 个字符" in caught.value.render("zh-CN")
    assert "at least 10 characters" in caught.value.render("en")
