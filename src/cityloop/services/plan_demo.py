"""One illustrative saved plan for the demo site: the demo city's portfolio under the default
settings, named as illustrative and synthetic so nobody takes it for a real plan.
"""

from __future__ import annotations

from cityloop.i18n import t
from cityloop.services import plan as service
from cityloop.services.plan_settings import PlanSettings
from cityloop.store import Database

# Illustrative: the demo city is taken to have its e-government extranet and government cloud
# already (most prefecture-level cities do), so the plan starts from the platforms on them.
DEMO_SETTINGS = PlanSettings(built=("gov_extranet", "gov_cloud"))


def save_demo_plan(db: Database, unit: str, *, actor: str) -> int | None:
    """Solve and save the illustrative plan of ``unit`` unless it has a plan already; return
    the plan's id (None when one existed or no plan is possible)."""
    if service.plans_of(db, [unit]):
        return None
    view = service.solve_plan(db, unit, DEMO_SETTINGS)
    if not view.chosen:
        return None
    name = t("planweb.demo_name", "zh-CN", year=view.first_year)
    return service.save_plan(db, view, DEMO_SETTINGS, name, actor=actor).id
