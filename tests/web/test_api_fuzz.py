"""Schemathesis against the app's own OpenAPI schema: every operation, for every role, the
anonymous caller and an API key holder; zero server errors, zero schema violations.

The fuzz writes (it closes surveys, revokes keys, uploads), so it runs on a site of its own.
``benchmarks/fuzz_api.py`` runs the same ``fuzz`` with many more examples.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from requests.exceptions import ReadTimeout
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cityloop.services.sensor_demo import load_demo_sensors
from cityloop.store.keys import issue_key
from cityloop.store.models import KeyScope
from cityloop.store.settings import Settings
from cityloop.web import create_app
from tests.store.databases import BACKENDS, new_database_url
from tests.web.site import FRAMEWORK, Site, make_site

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ROLES = ("admin", "analyst", "officer", "manager", "viewer")
KEY_PATHS = ("/ngsi-ld/", "/api/3/action/")  # the operations an API key opens
TIMEOUT = 120  # seconds for one answer: an evaluation run on a busy 2-CPU machine takes ~10
CKAN_ACTIONS = (
    "package_list", "package_search", "package_show", "resource_show", "datastore_search",
    "status_show",
)  # fmt: skip
# In CI (~1 min on 2 cores): one generated request per operation, sent as every identity on
# SQLite; on PostgreSQL as the administrator (every code path past the role checks, the second
# dialect) and the callers without a session. benchmarks/fuzz_api.py runs many more.
CI_EXAMPLES = 1
POSTGRES_CALLERS = ("admin", "anonymous", "ingest-key", "read-key")


@dataclass(frozen=True)
class Identity:
    """Who calls: a signed-in role (session cookie + CSRF header), nobody, or an API key."""

    name: str
    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    key_only: bool = False  # an API key opens only the key operations; elsewhere it is nobody


@dataclass(frozen=True)
class Finding:
    """One distinct failure: which operation, who, what status and which check said what."""

    operation: str
    identity: str
    status: int
    check: str
    message: str
    reproduce: str


@dataclass
class Tally:
    """What one identity's fuzz did: operations, calls, server errors, violations, seconds."""

    operations: set[str] = field(default_factory=set)
    calls: int = 0
    server_errors: int = 0
    violations: int = 0
    timeouts: int = 0  # answers slower than TIMEOUT (not failures: the machine may be busy)
    seconds: float = 0.0


@dataclass
class FuzzRun:
    tallies: dict[str, Tally]
    findings: dict[tuple[str, str, int, str], Finding]
    seconds: dict[str, float] = field(default_factory=dict)  # per operation, every identity


@dataclass
class FuzzSite:
    site: Site
    ingest_key: str
    read_key: str


def build_fuzz_site(url: str, folder: Path) -> FuzzSite:
    """The web tests' site plus a day of demo sensors in the users' city and two keys issued
    through the store: one to send its air-quality observations, one to read them."""
    site = make_site(url, folder)
    loaded = load_demo_sensors(
        site.db, site.city, actor="fixture", days=1, end=datetime(2025, 6, 1, tzinfo=UTC)
    )
    air = loaded.resources["AirQualityObserved"].id
    with site.db.session() as s:
        keys = {
            scope: issue_key(
                s, resource_id=air, department="ecology_environment", scope=scope, actor="fixture"
            ).plain
            for scope in (KeyScope.INGEST, KeyScope.READ)
        }
    return FuzzSite(site, keys[KeyScope.INGEST], keys[KeyScope.READ])


def identities(fuzz_site: FuzzSite) -> list[Identity]:
    """Each role signed in through the login form, the anonymous caller and the key holders."""
    found = []
    for username in ROLES:
        client = fuzz_site.site.client(username)
        found.append(Identity(username, dict(client.cookies), dict(client.headers)))
    found.append(Identity("anonymous"))
    for name, key in (("ingest-key", fuzz_site.ingest_key), ("read-key", fuzz_site.read_key)):
        found.append(Identity(name, headers={"Authorization": f"Bearer {key}"}, key_only=True))
    return found


def load_schema(app: FastAPI) -> Any:
    """The app's own schema, called in-process (ASGI)."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    return schema


def known_path_values(site: Site) -> dict[str, Any]:
    """Path parameters that name things that exist, so the fuzz reaches past the 404s."""
    return {"code": site.city, "fid": FRAMEWORK, "run_id": site.run_id}


def case_strategy(operation: Any, known: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid and invalid requests, and valid ones aimed at things that exist."""
    names = {p.name for p in operation.path_parameters}
    aimed = {name: value for name, value in known.items() if name in names}
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    if "action" in names:
        actions = st.sampled_from(CKAN_ACTIONS)
        strategies.append(
            actions.flatmap(lambda a: operation.as_strategy(path_parameters={**aimed, "action": a}))
        )
    elif aimed:
        strategies.append(operation.as_strategy(path_parameters=aimed))
    return st.one_of(strategies)


class Fuzzer:
    """Sends each generated request as every identity over one in-process client and checks
    every answer; failures are recorded (one per operation, identity, status and check), not
    raised, so one run reports all of them."""

    def __init__(self, app: FastAPI, callers: list[Identity], examples: int) -> None:
        self.client = asgi.get_client(app)
        self.callers = callers
        self.examples = examples
        self.run = FuzzRun({name.name: Tally() for name in callers}, {})

    def operation(self, operation: Any, strategy: st.SearchStrategy[Any]) -> None:
        callers = [
            c for c in self.callers if not c.key_only or operation.path.startswith(KEY_PATHS)
        ]
        for caller in callers:
            self.run.tallies[caller.name].operations.add(operation.label)

        @settings(
            max_examples=self.examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def each_case(case: Any) -> None:
            for caller in callers:
                started = time.perf_counter()
                self.send(case, caller)
                spent = time.perf_counter() - started
                self.run.tallies[caller.name].seconds += spent
                self.run.seconds[operation.label] = self.run.seconds.get(operation.label, 0) + spent

        each_case()

    def send(self, case: Any, caller: Identity) -> None:
        tally = self.run.tallies[caller.name]
        tally.calls += 1
        self.client.cookies.clear()  # only the caller's own session cookie, nothing left over
        try:
            response = case.call(
                session=self.client, headers=caller.headers, cookies=caller.cookies, timeout=TIMEOUT
            )
        except ReadTimeout:  # slow (an evaluation on a busy machine), not wrong
            tally.timeouts += 1
            return
        except Exception as exc:  # an unhandled exception is the in-process 500
            tally.server_errors += 1
            self.record(case, caller, 500, "exception", repr(exc))
            return
        if response.status_code >= 500:
            tally.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=caller.headers)
        except FailureGroup as group:
            tally.violations += 1
            for failure in group.exceptions:
                text = f"{failure.title}: {failure.message}"
                self.record(case, caller, response.status_code, failure.title, text)

    def record(self, case: Any, caller: Identity, status: int, check: str, text: str) -> None:
        key = (case.operation.label, caller.name, status, check)
        if key not in self.run.findings:
            curl = case.as_curl_command(headers=caller.headers)
            self.run.findings[key] = Finding(key[0], caller.name, status, check, text, curl)


def fuzz(fuzz_site: FuzzSite, examples: int, only: Sequence[str] = ()) -> FuzzRun:
    """Every operation of the schema, ``examples`` generated requests each, sent as every
    identity (``only`` these when given; the key holders: to the key operations)."""
    app = fuzz_site.site.app
    schema = load_schema(app)
    known = known_path_values(fuzz_site.site)
    callers = [c for c in identities(fuzz_site) if not only or c.name in only]
    fuzzer = Fuzzer(app, callers, examples)
    with fuzzer.client:
        for operation in operations(schema):
            fuzzer.operation(operation, case_strategy(operation, known))
    return fuzzer.run


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def schema_operations(app: FastAPI) -> set[str]:
    """``METHOD /path`` of every operation of the app's OpenAPI document, read directly."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return {f"{m.upper()} {path}" for path, item in paths.items() for m in item if m in methods}


def test_the_fuzz_sees_every_operation_of_the_app(tmp_path: Path) -> None:
    """What schemathesis reads from the schema is every route FastAPI publishes, so a new
    route cannot escape the fuzz (the fuzz test checks it sent a request to each)."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", data_dir=tmp_path))
    labels = {operation.label for operation in operations(load_schema(app))}
    assert labels == schema_operations(app)
    assert len(labels) >= 76  # the API of issue 9: a route set that shrank is a lost route
    # Each operation has an operationId of its own, as OpenAPI requires (clients are generated
    # from them; FastAPI gives a GET+POST route one id for both methods).
    ids = [
        op.get("operationId")
        for item in app.openapi()["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "put", "delete")
    ]
    assert None not in ids and len(ids) == len(set(ids)) == len(labels)


def report(run: FuzzRun) -> str:
    lines = [
        f"{f.operation} as {f.identity}: {f.status} {f.check}\n{f.message}\n{f.reproduce}\n"
        for f in run.findings.values()
    ]
    return "\n".join(lines)


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzSite]:
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    for url in new_database_url(str(request.param), folder):
        built = build_fuzz_site(url, folder)
        yield built
        built.site.db.dispose()


def test_no_operation_answers_a_server_error_or_breaks_its_schema(
    fuzz_site: FuzzSite, request: pytest.FixtureRequest
) -> None:
    # One test per backend (one site each, however xdist spreads the tests): the regression
    # check of the ids first, then the fuzz.
    check_ids_too_large_for_the_database(fuzz_site.site)
    check_text_with_a_nul_character(fuzz_site.site)
    postgresql = "postgresql" in request.node.callspec.id
    run = fuzz(fuzz_site, CI_EXAMPLES, only=POSTGRES_CALLERS if postgresql else ())
    assert not run.findings, report(run)
    every = {op for tally in run.tallies.values() for op in tally.operations}
    assert every == schema_operations(fuzz_site.site.app)


# Ids past the database's integers (PostgreSQL ``integer``: 2**31 - 1; SQLite: 2**63 - 1) were
# server errors on both backends until the engine refused them (cityloop.store.settings).
IDS_IN_PATHS = (
    ("GET", "/api/runs/{id}"),
    ("GET", "/api/runs/compare?a={id}&b=1"),
    ("GET", "/api/ranking?run={id}"),
    ("GET", "/api/surveys/{id}/results"),
    ("POST", "/api/surveys/{id}/close"),
    ("GET", "/api/plan/plans/{id}"),
    ("GET", "/api/catalogue/{id}"),
    ("POST", "/api/sharing/keys/{id}/revoke"),
    ("POST", "/api/sharing/requests/{id}/withdraw"),
    ("GET", "/api/supervision/{city}/outcomes/{id}"),
)


def check_ids_too_large_for_the_database(site: Site) -> None:
    """Every id route refuses an id past the database's integers with the reason (422) or, where
    the backend can hold it, does not find it (404); CKAN in its own envelope."""
    with site.client("admin") as admin:
        for number in (2**31, 2**63, 10**30):
            for method, path in IDS_IN_PATHS:
                answer = admin.request(method, path.format(id=number, city=site.city))
                assert answer.status_code in (404, 422), (path, number, answer.status_code)
                if answer.status_code == 422:
                    assert "2147483647" in answer.json()["detail"], path
            ckan = admin.get("/api/3/action/datastore_search", params={"resource_id": number})
            assert ckan.status_code in (404, 409) and ckan.json()["success"] is False


def check_text_with_a_nul_character(site: Site) -> None:
    """Text with a NUL character (found by the long fuzz: a framework name in a scenario
    request was a server error on PostgreSQL) is refused with the reason where the backend
    cannot store it, and never a server error; what is refused is not stored."""
    postgresql = site.db.engine.dialect.name == "postgresql"
    with site.client("admin") as admin:
        plans = len(admin.get("/api/plan/plans").json())
        for path, body in (
            (f"/api/plan/units/{site.city}/scenarios", {"settings": {"framework": "\x00gbt"}}),
            (f"/api/plan/units/{site.city}/plans", {"name": "规划\x00"}),
        ):
            answer = admin.post(path, json=body)
            assert answer.status_code < 500, (path, answer.text)
            if postgresql:
                assert answer.status_code == 422, (path, answer.text)
                assert "NUL" in answer.json()["detail"], answer.text
        stored = len(admin.get("/api/plan/plans").json())
        assert stored == plans + (0 if postgresql else 1)
