"""The hot path of the public survey: JSON submissions to ``POST /s/{slug}``, answered by a
small ASGI layer in front of the framework's routing, sessions and dependency injection.

Kiosks, apps and the load test post JSON ``{token, answers}``; this layer answers them
(201 receipt, 409, 410/404, 413, 422 with every problem, 429) only after the response is
committed. Everything else — the HTML form post included — passes through to the app. Measured
(benchmarks/survey_load.py): the framework's layers cost more CPU per submission than the
submission's own work, which is why this one path skips them.
"""

from __future__ import annotations

import gc
import json
from typing import Any

from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityloop.errors import InputError, Problem
from cityloop.i18n import t, use_language
from cityloop.services.survey_collect import Collector, SurveySettings, SurveyUnavailableError
from cityloop.store.survey_writer import Outcome
from cityloop.web.auth import session_secret
from cityloop.web.language import request_language
from cityloop.web.ratelimit import RateLimiter

DEVICE_COOKIE = "cityloop_device"
MAX_BODY = 64 * 1024  # a whole questionnaire's answers fit many times over
REFUSED = {
    Outcome.DUPLICATE_RECEIPT: (409, "surveypub.duplicate_submission"),
    Outcome.DUPLICATE_DEVICE: (409, "surveypub.already_answered"),
    Outcome.NOT_OPEN: (410, "surveypub.closed"),
}


def collector(state: Any) -> tuple[Collector, RateLimiter]:
    """The worker's collector and rate limiter, built on first use from the app's settings
    (``state.survey_settings`` when a test or the benchmark set one, else the environment's
    ``CITYLOOP_SURVEY_*``)."""
    built: tuple[Collector, RateLimiter] | None = getattr(state, "survey_collector", None)
    if built is None:
        settings = getattr(state, "survey_settings", None) or SurveySettings()
        built = (
            Collector(state.db, session_secret(state.settings), settings),
            RateLimiter(settings.rate_per_minute),
        )
        state.survey_collector = built
        # What is alive now (the app, its questionnaires, SQLAlchemy's tables) lives as long
        # as the worker; freezing it keeps the cyclic GC from walking it in every full
        # collection — those pauses were the p99 of a 60 s load (measured: 400 → 80 ms).
        gc.freeze()
    return built


def is_json_submission(scope: Scope) -> bool:
    """A POST of JSON to ``/s/{slug}`` (one path segment after ``/s/``)."""
    path: str = scope["path"]
    if scope["method"] != "POST" or not path.startswith("/s/") or "/" in path[3:]:
        return False
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.startswith(b"application/json"))
    return False


class SurveySubmissions:
    """ASGI middleware: JSON survey submissions here, everything else to ``app``."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_json_submission(scope):
            await self.app(scope, receive, send)
            return
        status, body = await self._answer(scope, receive)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *self.headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        c, limiter = collector(scope["app"].state)
        headers = dict(scope["headers"])
        client = scope.get("client")
        if not limiter.allow(client[0] if client else "-"):
            return _refusal(scope, 429, "surveypub.too_many")
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            return _refusal(scope, 413, "surveypub.too_large")
        body = await _read_body(receive)
        if body is None:
            return _refusal(scope, 413, "surveypub.too_large")
        try:
            survey = c.survey(scope["path"][3:])
        except SurveyUnavailableError as exc:
            return _refusal(scope, 410 if exc.gone else 404, exc.key)
        token, answers = _json_payload(body)
        cookies = headers.get(b"cookie")
        device = cookie_parser(cookies.decode("latin-1")).get(DEVICE_COOKIE) if cookies else None
        try:
            receipt, outcome = await c.submit(
                survey, token, answers, device_id=device, source="api"
            )
        except InputError as exc:
            return _invalid(scope, exc)
        if outcome in REFUSED:
            status, key = REFUSED[outcome]
            return _refusal(scope, status, key)
        return 201, b'{"receipt":"' + receipt.encode() + b'"}'


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or None as soon as it grows past ``MAX_BODY``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _json_payload(body: bytes) -> tuple[str, dict[str, Any]]:
    """``token`` and ``answers`` of a JSON body; anything else gives empty ones, which the
    token check then refuses with a message."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", {}
    if not isinstance(data, dict):
        return "", {}
    token, answers = data.get("token"), data.get("answers")
    return (
        token if isinstance(token, str) else "",
        answers if isinstance(answers, dict) else {},
    )


def _language(scope: Scope) -> str:
    """The reader's language, as every page chooses it (``?lang=``, cookie, zh-CN)."""
    return request_language(Request(scope))


def _refusal(scope: Scope, status: int, key: str) -> tuple[int, bytes]:
    with use_language(_language(scope)):
        return status, _dumps({"detail": t(key)})


def _invalid(scope: Scope, exc: InputError) -> tuple[int, bytes]:
    """422 with each problem and the question it is about."""
    problems = exc.problems or [Problem(exc.key, exc.params)]
    with use_language(_language(scope)):
        listed = [
            {"question": p.location.column, "message": t(p.key, **p.params)} for p in problems
        ]
        return 422, _dumps({"detail": exc.render(), "problems": listed})


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()
