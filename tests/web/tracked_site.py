"""A web site with a programme under supervision, shared by the supervision pages' tests and the
supervision bulletin's: the demo plan of its city tracked through the page (both backends).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cityloop.accounts import Role
from cityloop.services import users
from cityloop.services.plan_demo import save_demo_plan
from tests.store.databases import BACKENDS, new_database_url
from tests.web.site import CHEAP, PASSWORD, Site, csrf_of, make_site

OWN, FOREIGN = "data_bureau", "public_security"


@dataclass
class Tracked:
    site: Site
    plan_id: int
    own: str  # a project of OWN, the department of the project manager "pm_data"
    foreign: str  # a project of FOREIGN


def post_form(client: Any, url: str, form: dict[str, str], page: str, **kw: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf_of(client, page)} | form,
                       follow_redirects=False, **kw)  # fmt: skip


@pytest.fixture(scope="module", params=BACKENDS)
def tracked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tracked]:
    """The web site with the demo plan of its city tracked through the page, projects given
    alternately to OWN and FOREIGN, a project manager of OWN, and an untracked plan elsewhere."""
    folder = tmp_path_factory.mktemp(f"supervision-site-{request.param}")
    for url in new_database_url(str(request.param), folder):
        site = make_site(url, folder)
        plan_id = save_demo_plan(site.db, site.city, actor="fixture")
        assert plan_id is not None
        assert save_demo_plan(site.db, site.other_city, actor="fixture") is not None
        users.add_user(site.db, "pm_data", PASSWORD, Role.PROJECT_MANAGER, site.province, OWN,
                       actor="fixture", params=CHEAP)  # fmt: skip
        with site.client("analyst") as analyst:
            index = analyst.get("/supervision")
            assert f'data-testid="track-plan-{plan_id}"' in index.text
            codes = re.findall(r'name="owner\.([a-z_0-9]+)"', index.text)
            owners = {f"owner.{c}": (OWN, FOREIGN)[k % 2] for k, c in enumerate(codes)}
            done = post_form(analyst, f"/supervision/{site.city}/track",
                             {"plan_id": str(plan_id)} | owners, "/supervision")  # fmt: skip
            assert done.status_code == 303, done.text
            assert done.headers["location"] == f"/supervision/{site.city}"
            assert "已开始跟踪" in analyst.get(done.headers["location"]).text
        yield Tracked(site, plan_id, codes[0], codes[1])
        site.db.dispose()
