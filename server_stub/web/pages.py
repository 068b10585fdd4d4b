"""Our own class page at ``/`` and the teacher's files at ``/static/`` (``--static DIR``).

The class page lets a student with only a browser pick a name and chat in the class room
(see ``assets/``); it is plain HTML and a small script of ours that load the socket.io
client from this server, so it works offline from the internet once the client is cached.
Its answers carry a Content-Security-Policy that allows scripts, styles and connections
from this server only: the page puts every message in with ``textContent``, and the
policy is the second fence should that ever slip.

``--static DIR`` exists because a page that calls ``io()`` with no URL (the socket.io
tutorial's) connects to the origin it was loaded from, so it must come from this server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

from aiohttp import web

#: Our page's files: (URL path, file in assets/, content type).
PAGE_FILES = (("/", "index.html", "text/html"),
              ("/class.js", "class.js", "application/javascript"),
              ("/class.css", "class.css", "text/css"))
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
               "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")
STATIC_PREFIX = "/static/"


class StaticDirError(Exception):
    """``--static DIR`` cannot be served; one sentence."""


def asset(name: str) -> bytes:
    """One file of our page, from the installed package."""
    return resources.files("server_stub.web").joinpath("assets", name).read_bytes()


def _page_handler(body: bytes, content_type: str
                  ) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers={
            "Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY,
            "X-Content-Type-Options": "nosniff"})
    return handler


def add_page_routes(app: web.Application) -> None:
    """``/`` and its script and style, read once now (a missing asset fails at start)."""
    for path, name, content_type in PAGE_FILES:
        app.router.add_get(path, _page_handler(asset(name), content_type))


def add_static_routes(app: web.Application, folder: Path) -> None:
    """The files of ``folder`` at ``/static/<path>``: no listing, nothing outside it
    (aiohttp refuses ``..`` and symlinks leading out)."""
    if not folder.is_dir():
        raise StaticDirError(f"--static {folder}: not a folder")
    app.router.add_static(STATIC_PREFIX, folder.resolve(), show_index=False,
                          follow_symlinks=False)
