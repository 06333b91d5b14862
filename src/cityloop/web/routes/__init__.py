"""The routers of the web application, one module per area.

Each module exposes ``router``; ``cityloop.web.app.create_app`` includes them all.
"""
