"""Jinja2 templates with the translation catalogue: ``t()``, the language and the names.

Autoescaping is on for every template, so user text can never become markup.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cityloop._version import __version__
from cityloop.accounts import Action, Role, can
from cityloop.i18n import current_language, pick, t
from cityloop.web.auth import csrf_token


def permitted(role: Role, action: str) -> bool:
    """``can`` for templates, which name the action by its value."""
    return can(role, Action(action))


TEMPLATES = Jinja2Templates(
    directory=Path(str(resources.files("cityloop.web").joinpath("templates")))
)
TEMPLATES.env.globals.update(t=t, pick=pick, version=__version__, can=permitted)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render template ``name`` in the request's language, with the signed-in user (if the
    route's permission check found one) and the session's CSRF token for the header's forms."""
    lang = current_language()
    full = {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh-CN" else "en",
        "me": getattr(request.state, "principal", None),
        "csrf": csrf_token(request),
        **context,
    }
    return TEMPLATES.TemplateResponse(request, name, full, status_code=status)
