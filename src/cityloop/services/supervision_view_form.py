"""Forms of the supervision pages read into service input: a progress report (only what the
user changed) with its problems placed by field, the start-tracking form, who may report.

The web routes and the CLI call these; the rules themselves are in ``services.supervision``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cityloop.errors import InputError
from cityloop.frameworks import departments
from cityloop.i18n import current_language, t
from cityloop.services.plan import plans_of
from cityloop.services.supervision_view import ProjectDetail
from cityloop.store import Database

# -- a progress report from the web form ----------------------------------------------------------


def _changed_number(given: str, current: float) -> bool:
    try:
        return float(given) != current
    except ValueError:
        return True  # not a number: passed on, so that validation names the field


def report_from_form(form: Mapping[str, str], detail: ProjectDetail) -> dict[str, Any]:
    """The progress report a form posted, as ``ProgressUpdate`` data.

    The form shows every milestone and gate with its current values; only the ones changed
    go into the report, so re-sending the form as it was changes (and audits) nothing but
    the report itself. Empty fields are left out.
    """
    data: dict[str, Any] = {"report_date": form.get("report_date") or None,
                            "note": form.get("note", "")}  # fmt: skip
    percent = form.get("percent_complete", "").strip()
    if percent and _changed_number(percent, detail.percent_complete):
        data["percent_complete"] = percent
    milestones = []
    for m in detail.milestones:
        given = form.get(f"milestones.{m.position}.percent_complete", "").strip()
        done = form.get(f"milestones.{m.position}.completed_date", "").strip()
        current_done = m.completed_date.isoformat() if m.completed_date else ""
        if (given and _changed_number(given, m.percent_complete)) or done != current_done:
            milestones.append({"position": m.position, "percent_complete": given or None,
                               "completed_date": done or None})  # fmt: skip
    gates = []
    for g in detail.gates:
        passed = form.get(f"gates.{g.kind}.passed_date", "").strip()
        skipped = form.get(f"gates.{g.kind}.skipped") == "on"
        current = g.passed_date.isoformat() if g.passed_date else ""
        if passed != current or skipped != g.skipped:
            gates.append({"kind": g.kind, "passed_date": passed or None, "skipped": skipped})
    data |= {"milestones": milestones, "gates": gates}
    pay = {k: form.get(f"spend.{k}", "").strip() for k in ("day", "amount", "note")}
    if any(pay.values()):
        data["spend"] = [{"day": pay["day"] or None, "amount": pay["amount"] or None,
                          "note": pay["note"]}]  # fmt: skip
    risk = form.get("risk.text", "").strip()
    if risk:
        data["risks"] = [{"text": risk, "level": form.get("risk.level") or "medium"}]
    status = form.get("status", "")
    if status and status != detail.status:
        data["status"] = status
    return data


def form_errors(error: InputError, data: Mapping[str, Any]) -> dict[str, list[str]]:
    """The report's problems by the form field they belong to (``report_date``,
    ``percent_complete``, ``milestones.N``, ``gates.KIND``, ``spend``, ``risk``, ``status``,
    ``note``; ``""`` for the rest), each in the reader's language."""
    found: dict[str, list[str]] = {}
    for p in error.problems:
        parts = (p.location.column or "").split(".")
        head = parts[0]
        if head in ("milestones", "gates") and len(parts) > 1:
            if p.key == "fw.schema" and parts[1].isdigit():  # an entry of ``data``, from 1
                entry = data[head][int(parts[1]) - 1]
                field = f"{head}.{entry['position'] if head == 'milestones' else entry['kind']}"
            else:  # the store names the milestone's position or the gate's kind
                field = f"{head}.{parts[1]}"
        else:
            field = {"spend": "spend", "risks": "risk"}.get(
                head, head if head in ("report_date", "percent_complete", "status", "note") else ""
            )
        found.setdefault(field, []).append(t(p.key, **p.params))
    if not error.problems:
        found[""] = [error.render()]
    return found


def department_choices(lang: str | None = None) -> list[tuple[str, str]]:
    """The departments a project can be given to, as (code, name in ``lang``)."""
    zh = (lang or current_language()).startswith("zh")
    return [(code, names["zh" if zh else "en"]) for code, names in departments().items()]


def owners_from_form(form: Mapping[str, str]) -> dict[str, str]:
    """``owner.CODE`` fields that name a department, as code → department."""
    return {k.removeprefix("owner."): v for k, v in form.items() if k.startswith("owner.") and v}


def checked_plan_id(value: str | int | None, unit: str, db: Database) -> int:
    """The id of a saved plan of ``unit`` given in a form or a request.

    Raises
    ------
    InputError
        ``supweb.no_plan`` when none is given or it is not a number, ``supweb.plan_of_other``
        when the plan belongs to another unit.
    """
    try:
        plan_id = int(value or "")
    except ValueError:
        raise InputError("supweb.no_plan", unit=unit) from None
    if not any(p.id == plan_id for p in plans_of(db, [unit])):
        raise InputError("supweb.plan_of_other", plan=plan_id, unit=unit)
    return plan_id
