"""SYNTHETIC demo sharing requests for the demo city: one approved, one awaiting the owner,
one refused — so the sharing pages and the access log have something to show.

Made through the same service calls a department uses; nothing when the unit has requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from cityloop.accounts import Principal, Role
from cityloop.services import sharing
from cityloop.store import Database

# (requesting department, owning department, purpose, decision): decision None leaves it pending.
DEMO_REQUESTS = (
    ("data_bureau", "ecology_environment",
     "（合成演示）汇聚重点污染源清单，用于城市运行“一网统管”环境专题。", "approve"),
    ("ecology_environment", "data_bureau",
     "（合成演示）核验企业电子证照，支撑环评审批“一网通办”。", None),
    ("transport", "public_security",
     "（合成演示）比对人口基础信息，测算公交线网覆盖人口。", "refuse"),
)  # fmt: skip
REFUSAL = "（合成演示）涉及个人信息，请改为申请按街道汇总的人口统计数据。"


@dataclass(frozen=True)
class DemoSharing:
    """What ``load_demo_requests`` made: request ids by outcome."""

    approved: tuple[int, ...]
    pending: tuple[int, ...]
    refused: tuple[int, ...]


def load_demo_requests(db: Database, unit: str, *, actor: str) -> DemoSharing:
    """Ask for the first conditional resource of each owner in ``DEMO_REQUESTS`` and decide
    as listed; nothing when any resource of ``unit`` already has a request."""
    if db.sharing.requests(units=[unit]):
        return DemoSharing((), (), ())
    resources = db.sharing.resources(units=[unit])
    office = Principal(actor, Role.ADMINISTRATOR, None, None)
    made: dict[str, list[int]] = {"approve": [], "pending": [], "refuse": []}
    for asker, owner, purpose, decision in DEMO_REQUESTS:
        wanted = [
            r for r in resources
            if r.department == owner and r.sharing_type == "conditional"
            and r.status == "published"
        ]  # fmt: skip
        if not wanted:
            continue
        asked = sharing.request_sharing(db, office, wanted[0].id, purpose, department=asker)
        if decision is not None:
            sharing.decide(db, office, asked.request.id, approve=decision == "approve",
                           reason="" if decision == "approve" else REFUSAL)  # fmt: skip
        made[decision or "pending"].append(asked.request.id)
    return DemoSharing(tuple(made["approve"]), tuple(made["pending"]), tuple(made["refuse"]))
