"""What the server answers over plain HTTP, beside Socket.IO: the official browser client
(``client_bundle``, ``client_route``), our class page and the teacher's static files
(``pages``). :func:`mount` puts them all on the aiohttp application."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server_stub.web.client_bundle import ClientBundle
from server_stub.web.client_route import ClientRoute
from server_stub.web.pages import add_page_routes, add_static_routes


def mount(app: web.Application, bundle: ClientBundle, static_dir: Path | None = None) -> None:
    """Add the routes; call after python-socketio attached (``/socket.io/`` is its)."""
    app.router.add_get("/socket.io/{name}", ClientRoute(bundle).handle)
    add_page_routes(app)
    if static_dir is not None:
        add_static_routes(app, static_dir)
