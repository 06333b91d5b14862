"""Password hashing with Argon2id and the rules a new password must pass.

Pure: strings in, hashes and verdicts out; storing hashes and prompting live elsewhere.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from cityloop.errors import InputError, Problem

MIN_PASSWORD_LENGTH = 10

# Passwords at least MIN_PASSWORD_LENGTH long that mix character classes and still top the
# leaked-password lists (including the pinyin and number-pun ones common in China: woaini =
# 我爱你, 1314 = 一生一世, 520 = 我爱你). Only these need listing: shorter or single-class
# passwords already fail another rule. Stored casefolded; compared casefolded.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890a",
        "123456789a",
        "123456789abc",
        "123qweasdzxc",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "a123456789",
        "a1234567890",
        "aa123456789",
        "abc123456789",
        "abcd1234567",
        "admin123456",
        "admin@123456",
        "asdf1234567",
        "asdfghjkl123",
        "cityloop123",
        "iloveyou123",
        "p@ssw0rd123",
        "passw0rd123",
        "password123",
        "password1234",
        "password@123",
        "qq123456789",
        "qwe123456789",
        "qweasdzxc123",
        "qwerty123456",
        "qwertyuiop123",
        "welcome123",
        "woaini1314",
        "woaini123456",
        "woaini520520",
        "zxcvbnm123",
        "zxcvbnm123456",
    }
)


@dataclass(frozen=True)
class HashParameters:
    """Argon2id cost parameters; the defaults are OWASP's first recommendation.

    The OWASP Password Storage Cheat Sheet recommends Argon2id with at least 19 MiB of memory,
    2 iterations and 1 degree of parallelism (m=19456, t=2, p=1), a setting RFC 9106 §4 also
    considers adequate when memory is constrained. On a 2-core server it costs about 25 ms and
    19 MiB per login: parallelism 1 leaves the second core to the next login instead of making
    one login marginally faster, and 20 simultaneous logins fit in under 400 MiB.

    Parameters
    ----------
    time_cost : int
        Number of passes over memory (Argon2 ``t``).
    memory_cost : int
        Memory in KiB (Argon2 ``m``); at least ``8 * parallelism``.
    parallelism : int
        Number of lanes (Argon2 ``p``).
    hash_len : int
        Length of the derived key in bytes.
    salt_len : int
        Length of the random salt in bytes; RFC 9106 recommends 16.

    References
    ----------
    .. [1] OWASP, "Password Storage Cheat Sheet", section "Argon2id".
    .. [2] A. Biryukov, D. Dinu, D. Khovratovich, S. Josefsson, "Argon2 Memory-Hard Function
       for Password Hashing and Proof-of-Work Applications", RFC 9106, 2021.
    """

    time_cost: int = 2
    memory_cost: int = 19 * 1024
    parallelism: int = 1
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        if self.time_cost < 1 or self.parallelism < 1:
            raise ValueError("time_cost and parallelism must be at least 1")
        if self.memory_cost < 8 * self.parallelism:
            raise ValueError("memory_cost must be at least 8 KiB per lane (8 * parallelism)")
        if self.hash_len < 16 or self.salt_len < 16:
            raise ValueError("hash_len and salt_len must be at least 16 bytes")


DEFAULT_PARAMETERS = HashParameters()


class WeakPasswordError(InputError):
    """A new password breaks the password policy; ``problems`` names every broken rule."""


@cache
def _hasher(params: HashParameters) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=params.hash_len,
        salt_len=params.salt_len,
        type=Type.ID,
    )


@cache
def _decoy_hash(params: HashParameters) -> str:
    return _hasher(params).hash("cityloop: no such account")


def _normalise(password: str) -> str:
    # NFKC makes a password typed with a full-width (全角) input method equal to the same
    # password typed half-width, as NIST SP 800-63B §5.1.1.2 recommends for Unicode input.
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str, params: HashParameters = DEFAULT_PARAMETERS) -> str:
    """Hash ``password`` with Argon2id and a fresh random salt.

    Parameters
    ----------
    password : str
        The clear-text password; NFKC-normalised before hashing.
    params : HashParameters
        Cost parameters; tests pass cheap ones.

    Returns
    -------
    str
        The PHC-format hash (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``), which records
        its own parameters so later parameter changes still verify it.
    """
    return _hasher(params).hash(_normalise(password))


def verify_password(
    stored_hash: str | None, password: str, params: HashParameters = DEFAULT_PARAMETERS
) -> bool:
    """Whether ``password`` matches ``stored_hash``; never raises on a wrong password.

    The comparison is Argon2's own constant-time check. A malformed stored hash matches
    nothing. Pass ``stored_hash=None`` for an unknown username: a decoy hash is verified so the
    answer takes as long as for a real account and does not reveal which usernames exist.

    Parameters
    ----------
    stored_hash : str or None
        The hash from ``hash_password``, or None when there is no such account.
    password : str
        The clear-text password the user typed.
    params : HashParameters
        Cost parameters of the decoy hash; a real hash carries its own.

    Returns
    -------
    bool
        True only if the account exists and the password is right.
    """
    candidate = _decoy_hash(params) if stored_hash is None else stored_hash
    try:
        _hasher(params).verify(candidate, _normalise(password))
    except (VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


def needs_rehash(stored_hash: str, params: HashParameters = DEFAULT_PARAMETERS) -> bool:
    """Whether ``stored_hash`` was made with other parameters than ``params`` (or is malformed).

    Call it after a successful login, when the clear-text password is at hand, and store
    ``hash_password(password, params)`` if it returns True.
    """
    try:
        return _hasher(params).check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def _character_classes(text: str) -> set[str]:
    classes: set[str] = set()
    for char in text:
        if char.isdigit():
            classes.add("digit")
        elif char.islower():
            classes.add("lower")
        elif char.isupper():
            classes.add("upper")
        elif char.isalpha():
            classes.add("other_letter")  # scripts without case, e.g. 汉字
        else:
            classes.add("symbol")
    return classes


def password_problems(password: str, *, username: str = "") -> list[Problem]:
    """Every rule of the password policy that ``password`` breaks; empty when it is fine.

    Rules, each reported under its own catalogue key: at least ``MIN_PASSWORD_LENGTH``
    characters (``accounts.password.too_short``); characters from at least two classes among
    lower-case, upper-case, digits, caseless letters such as 汉字, and symbols
    (``accounts.password.one_class``); not the username, ignoring case
    (``accounts.password.equals_username``); not in ``COMMON_PASSWORDS``, ignoring case
    (``accounts.password.common``).

    Parameters
    ----------
    password : str
        The proposed password (NFKC-normalised first, as for hashing).
    username : str
        The account's username.

    Returns
    -------
    list of Problem
        One per broken rule, in the order above.
    """
    text = _normalise(password)
    folded = text.casefold()
    problems: list[Problem] = []
    if len(text) < MIN_PASSWORD_LENGTH:
        problems.append(Problem("accounts.password.too_short", {"min_length": MIN_PASSWORD_LENGTH}))
    if len(_character_classes(text)) < 2:
        problems.append(Problem("accounts.password.one_class"))
    if username and folded == _normalise(username).strip().casefold():
        problems.append(Problem("accounts.password.equals_username"))
    if folded in COMMON_PASSWORDS:
        problems.append(Problem("accounts.password.common"))
    return problems


def check_password(password: str, *, username: str = "") -> None:
    """Raise ``WeakPasswordError`` listing every broken rule if ``password`` is not acceptable."""
    problems = password_problems(password, username=username)
    if problems:
        raise WeakPasswordError("accounts.password.weak", problems)
