"""Which language a request is answered in, and the cookie that remembers a reader's choice.

``?lang=`` first, then the language cookie, then zh-CN (the default of every page and API).
"""

from __future__ import annotations

from fastapi import Request, Response

from cityloop.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalise_language

LANG_COOKIE = "cityloop_lang"


def language_cookie(lang: str) -> str:
    """The Set-Cookie value that remembers the chosen language for a year."""
    carrier = Response()
    carrier.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return carrier.headers["set-cookie"]


def request_language(request: Request) -> str:
    """``?lang=`` first, then the language cookie, then zh-CN; unknown values fall back."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate:
            try:
                lang = normalise_language(candidate)
            except ValueError:
                continue
            if lang in LANGUAGES:
                return lang
    return DEFAULT_LANGUAGE
