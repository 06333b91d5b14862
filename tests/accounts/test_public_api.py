"""The public names of ``cityloop.accounts``: adding or removing one is a deliberate change."""

import cityloop.accounts

EXPECTED = {
    "COMMON_PASSWORDS",
    "DEFAULT_LOCKOUT",
    "DEFAULT_PARAMETERS",
    "MIN_PASSWORD_LENGTH",
    "PERMISSIONS",
    "AccessDenied",
    "Action",
    "HashParameters",
    "LockStatus",
    "LockoutPolicy",
    "LoginState",
    "Principal",
    "Role",
    "WeakPasswordError",
    "authorise",
    "can",
    "can_see",
    "check_password",
    "hash_password",
    "lock_status",
    "may_enter",
    "needs_rehash",
    "password_problems",
    "record_attempt",
    "verify_password",
    "visible_units",
}


def test_public_names_are_exactly_these() -> None:
    assert set(cityloop.accounts.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(cityloop.accounts, name), name


def test_the_core_imports_no_web_or_database_layer() -> None:
    import subprocess
    import sys

    layers = ("sqlalchemy", "fastapi", "starlette", "typer")
    code = f"import sys, cityloop.accounts; print(sorted(set({layers!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
