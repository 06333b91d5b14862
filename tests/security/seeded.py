"""A site whose every user-writable text holds an XSS payload, each stored through its real
input path (forms, the JSON API, uploaded workbooks and catalogue files, the public survey, the
CLI's services), and the pages that must show each text, for the stored-XSS crawl.

Each text carries a tag (``[q-title]``…) before the payload, so a page can be checked for the
very text it should show: a text that silently stops reaching its page fails the crawl.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cityloop.accounts import Role
from cityloop.services import runs, survey_design, users
from cityloop.services import store as store_service
from cityloop.services.frameworks import copy_framework
from cityloop.services.sensor_demo import load_demo_sensors
from tests.security.conftest import tracked_project
from tests.web.site import CHEAP, PASSWORD, Site, csrf_of
from tests.web.test_survey_public import token_of, valid_answers

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}{% if 1 %}SSTI{% endif %}"
PAYLOAD = f"{SCRIPT}{ATTRIBUTE}{TEMPLATE}</script>"
RAW = (SCRIPT, "<img src=x", "</script><", "SSTI")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"  # how autoescaping writes SCRIPT
IN_JSON = "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"  # how ``tojson`` writes it
CUSTOM_FRAMEWORK = "xss-gbt33356"
QUESTIONNAIRE = "xss-citizen"
# A data officer whose very username is a payload (``cityloop users add`` takes any printable
# name without spaces): the pages that name who did something show it.
USER = "[user]" + SCRIPT
SPOT = "urn:ngsi-ld:ParkingSpot:000-xss"  # sorts first: the page lists the first few
SMART_DATA_MODELS = Path(__file__).parent.parent / "data" / "smartdatamodels"


def text(tag: str, short: bool = False) -> str:
    """The payload of one kind of text (``short``: for fields with a tight length limit)."""
    return f"[{tag}]" + (SCRIPT if short else PAYLOAD)


def assert_escaped(html: str, where: str) -> None:
    """No payload reaches the page as markup, and the template syntax stays text."""
    for raw in RAW:
        if raw == "SSTI":
            assert "SSTI" not in html.replace("%}SSTI{%", ""), f"{where}: template ran"
        else:  # "</script><" would close a script element early: only JSON islands could
            assert raw not in html, f"{where}: {raw!r} unescaped"


def shown(html: str, tag: str) -> bool:
    """Whether ``html`` shows the text tagged ``tag``, escaped (as markup or inside JSON)."""
    return f"[{tag}]{ESCAPED}" in html or f"[{tag}]{IN_JSON}" in html


@dataclass
class Seeded:
    """What the seeding stored: the values that fill route parameters, and for each text
    (by tag) the (user, path) pages that must show it."""

    fill: dict[str, str]
    pages: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    variants: list[dict[str, str]] = field(default_factory=list)  # more fills to crawl with

    def expect(self, tag: str, *paths: str, user: str = "admin") -> None:
        self.pages.setdefault(tag, []).extend((user, p) for p in paths)


def ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200,)), (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response


def seed(site: Site, folder: Path) -> Seeded:
    """Store every payload; return what the crawl needs."""
    users.add_user(site.db, USER, PASSWORD, Role.DATA_OFFICER, site.city, "transport",
                   actor="admin", params=CHEAP)  # fmt: skip
    admin = site.client("admin")
    seeded = Seeded(fill={"code": site.city, "project": tracked_project(site),
                          "department": "transport", "indicator": "L1P1-A1"})  # fmt: skip
    seed_framework(site, folder, seeded)
    seed_collection(site, admin, seeded)
    seed_questionnaire(site, admin, seeded)
    seed_catalogue(site, admin, seeded)
    seed_sharing(site, admin, seeded)
    seed_sensors(site, admin, seeded)
    seed_plans(site, admin, seeded)
    seed_supervision(site, admin, seeded)
    return seeded


# -- evaluation: a framework file copied and edited, loaded and evaluated through the CLI's services


def seed_framework(site: Site, folder: Path, seeded: Seeded) -> None:
    """``cityloop frameworks copy`` then ``cityloop db demo --framework FILE`` and an evaluation:
    the only way a framework of a user's own enters (the web shows shipped ones only)."""
    path = copy_framework("gbt33356-2016", folder / "own-framework.yaml")
    spec = yaml.safe_load(path.read_text("utf-8"))
    spec["id"] = CUSTOM_FRAMEWORK
    spec["title"] = {"zh": text("fw-title"), "en": text("fw-title")}
    spec["dimensions"][0]["name"] = {"zh": text("fw-dimension"), "en": text("fw-dimension")}
    for indicator in spec["indicators"]:  # all: whichever a page picks (the weakest…) shows one
        indicator["name"] = {"zh": text("fw-indicator"), "en": text("fw-indicator")}
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")
    store_service.load_demo(site.db, [str(path)], n_cities=62, user="admin")
    run_id, _ = runs.evaluate_stored(site.db, CUSTOM_FRAMEWORK, actor="admin")
    seeded.fill["run_id"] = str(run_id)
    seeded.fill["fid"] = CUSTOM_FRAMEWORK
    ranking = f"/ranking?framework={CUSTOM_FRAMEWORK}"
    city = f"/cities/{site.city}?run={run_id}"
    # (The city report is written for frameworks with a plan-type mapping: 422 for this one.)
    seeded.expect("fw-title", "/runs", ranking, city)
    seeded.expect("fw-dimension", f"/runs/{run_id}", f"/runs/{run_id}/whatif", ranking, city)
    seeded.expect("fw-indicator", city)


# -- data collection: a round's note, an officer's value with its source and note ---------------


def seed_collection(site: Site, admin: TestClient, seeded: Seeded) -> None:
    deadline = (date.today() + timedelta(days=60)).isoformat()
    body = {"framework_id": "gbt33356-2016", "year": 2031, "deadline": deadline,
            "note": text("round-note")}  # fmt: skip
    made = ok(admin.post("/api/collection/rounds", json=body), 200, 201).json()
    seeded.fill["round"] = str(made["id"])
    officer = site.client(USER)
    page = ok(officer.get("/collect", params={"round": made["id"]})).text
    cell = re.search(r'name="value\|([^"]+)"', page)
    assert cell is not None, "no value cell on the officer's collect page"
    key = cell.group(1)
    form = {"csrf_token": csrf_of(officer, "/collect"), "round": str(made["id"]),
            f"value|{key}": "3", f"source|{key}": text("value-source", short=True),
            f"note|{key}": text("value-note", short=True)}  # fmt: skip
    ok(officer.post("/collect/values", data=form))
    seeded.expect("round-note", f"/collect?round={made['id']}")
    for tag in ("value-source", "value-note", "user"):  # "user": who entered it, who is signed in
        seeded.expect(tag, f"/collect?round={made['id']}", user=USER)


# -- surveys: a questionnaire from the designer, its survey, a citizen's answers -----------------


def seed_questionnaire(site: Site, admin: TestClient, seeded: Seeded) -> None:
    source, _ = survey_design.draft_text(site.db, "citizen-experience-gbt33356-2016")
    spec = yaml.safe_load(source)
    spec["id"] = QUESTIONNAIRE
    spec["title"] = {"zh": text("q-title"), "en": text("q-title")}
    spec["intro"] = {"zh": text("q-intro"), "en": text("q-intro")}
    section = spec["sections"][0]
    section["title"] = {"zh": text("q-section"), "en": text("q-section")}
    question = section["questions"][0]
    question["text"] = {"zh": text("q-question"), "en": text("q-question")}
    question["choices"][0]["text"] = {"zh": text("q-option"), "en": text("q-option")}
    draft = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    token = csrf_of(admin, "/questionnaires")
    ok(admin.post("/questionnaires", data={"yaml_text": draft, "csrf_token": token},
                  follow_redirects=False), 303)  # fmt: skip
    body = {"unit": site.city, "year": 2026, "questionnaire_id": QUESTIONNAIRE}
    opened = ok(admin.post("/api/surveys", json=body), 201).json()
    seeded.fill |= {"survey_id": str(opened["id"]), "slug": opened["slug"],
                    "questionnaire_id": QUESTIONNAIRE}  # fmt: skip
    answer_survey(site, opened["slug"])
    public = f"/s/{opened['slug']}"
    seeded.expect("q-title", "/questionnaires", public)
    seeded.expect("q-intro", public)
    seeded.expect("q-section", public)
    seeded.expect("q-question", public, f"/surveys/{opened['id']}")
    seeded.expect("q-option", public)
    for tag in ("q-title", "q-question", "q-option"):
        seeded.expect(tag, f"/questionnaires/{QUESTIONNAIRE}/edit")


def answer_survey(site: Site, slug: str) -> None:
    """A citizen's free-text need through the form (refused as incomplete: the form comes back
    with it) and through JSON (the kiosk's path: a complete answer set, stored)."""
    citizen = site.client()
    fields = {"token": token_of(citizen, slug), "needs_text": text("answer-form")}
    refused = citizen.post(f"/s/{slug}", data=fields)
    assert refused.status_code == 422, refused.status_code
    assert shown(refused.text, "answer-form"), "the refused form did not keep the free text"
    assert_escaped(refused.text, f"/s/{slug} refused")
    draft, _ = survey_design.draft_text(site.db, QUESTIONNAIRE)
    answers = valid_answers(survey_design.check_draft(site.db, draft)[0])
    answers["needs_text"] = text("answer-json")
    kiosk = site.client()
    body = {"token": token_of(kiosk, slug), "answers": answers}
    ok(kiosk.post(f"/s/{slug}", json=body), 201)


# -- the resource catalogue: a form entry and an imported DCAT file ------------------------------


def seed_catalogue(site: Site, admin: TestClient, seeded: Seeded) -> None:
    form = {"csrf_token": csrf_of(admin, "/catalogue/new"), "unit": site.city,
            "code": "302001-009901", "department": "health", "classification": "department",
            "name_zh": text("res-name"), "name_en": text("res-name"),
            "description": text("res-description"), "keywords": text("res-keyword", True),
            "update_frequency": "daily", "format": "CSV", "sharing_type": "conditional",
            "sharing_condition": text("res-condition"), "sharing_method": "api",
            "open_type": "closed", "licence": text("res-licence", True),
            "fields": f"f1 | {text('res-field', True)} | F | string"}  # fmt: skip
    made = ok(admin.post("/catalogue", data=form, follow_redirects=False), 303)
    resource = made.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    ok(admin.post(f"/catalogue/{resource}/publish",
                  data={"csrf_token": csrf_of(admin, "/catalogue/new")}, follow_redirects=False),
       303)  # fmt: skip
    seeded.fill["resource_id"] = resource
    detail = f"/catalogue/{resource}"
    seeded.expect("res-name", "/catalogue", detail, "/sharing/request")
    for tag in ("res-description", "res-keyword", "res-condition", "res-licence", "res-field"):
        seeded.expect(tag, detail)
    # The entry written out as DCAT and as a workbook, read back as two more entries.
    dcat = ok(admin.get("/catalogue/catalog.jsonld")).text
    dcat = dcat.replace("302001-009901", "302001-009902").replace("[res-name]", "[res-dcat]")
    xlsx = load_workbook(io.BytesIO(ok(admin.get("/catalogue/export.xlsx")).content))
    for sheet in xlsx.worksheets:
        for cell in (c for row in sheet.iter_rows(min_row=2) for c in row):
            if isinstance(cell.value, str):
                cell.value = cell.value.replace("302001-009901", "302001-009903").replace(
                    "[res-name]", "[res-xlsx]"
                )
    written = io.BytesIO()
    xlsx.save(written)
    for name, content in (("c.jsonld", dcat.encode()), ("c.xlsx", written.getvalue())):
        token = csrf_of(admin, "/catalogue/new")
        ok(admin.post("/catalogue/import", data={"csrf_token": token, "unit": site.city},
                      files={"file": (name, content)}, follow_redirects=False), 303)  # fmt: skip
    seeded.expect("res-dcat", "/catalogue")
    seeded.expect("res-xlsx", "/catalogue")


def seed_sharing(site: Site, admin: TestClient, seeded: Seeded) -> None:
    officer = site.client(USER)  # the transport bureau asks the health bureau's data
    body = {"resource_id": int(seeded.fill["resource_id"]), "purpose": text("share-purpose")}
    made = ok(officer.post("/api/sharing/requests", json=body), 201).json()["request"]
    seeded.fill["request_id"] = str(made["id"])
    decision = {"approve": True, "reason": text("share-reason")}
    ok(admin.post(f"/api/sharing/requests/{made['id']}/decision", json=decision), 200, 201)
    seeded.expect("share-purpose", "/sharing")
    seeded.expect("share-reason", "/sharing")
    seeded.expect("share-purpose", "/sharing", user=USER)
    seeded.expect("user", "/sharing")


# -- sensors: an entity uploaded through the page ------------------------------------------------


def seed_sensors(site: Site, admin: TestClient, seeded: Seeded) -> None:
    """Two parking spots uploaded through the page: one named with a payload, one whose very
    identifier is a payload (refused or kept, it is shown)."""
    loaded = load_demo_sensors(site.db, site.city, actor="admin", days=1)
    resource = loaded.resources["ParkingSpot"].id
    spot = json.loads((SMART_DATA_MODELS / "ParkingSpot" / "example.json").read_bytes())
    named = {**spot, "id": SPOT, "name": text("sensor-name"),
             "description": text("sensor-description")}  # fmt: skip
    odd = {**spot, "id": f"urn:ngsi-ld:ParkingSpot:{text('sensor-id', short=True)}"}
    form = {"csrf_token": csrf_of(admin, "/sensors"), "resource": str(resource)}
    files = {"payload": ("p.json", json.dumps([named, odd]).encode(), "application/json")}
    answer = ok(admin.post("/sensors/upload", data=form, files=files))
    assert site.db.sensors.entity(site.city, SPOT) is not None, answer.text
    assert shown(answer.text, "sensor-id") or site.db.sensors.entity(site.city, odd["id"])
    page = f"/sensors?unit={site.city}&type=ParkingSpot&entity={SPOT}"
    for tag in ("sensor-name", "sensor-description", "sensor-id"):
        seeded.expect(tag, page)


# -- planning: the project catalogue workbook, a saved plan ------------------------------------


def seed_plans(site: Site, admin: TestClient, seeded: Seeded) -> None:
    workbook = ok(admin.get("/plan/catalogue/export.xlsx", params={"unit": site.city})).content
    book = load_workbook(io.BytesIO(workbook))
    sheet = book.worksheets[0]
    row = 2
    seeded.variants.append({"project": str(sheet.cell(row, 1).value)})
    sheet.cell(row, 3).value = text("project-name")
    sheet.cell(row, 4).value = text("project-name")
    sheet.cell(row, 6).value = text("project-description")
    sheet.cell(row, 7).value = text("project-description")
    out = io.BytesIO()
    book.save(out)
    files = {"file": ("projects.xlsx", out.getvalue())}
    token = csrf_of(admin, "/plan/catalogue")
    ok(admin.post(f"/plan/catalogue/{site.city}/import", data={"csrf_token": token},
                  files=files, follow_redirects=False), 303)  # fmt: skip
    project = f"/plan/catalogue/{site.city}/{seeded.variants[-1]['project']}"
    seeded.expect("project-name", f"/plan/catalogue?unit={site.city}", project)
    seeded.expect("project-description", project)
    saved = ok(admin.post(f"/api/plan/units/{site.city}/plans", json={"name": text("plan-name")}),
               201).json()  # fmt: skip
    seeded.fill["plan_id"] = str(saved["id"])
    seeded.expect("plan-name", "/plan", "/supervision", f"/plan/saved/{saved['id']}",
                  f"/reports/plan/{saved['id']}?format=html")  # fmt: skip
    seeded.expect("project-name", f"/plan/units/{site.city}", f"/plan/saved/{saved['id']}",
                  f"/reports/plan/{saved['id']}?format=html")  # fmt: skip


# -- supervision: the progress workbook (notes, risks, payments), a baseline change -----------


def seed_supervision(site: Site, admin: TestClient, seeded: Seeded) -> None:
    code = site.city
    workbook = ok(admin.get(f"/supervision/{code}/progress.xlsx")).content
    book = load_workbook(io.BytesIO(workbook))
    progress, spend, risks = book.worksheets[0], book.worksheets[3], book.worksheets[4]
    project = str(progress.cell(2, 1).value)
    day = progress.cell(2, 3).value
    progress.cell(2, 4).value = 5
    progress.cell(2, 6).value = text("sheet-note")
    spend.append([project, day, 1.5, text("sheet-payment")])
    risks.append([project, text("sheet-risk"), "高"])
    out = io.BytesIO()
    book.save(out)
    token = csrf_of(admin, f"/supervision/{code}/upload")
    ok(admin.post(f"/supervision/{code}/upload", data={"csrf_token": token},
                  files={"file": ("progress.xlsx", out.getvalue())}, follow_redirects=False),
       303)  # fmt: skip
    seeded.variants.append({"project": project})
    change = {"reason": text("baseline-reason"),  # kept in the audit log: no page shows it
              "milestones": [{"position": 1, "name": text("milestone")}]}  # fmt: skip
    ok(admin.put(f"/api/supervision/{code}/projects/{project}/baseline", json=change))
    seeded.expect("milestone", f"/supervision/{code}/projects/{project}",
                  f"/supervision/{code}/projects/{project}/baseline")  # fmt: skip
    seeded.expect("sheet-note", f"/supervision/{code}/projects/{project}")
    seeded.expect("sheet-payment", f"/supervision/{code}/projects/{project}")
    # Risks are on the project's pages only (no warning rule reads them).
    seeded.expect("sheet-risk", f"/supervision/{code}/projects/{project}",
                  f"/supervision/{code}/projects/{project}/baseline")  # fmt: skip
