"""What a pip-audit run means for CI: a known vulnerability fails the build; an advisory service
that could not be reached, or that audited nothing, is said plainly and does not fail it.

Run by ``scripts/audit-deps``: ``python scripts/audit_decision.py REPORT EXIT_CODE STDERR_FILE``
with pip-audit's ``--format json`` report, its exit code and its standard error.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# pip-audit's own words when the service (PyPI's JSON API, OSV) could not answer: the
# requests/urllib3 connection errors and timeouts, pip-audit's ServiceError, an HTTP error page.
UNREACHABLE = re.compile(
    r"ConnectionError|Max retries exceeded|NewConnectionError|Name or service not known|"
    r"Temporary failure in name resolution|timed out|ReadTimeout|ConnectTimeout|ServiceError|"
    r"SSLError|ProxyError|HTTPError|Network is unreachable",
)
SHOWN = 20  # names listed in full before "and N more"


@dataclass(frozen=True)
class Decision:
    """The exit status for CI and the plain message that explains it."""

    status: int
    message: str


def decide(report: str, exit_code: int, stderr: str) -> Decision:
    """Fail (1) on any reported vulnerability or on a pip-audit failure that is not the network;
    succeed (0), saying which packages were not audited and why, when the service was out of
    reach or answered "not found" for them; succeed quietly when everything was audited clean."""
    try:
        data = json.loads(report) if report.strip() else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        last = _last_line(stderr) or f"exit code {exit_code}, no report"
        if UNREACHABLE.search(stderr):
            return Decision(
                0,
                "NOTICE: dependency audit NOT done: the vulnerability service could not be "
                f"reached ({last}). Nothing was audited; run scripts/audit-deps with network.",
            )
        return Decision(1, f"pip-audit failed: {last}")
    # The project itself is installed editable: it is ours, not a dependency to audit.
    dependencies: list[dict[str, Any]] = [
        d for d in data["dependencies"] if "editable" not in d.get("skip_reason", "")
    ]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    if vulnerable:
        lines = [
            f"  {d['name']} {d.get('version', '?')}: {v['id']}"
            + (f" (fixed in {', '.join(v['fix_versions'])})" if v.get("fix_versions") else "")
            for d in vulnerable
            for v in d["vulns"]
        ]
        count = len(lines)
        return Decision(
            1, f"{count} known vulnerabilit{'y' if count == 1 else 'ies'}:\n" + "\n".join(lines)
        )
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    if not skipped:
        return Decision(0, f"dependency audit: {audited} packages, no known vulnerabilities")
    reasons = sorted({_reason(d["skip_reason"]) for d in skipped})
    names = [d["name"] for d in skipped]
    shown = ", ".join(names[:SHOWN]) + (
        f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    )
    headline = (
        "NOTICE: dependency audit NOT done: nothing was audited"
        if audited == 0
        else f"NOTICE: dependency audit partial: {audited} packages audited, none vulnerable"
    )
    return Decision(
        0,
        f"{headline}; {len(skipped)} packages could not be audited ({shown}) because the "
        f"vulnerability service answered: {'; '.join(reasons)}. The advisory service is "
        "probably out of reach from this network (PyPI's per-version JSON API answers 404 "
        "here); run scripts/audit-deps where it can be reached.",
    )


def _reason(skip_reason: str) -> str:
    """A skip reason without its package: "Dependency not found on PyPI and could not be
    audited: alembic (1.20.1)" → "Dependency not found on PyPI and could not be audited"."""
    return skip_reason.split(":", 1)[0].strip()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def main(argv: list[str]) -> int:
    report, exit_code, stderr = argv
    text = Path(report).read_text(encoding="utf-8") if Path(report).exists() else ""
    errors = (
        Path(stderr).read_text(encoding="utf-8", errors="replace") if Path(stderr).exists() else ""
    )
    decision = decide(text, int(exit_code), errors)
    print(decision.message, file=sys.stderr if decision.status else sys.stdout)
    return decision.status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
