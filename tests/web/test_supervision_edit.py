"""The baseline-change form, the progress template and the progress upload on the web (both
backends): changes stored and audited, refused whole with the problems placed, a foreign project
manager refused, the workbook round trip reaching the dashboard, bad files writing nothing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cityloop.accounts import Role
from cityloop.services import plan as plan_service
from cityloop.services import supervision as service
from cityloop.services import users
from cityloop.services.plan_demo import save_demo_plan
from cityloop.services.supervision_baseline import baseline_summary
from cityloop.store import Database
from cityloop.store.models import AuditEntry, ProgressReport, ProjectSpend
from cityloop.store.tracking import ENTITY
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import SCREENSHOTS, browser_sign_in, serve
from tests.web.site import CHEAP, PASSWORD, Site, csrf_of, make_site

OWN, FOREIGN = "data_bureau", "public_security"
ZH_SHEETS = ["进度", "里程碑", "质量关口", "支出", "风险"]


@dataclass
class Programme:
    site: Site
    own: list[str]  # projects of OWN, the department of the project manager "pm_own"
    foreign: list[str]  # projects of FOREIGN ("pm_foreign")


@pytest.fixture(scope="module", params=BACKENDS)
def programme(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Programme]:
    """A writable site with the demo plan of its city tracked, projects given alternately to
    OWN and FOREIGN, and a project manager of each."""
    folder = tmp_path_factory.mktemp(f"supervision-edit-{request.param}")
    for url in new_database_url(str(request.param), folder):
        site = make_site(url, folder)
        plan_id = save_demo_plan(site.db, site.city, actor="fixture")
        assert plan_id is not None
        codes = sorted(p.code for p in plan_service.plan(site.db, plan_id).view.chosen)
        owners = {c: (OWN, FOREIGN)[k % 2] for k, c in enumerate(codes)}
        service.track_plan(site.db, plan_id, actor="fixture", owner_departments=owners)
        for name, dept in (("pm_own", OWN), ("pm_foreign", FOREIGN)):
            users.add_user(site.db, name, PASSWORD, Role.PROJECT_MANAGER, site.province, dept,
                           actor="fixture", params=CHEAP)  # fmt: skip
        yield Programme(site, codes[0::2], codes[1::2])
        site.db.dispose()


def count(db: Database, model: type, *where: Any) -> int:
    with db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def counts(db: Database) -> tuple[int, int, int]:
    """Progress reports, payments and audit rows of tracked projects (signing in is audited
    too, so all audit rows would count the tests' own sign-ins)."""
    return (count(db, ProgressReport), count(db, ProjectSpend),
            count(db, AuditEntry, AuditEntry.entity == ENTITY))  # fmt: skip


def post_form(client: Any, url: str, form: dict[str, str]) -> Any:
    return client.post(url, data={"csrf_token": csrf_of(client, url)} | form,
                       follow_redirects=False)  # fmt: skip


def page_fields(page: str) -> dict[str, str]:
    """The form's fields as the page fills them (inputs, text areas, selected options)."""
    form = page.split('data-testid="baseline-form"')[1].split("</form>")[0]
    fields = dict(re.findall(r'<input (?:type="date" )?name="([^"]+)"[^>]*?value="([^"]*)"', form))
    fields |= dict(re.findall(r'<select name="([^"]+)">.*?<option value="([^"]*)"[^>]* selected',
                              form, flags=re.S))  # fmt: skip
    return {k: v for k, v in fields.items() if k != "csrf_token"}


def errors_for(page: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, text in re.findall(r'data-error-for="([^"]*)">([^<]*)<', page):
        found.setdefault(key, []).append(text)
    return found


def test_a_baseline_change_through_the_form_is_stored_audited_and_shown(
    programme: Programme,
) -> None:
    site, code = programme.site, programme.own[0]
    url = f"/supervision/{site.city}/projects/{code}/baseline"
    before = site.db.tracking.project(site.city, code)
    first = before.milestone_positions[0]
    year = before.record.budget[0].year
    with site.client("pm_own") as pm:
        page = pm.get(url)
        assert page.status_code == 200 and 'data-testid="baseline-form"' in page.text
        assert f'href="/supervision/{site.city}/projects/{code}"' in page.text  # back link
        # The form as it stands, sent back with a reason, changes (and audits) nothing.
        written = counts(site.db)
        same = post_form(pm, url, page_fields(page.text) | {"reason": "核对"})
        assert same.status_code == 303 and counts(site.db) == written
        pm.get(same.headers["location"])  # the confirmation is shown once
        done = post_form(pm, url, {
            "reason": "财政预算调整，工期顺延", f"milestones.{first}.name": "一期建设完成",
            "new_milestones.1.name": "二期上线", "new_milestones.1.due": "2029-06-30",
            "new_milestones.1.value": "120", f"budget.{year}": "640",
            "new_risk.text": "供应商交付延迟", "new_risk.level": "high",
        })  # fmt: skip
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/supervision/{site.city}/projects/{code}"
        shown = pm.get(done.headers["location"]).text
    after = site.db.tracking.project(site.city, code)
    assert [m.name for m in after.record.milestones] == ["一期建设完成", "二期上线"]
    assert after.record.budget[0].planned_cost == 640
    assert [(r.text, r.level.value) for r in after.record.risks] == [("供应商交付延迟", "high")]
    with site.db.reader() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "baseline")
                          .order_by(AuditEntry.id.desc())).first()  # fmt: skip
    assert audit is not None and audit.actor == "pm_own"
    assert audit.entity_id == f"{site.city}/{code}"
    assert audit.after["reason"] == "财政预算调整，工期顺延"
    assert set(audit.after) == {"reason", "budget", "milestones", "risks"}
    for text in ("一期建设完成", "二期上线", "供应商交付延迟"):
        assert text in shown
    changed = ["budget", "milestones", "risks"]
    assert baseline_summary(code, changed, "zh-CN") in shown  # the confirmation
    # Closing the risk takes it off the register; the project page still lists it as closed.
    (risk,) = after.risk_ids
    with site.client("pm_own") as pm:
        closed = post_form(pm, url, {"reason": "风险已消除", f"risks.{risk}.close": "on"})
        assert closed.status_code == 303, closed.text
        page = pm.get(closed.headers["location"]).text
    assert site.db.tracking.project(site.city, code).record.risks == ()
    register, _, history = page.partition('data-testid="closed-risks"')
    assert "供应商交付延迟" not in register.split('data-testid="project-risks"')[-1]
    assert "供应商交付延迟" in history and "pm_own" in history


def test_a_refused_change_shows_the_problems_beside_the_fields_and_writes_nothing(
    programme: Programme,
) -> None:
    site, code = programme.site, programme.own[1]
    url = f"/supervision/{site.city}/projects/{code}/baseline"
    stored = site.db.tracking.project(site.city, code)
    position = stored.milestone_positions[0]
    written = counts(site.db)
    with site.client("pm_own") as pm:
        # The fields are checked first: the reason missing, a planned value that is no number.
        blank = post_form(pm, url, {"reason": "  ", f"milestones.{position}.name": "改名",
                                    "new_milestones.2.value": "许多"})  # fmt: skip
        assert blank.status_code == 422
        errors = errors_for(blank.text)
        assert errors.keys() == {"reason", "new_milestones.2"}
        assert "变更原因" in errors["reason"][0]
        assert 'value="改名"' in blank.text  # what was typed stays in the form
        # Then the change against the project: an incomplete new milestone.
        incomplete = post_form(pm, url, {"reason": "补充里程碑",
                                         f"milestones.{position}.name": "改名",
                                         "new_milestones.1.name": "三期"})  # fmt: skip
        assert incomplete.status_code == 422
        assert errors_for(incomplete.text).keys() == {"new_milestones.1"}
        assert 'data-testid="baseline-errors"' in incomplete.text
    assert site.db.tracking.project(site.city, code) == stored
    assert counts(site.db) == written


def test_a_manager_of_another_department_may_not_change_the_baseline(
    programme: Programme,
) -> None:
    site, code = programme.site, programme.own[2]
    url = f"/supervision/{site.city}/projects/{code}/baseline"
    api = f"/api/supervision/{site.city}/projects/{code}/baseline"
    stored = site.db.tracking.project(site.city, code)
    with site.client("pm_foreign") as other:
        assert other.get(url).status_code == 403
        refused = other.post(url, data={"csrf_token": csrf_of(other, "/supervision"),
                                        "reason": "抢", "owner_department": FOREIGN},
                             follow_redirects=False)  # fmt: skip
        assert refused.status_code == 403
        put = other.put(api, json={"reason": "抢", "owner_department": FOREIGN})
        assert put.status_code == 403
    with site.client() as anonymous:
        assert (
            anonymous.get(url, follow_redirects=False)
            .headers["location"]
            .startswith("/login?next=")
        )
        assert anonymous.put(api, json={"reason": "x"}).status_code == 401
    with site.client("viewer") as viewer:
        assert viewer.get(url).status_code == 403
    assert site.db.tracking.project(site.city, code) == stored


def test_the_api_changes_a_baseline_and_lists_the_problems_of_a_bad_change(
    programme: Programme,
) -> None:
    site, code = programme.site, programme.own[3]
    api = f"/api/supervision/{site.city}/projects/{code}/baseline"
    stored = site.db.tracking.project(site.city, code)
    later = stored.record.gates[0].planned_date + timedelta(days=30)
    with site.client("pm_own") as pm:
        bad = pm.put(api, json={"reason": "调整", "milestones": [{"position": 99, "name": "x"}],
                                "risks": [{"text": "无等级"}]})  # fmt: skip
        assert bad.status_code == 422
        assert [(p["key"], p["column"]) for p in bad.json()["problems"]] == [
            ("supervision.store.unknown_milestone", "milestones.1"),
            ("supervision.baseline.incomplete_risk", "risks.1"),
        ]
        assert site.db.tracking.project(site.city, code) == stored
        assert pm.put(api, json={"milestones": []}).status_code == 422  # no reason
        done = pm.put(api, json={"reason": "设计评审推迟",
                                 "gates": {"design_review": later.isoformat()}})  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["changed"] == ["gates"]
    assert done.json()["project"]["gates"][0]["planned_date"] == later.isoformat()
    assert site.db.tracking.project(site.city, code).record.gates[0].planned_date == later


def fill(workbook: bytes, edits: dict[str, list[tuple[int, str, object]]]) -> bytes:
    """Set cells (row, column letter, value) on sheets named by title."""
    book = load_workbook(io.BytesIO(workbook))
    for title, cells in edits.items():
        for row, column, value in cells:
            book[title][f"{column}{row}"] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_template_holds_the_managers_projects_and_an_upload_reaches_the_dashboard(
    programme: Programme,
) -> None:
    site = programme.site
    base = f"/supervision/{site.city}"
    with site.client("pm_own") as pm:
        download = pm.get(f"{base}/progress.xlsx")
        assert download.status_code == 200
        assert download.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        book = load_workbook(io.BytesIO(download.content), read_only=True)
        assert book.sheetnames == ZH_SHEETS
        codes = [r[0] for r in book["进度"].iter_rows(min_row=2, values_only=True)]
        assert sorted(codes) == programme.own  # only the manager's own projects
        english = load_workbook(io.BytesIO(pm.get(f"{base}/progress.xlsx?lang=en").content))
        assert english.sheetnames[0] == "progress"
        code = codes[-1]
        row = codes.index(code) + 2
        start = site.db.tracking.project(site.city, code).record.start_date
        status = (start + timedelta(days=200)).isoformat()
        before = pm.get(f"/api/supervision/{site.city}?as_of={status}").json()
        filled = fill(download.content, {
            "进度": [(row, "C", (start + timedelta(days=180)).isoformat())],
            "支出": [(2, "A", code), (2, "B", (start + timedelta(days=120)).isoformat()),
                     (2, "C", 321.5), (2, "D", "首付款")],
        })  # fmt: skip
        form = pm.get(f"{base}/upload?lang=zh-CN")
        assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
        sent = pm.post(f"{base}/upload", data={"csrf_token": csrf_of(pm, f"{base}/upload")},
                       files={"file": ("进度.xlsx", filled, "application/octet-stream")},
                       follow_redirects=False)  # fmt: skip
        assert sent.status_code == 303, sent.text
        result = pm.get(sent.headers["location"]).text
        assert f'data-applied="{code}"' in result and 'data-testid="upload-result"' in result
        assert "data-unchanged=" in result
        after = pm.get(f"/api/supervision/{site.city}?as_of={status}").json()
        # The same workbook through the API: already stored, nothing is written twice.
        again = pm.post(f"/api/supervision/{site.city}/progress-upload",
                        files={"file": ("p.xlsx", filled)})  # fmt: skip
    assert again.status_code == 200 and again.json()["applied"] == []
    payments = site.db.tracking.payments(site.city, code)
    assert [(e.amount, e.note) for e in payments] == [(321.5, "首付款")]
    assert after["total"]["ac"] == pytest.approx(before["total"]["ac"] + 321.5)


def test_a_bad_row_or_a_file_that_is_no_workbook_is_refused_whole(programme: Programme) -> None:
    site = programme.site
    base = f"/supervision/{site.city}"
    written = counts(site.db)
    with site.client("admin") as admin:
        template = admin.get(f"{base}/progress.xlsx").content
        code = programme.foreign[0]
        bad = fill(
            template,
            {
                "支出": [(2, "A", code), (2, "B", "2028-05-01"), (2, "C", "很多")],
                "风险": [(2, "A", code), (2, "B", "延期"), (2, "C", "极高")],
            },
        )
        token = csrf_of(admin, f"{base}/upload")
        page = admin.post(f"{base}/upload", data={"csrf_token": token},
                          files={"file": ("bad.xlsx", bad)})  # fmt: skip
        assert page.status_code == 422
        rows = re.findall(r'data-sheet="([^"]*)" data-row="([^"]*)" data-column="([^"]*)"',
                          page.text)  # fmt: skip
        assert ("支出", "2", "amount") in rows and ("风险", "2", "level") in rows
        assert "bad.xlsx" in page.text and "金额（万元）" in page.text  # the column's header
        api = admin.post(f"/api/supervision/{site.city}/progress-upload",
                         files={"file": ("bad.xlsx", bad)})  # fmt: skip
        assert api.status_code == 422
        assert {(p["sheet"], p["row"], p["column"]) for p in api.json()["problems"]} >= {
            ("支出", 2, "amount"), ("风险", 2, "level")}  # fmt: skip
        csv = "项目编码,完成百分比\n".encode("gbk")
        not_xlsx = admin.post(f"{base}/upload", data={"csrf_token": token},
                              files={"file": ("进度.csv", csv)})  # fmt: skip
        assert not_xlsx.status_code == 422 and "进度.csv" in not_xlsx.text
        assert ".xlsx" in not_xlsx.text.split('data-testid="upload-errors"')[1]
    assert counts(site.db) == written
    with site.client() as anonymous:
        assert anonymous.get(f"{base}/upload", follow_redirects=False).status_code == 303
        assert anonymous.post(f"/api/supervision/{site.city}/progress-upload",
                              files={"file": ("p.xlsx", bad)}).status_code == 401  # fmt: skip
    with site.client("analyst") as analyst:  # an evaluator views, does not report
        assert analyst.get(f"{base}/progress.xlsx").status_code == 403


def test_the_forms_work_in_chromium(programme: Programme, browser: Any, tmp_path: Path) -> None:
    site = programme.site
    if site.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser test runs once, on SQLite")
    code = programme.own[4]
    errors: list[str] = []
    for server in serve(site.app):
        page = browser_sign_in(browser, server, "pm_own")
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.goto(f"{server}/supervision/{site.city}/projects/{code}/baseline")
        page.fill("textarea[name=reason]", "运维合同签订推迟")
        page.fill("input[name='new_risk.text']", "机房改造未按期完成")
        page.select_option("select[name='new_risk.level']", "high")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "supervision-baseline.png"), full_page=True)
        page.click("[data-testid=baseline-submit]")
        page.wait_for_selector("[data-testid=supervision-flash]")
        assert page.url.endswith(f"/supervision/{site.city}/projects/{code}")
        assert "机房改造未按期完成" in page.content()
        bad = tmp_path / "进度.xlsx"
        bad.write_bytes(b"not a workbook")
        page.goto(f"{server}/supervision/{site.city}/upload")
        page.set_input_files("input[name=file]", str(bad))
        page.click("[data-testid=upload-submit]")
        page.wait_for_selector("[data-testid=upload-errors]")
        page.screenshot(path=str(SCREENSHOTS / "supervision-upload.png"), full_page=True)
        page.close()
    assert errors == []
