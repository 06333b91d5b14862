"""Fixtures of the security tests: one writable populated site per backend for the whole
package (tests may add rows to it; none relies on another's), with the demo plan of its city
saved and tracked so that plan and project routes have something to act on.

The site is package-scoped because building one (62 cities, an evaluation) is the slow part.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cityloop.services import plan as plan_service
from cityloop.services import supervision
from cityloop.services.plan_demo import save_demo_plan
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import browser  # noqa: F401  (a fixture used by the browser test)
from tests.web.site import Site, make_site


@pytest.fixture(scope="package", params=BACKENDS)
def own_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A populated site (users admin/analyst/officer/manager/viewer/outsider) that the
    security tests may write to; its city's demo plan is saved and tracked."""
    folder = tmp_path_factory.mktemp(f"security-{request.param}")
    for url in new_database_url(str(request.param), folder):
        built = make_site(url, folder)
        plan_id = save_demo_plan(built.db, built.city, actor="fixture")
        assert plan_id is not None
        supervision.track_plan(built.db, plan_id, actor="fixture")
        yield built
        built.db.dispose()


def sqlite_only(site: Site, why: str) -> None:
    """Skip on PostgreSQL a test whose subject does not depend on the backend (CPU is scarce:
    the same pages render the same way whatever stores their rows)."""
    if not site.db.url.startswith("sqlite"):
        pytest.skip(f"backend-independent, run on SQLite only: {why}")


def tracked_project(site: Site) -> str:
    """The code of a project the site's city tracks (from its first plan: tests save more)."""
    plans = plan_service.plans_of(site.db, [site.city])  # newest first
    chosen = plan_service.plan(site.db, plans[-1].id).view.chosen
    return sorted(p.code for p in chosen)[0]
