"""The web application: FastAPI routers, Jinja2 pages with HTMX and ECharts, the JSON API.

An adapter only: every route parses input, calls one service and renders the result.
"""

from cityloop.web.app import create_app

__all__ = ["create_app"]
