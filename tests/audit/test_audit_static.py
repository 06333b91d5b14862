"""What the code itself says about the audit log: every store function that writes either adds
an audit row (itself or through a function of its module that does) or is listed here with the
reason it needs none; and nothing in ``src`` can change or remove a row once written.

What this can enforce: a new write function in ``cityloop/store`` that forgets to audit fails
``test_every_store_write_audits_or_says_why_not`` until it audits or is listed with a reason.
What it cannot: a write made by assigning to an ORM object's attributes (``user.role = …``) is
no call to look for; ``test_audit_trail`` watches the committed transactions for those.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "cityloop"
STORE = SRC / "store"
SQL_WRITES = {"insert", "update", "delete"}  # only when imported from sqlalchemy
SESSION_WRITES = {"add", "add_all", "delete", "merge"}  # called on a session or connection
BULK_WRITES = {"insert_rows", "execute_chunked"}  # cityloop.store.bulk

# Store functions that write without adding an audit row themselves, and why that is right.
NOT_AUDITING = {
    "audit.record_audit": "the audit log's own writer",
    "access_log.log_access": "itself a log: one row per use of a sharing key",
    "access_log.add_check": "the result of probing an endpoint, written by the checker",
    "sensors.write_batch": "machine-written NGSI-LD observations (values derived from them are "
    "written, and audited, as indicator values)",
    "sensors.record_access": "itself a log: one row per read of a sensor series",
    "quality.record_checks": "data-quality figures computed from stored data, rebuilt at will",
    "backup._restore_table": "restore puts back a whole backup, its audit log with it; the CLI "
    "only, never a route (test_audit_trail tries every route)",
    "catalogue.ensure_departments": "part of add_resource, update_resource and replace_entries, "
    "which audit the entry that names the department",
    "frameworks._add_departments": "part of register_framework, which audits the version",
    "regions._set_clusters": "part of load_units, which audits the regions",
    "tracking_baseline._apply": "part of change_baseline, which audits before, after and reason",
    # Web session records are not governed data; the account events around them are audited.
    "sessions.start": "part of users.record_login, which audits the login it starts",
    "sessions.end": "part of users.sign_out, which audits the logout",
    "sessions.end_for_user": "part of users.set_role, set_password_hash, set_active and "
    "end_sessions, which audit the change that ends the sessions",
}


def _called(func: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else getattr(f, "attr", ""))
    return names


def _writes(func: ast.AST, sqlalchemy_names: set[str]) -> bool:
    for node in ast.walk(func):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and (
            f.id in BULK_WRITES or (f.id in SQL_WRITES and f.id in sqlalchemy_names)
        ):
            return True
        if (
            isinstance(f, ast.Attribute)
            and f.attr in SESSION_WRITES
            and isinstance(f.value, ast.Name)
            and f.value.id in {"session", "s", "conn"}
        ):
            return True
    return False


def unaudited_store_writes() -> set[str]:
    """``module.function`` of every store function that writes and audits nowhere in its body
    or in a function of its module it calls (to any depth)."""
    found = set()
    for path in sorted(STORE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        sqlalchemy_names = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
            for alias in node.names
        }
        funcs = {
            node.name: node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        calls = {name: _called(node) for name, node in funcs.items()}
        auditing = {name for name, called in calls.items() if "record_audit" in called}
        while grown := {n for n, c in calls.items() if n not in auditing and c & auditing}:
            auditing |= grown
        found |= {
            f"{path.stem}.{name}"
            for name, node in funcs.items()
            if name not in auditing and _writes(node, sqlalchemy_names)
        }
    return found


def test_every_store_write_audits_or_says_why_not() -> None:
    assert unaudited_store_writes() == set(NOT_AUDITING)


def test_the_scan_sees_a_write_that_forgets_to_audit(tmp_path: Path) -> None:
    """The scan's own check: a store-like function that adds a row and no audit row is found."""
    source = (
        "from sqlalchemy import insert\n"
        "def forgets(session):\n    session.add(object())\n"
        "def inserts(session):\n    session.execute(insert(T))\n"
        "def audits(session):\n    session.add(object())\n    record_audit(session)\n"
    )
    tree = ast.parse(source)
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert [f.name for f in funcs if _writes(f, {"insert"})] == ["forgets", "inserts", "audits"]
    assert [f.name for f in funcs if "record_audit" in _called(f)] == ["audits"]


def test_nothing_in_the_code_changes_or_removes_audit_rows() -> None:
    """No UPDATE or DELETE of ``audit_log`` in any module (the migrations' triggers aside, which
    refuse exactly that: tests/store/test_audit.py), and the store's audit module offers only
    the writer that appends and the reader."""
    changing = re.compile(
        r"(update|delete)\(\s*AuditEntry|(UPDATE|DELETE\s+FROM)\s+\"?audit_log", re.IGNORECASE
    )
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts and changing.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    tree = ast.parse((STORE / "audit.py").read_text(encoding="utf-8"))
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert functions == {"utc_now", "json_safe", "record_audit", "read_audit"}
