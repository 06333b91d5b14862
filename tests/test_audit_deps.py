"""The dependency audit's decision (scripts/audit_decision.py) on recorded pip-audit reports:
a known vulnerability fails CI; a service that answered "not found" for every package, or could
not be reached at all, is a plain notice and does not."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).parent.parent / "scripts"


def load_decision() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_decision", SCRIPTS / "audit_decision.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_decision"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


audit = load_decision()

EDITABLE = {"name": "cityloop", "skip_reason": "distribution marked as editable"}
CLEAN = {"name": "httpx", "version": "0.28.1", "vulns": []}
VULNERABLE = {
    "name": "jinja2",
    "version": "3.1.2",
    "vulns": [
        {
            "id": "GHSA-h5c8-rqwp-cp95",
            "fix_versions": ["3.1.3"],
            "aliases": ["CVE-2024-22195"],
            "description": "xmlattr filter accepts keys containing spaces",
        }
    ],
}


def not_found(name: str, version: str) -> dict[str, str]:
    reason = f"Dependency not found on PyPI and could not be audited: {name} ({version})"
    return {"name": name, "skip_reason": reason}


def report(*dependencies: dict[str, object]) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def test_a_known_vulnerability_fails_and_names_the_package_advisory_and_fix() -> None:
    decision = audit.decide(report(CLEAN, VULNERABLE, not_found("anyio", "4.16.0")), 1, "")
    assert decision.status == 1
    assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in decision.message


def test_every_package_not_found_is_a_plain_notice_that_passes() -> None:
    found = report(EDITABLE, not_found("alembic", "1.20.1"), not_found("anyio", "4.16.0"))
    decision = audit.decide(found, 0, "")
    assert decision.status == 0
    assert decision.message.startswith("NOTICE: dependency audit NOT done: nothing was audited")
    assert "2 packages could not be audited (alembic, anyio)" in decision.message
    assert "Dependency not found on PyPI" in decision.message
    assert "cityloop" not in decision.message  # the project itself is not a dependency


def test_some_packages_audited_and_some_not_is_a_partial_notice() -> None:
    decision = audit.decide(report(CLEAN, not_found("anyio", "4.16.0")), 0, "")
    assert decision.status == 0
    assert "partial: 1 packages audited, none vulnerable" in decision.message
    assert "(anyio)" in decision.message


def test_a_clean_audit_passes_quietly() -> None:
    decision = audit.decide(report(EDITABLE, CLEAN), 0, "")
    assert decision == audit.Decision(0, "dependency audit: 1 packages, no known vulnerabilities")


def test_an_unreachable_service_is_a_notice_and_another_failure_fails() -> None:
    refused = (
        "Traceback (most recent call last):\n  ...\nrequests.exceptions.ConnectionError: "
        "HTTPSConnectionPool(host='api.osv.dev', port=443): Max retries exceeded\n"
    )
    unreachable = audit.decide("", 1, refused)
    assert unreachable.status == 0
    assert "could not be reached" in unreachable.message and "api.osv.dev" in unreachable.message
    broken = audit.decide("", 1, "pip-audit: error: unrecognized arguments: --bogus\n")
    assert broken.status == 1 and "unrecognized arguments" in broken.message


def test_the_script_exits_with_the_decision(tmp_path: Path) -> None:
    found, errors = tmp_path / "report.json", tmp_path / "stderr.txt"
    found.write_text(report(VULNERABLE), encoding="utf-8")
    errors.write_text("", encoding="utf-8")
    run = [sys.executable, str(SCRIPTS / "audit_decision.py"), str(found), "1", str(errors)]
    failed = subprocess.run(run, capture_output=True, text=True, check=False)
    assert failed.returncode == 1 and "GHSA-h5c8-rqwp-cp95" in failed.stderr
    found.write_text(report(not_found("anyio", "4.16.0")), encoding="utf-8")
    passed = subprocess.run(
        [*run[:3], "0", str(errors)], capture_output=True, check=False, text=True
    )
    assert passed.returncode == 0 and passed.stdout.startswith("NOTICE:")
